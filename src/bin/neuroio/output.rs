//! Everything written to standard output, and progress on standard error.

use std::io::{self, IsTerminal, Write};

use neuroio::{Login, Space, Token, Whoami};
use time::format_description::well_known::Rfc3339;

use crate::args::Format;

/// The format to use: the one asked for, else a table for a person at a
/// terminal and JSON for a program reading a pipe or file.
pub fn resolve_format(asked: Option<Format>) -> Format {
    asked.unwrap_or_else(|| {
        if io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        }
    })
}

/// Why output could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// The reader closed standard output.
    Closed(io::Error),
    /// Any other failure.
    Failed(String),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Closed(e) => write!(f, "cannot write to standard output: {e}"),
            WriteError::Failed(message) => f.write_str(message),
        }
    }
}

/// Writes `text` to standard output at once and flushes it.
pub fn write_stdout(text: &[u8]) -> Result<(), WriteError> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(WriteError::Closed(e)),
        Err(e) => Err(WriteError::Failed(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

fn emit(line: &str) -> Result<(), WriteError> {
    write_stdout(format!("{line}\n").as_bytes())
}

/// A table's header and rows, for [`Printer::record`].
pub type Table<'a> = (&'a [&'a str], Vec<Vec<String>>);

pub struct Printer {
    pub format: Format,
    pub show_keys: bool,
}

impl Printer {
    /// A token just made: its key is shown, since the caller has no other
    /// way to learn it.
    pub fn new_token(&self, token: &Token) -> Result<(), WriteError> {
        let shown = Printer {
            format: self.format,
            show_keys: true,
        };
        shown.token(token)
    }

    /// The answer of a login: the user and the new token, key included.
    pub fn login(&self, login: &Login) -> Result<(), WriteError> {
        match self.format {
            Format::Json | Format::Jsonl => {
                // The token in the one shape every command prints.
                let mut value = serde_json::to_value(login).map_err(json_failed)?;
                if let Some(object) = value.as_object_mut() {
                    object.insert("token".to_owned(), token_value(&login.token, true)?);
                }
                emit(&to_json(&value)?)
            }
            Format::Table => {
                let (mut header, mut rows) =
                    self.token_table(std::slice::from_ref(&login.token), true);
                header.insert(0, "USER");
                for row in &mut rows {
                    row.insert(0, login.user.username.clone());
                }
                emit(&columns(&header, &rows))
            }
        }
    }

    /// Who the API token belongs to: every field the server sent.
    pub fn whoami(&self, me: &Whoami) -> Result<(), WriteError> {
        match self.format {
            Format::Json | Format::Jsonl => emit(&to_json(me)?),
            Format::Table => {
                let mut header = vec!["USER", "SPACE_ID", "SPACE_NAME"];
                let mut row = vec![
                    me.username().unwrap_or("-").to_owned(),
                    me.space()
                        .map_or_else(|| "-".to_owned(), |s| s.id.to_string()),
                    me.space()
                        .map_or_else(|| "-".to_owned(), |s| s.name.clone()),
                ];
                for (name, value) in &me.extra {
                    header.push(name);
                    row.push(match value {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    });
                }
                let header: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
                let header: Vec<&str> = header.iter().map(String::as_str).collect();
                emit(&columns(&header, &[row]))
            }
        }
    }

    pub fn token(&self, token: &Token) -> Result<(), WriteError> {
        match self.format {
            Format::Json | Format::Jsonl => emit(&self.json(token)?),
            Format::Table => emit(&self.table(std::slice::from_ref(token))),
        }
    }

    pub fn list(&self, tokens: &[Token]) -> Result<(), WriteError> {
        match self.format {
            Format::Json => {
                let values = tokens
                    .iter()
                    .map(|t| self.value(t))
                    .collect::<Result<Vec<_>, _>>()?;
                emit(&to_json(&values)?)
            }
            Format::Jsonl => tokens.iter().try_for_each(|t| emit(&self.json(t)?)),
            Format::Table => emit(&self.table(tokens)),
        }
    }

    /// One space: every field the server sent.
    pub fn space(&self, space: &Space) -> Result<(), WriteError> {
        match self.format {
            Format::Json | Format::Jsonl => emit(&to_json(space)?),
            Format::Table => emit(&space_table(std::slice::from_ref(space))),
        }
    }

    /// Spaces, every field the server sent; in a table, the id and the
    /// name, escaped.
    pub fn spaces(&self, spaces: &[Space]) -> Result<(), WriteError> {
        match self.format {
            Format::Json => emit(&to_json(spaces)?),
            Format::Jsonl => spaces.iter().try_for_each(|s| emit(&to_json(s)?)),
            Format::Table => emit(&space_table(spaces)),
        }
    }

    /// Whether tokens can be printed as they come, one page at a time.
    pub fn streams(&self) -> bool {
        self.format == Format::Jsonl
    }

    /// A token as JSON, without its key unless keys are to be shown.
    fn value(&self, token: &Token) -> Result<serde_json::Value, WriteError> {
        token_value(token, self.show_keys)
    }

    fn json(&self, token: &Token) -> Result<String, WriteError> {
        to_json(&self.value(token)?)
    }

    /// What a command did, in its one JSON shape (see [`Done`]).
    pub fn done(&self, done: &Done) -> Result<(), WriteError> {
        let summary = done.json();
        match self.format {
            Format::Json | Format::Jsonl => emit(&to_json(&summary)?),
            Format::Table => emit(&done.line()),
        }
    }

    /// A result that is not a token (a profile, an audit): `json` in a
    /// JSON format, else each table, a blank line between them.
    pub fn record(&self, json: &serde_json::Value, tables: &[Table]) -> Result<(), WriteError> {
        match self.format {
            Format::Json | Format::Jsonl => emit(&to_json(json)?),
            Format::Table => emit(
                &tables
                    .iter()
                    .map(|(header, rows)| columns(header, rows))
                    .collect::<Vec<_>>()
                    .join("\n\n"),
            ),
        }
    }

    /// Aligned columns, header first, without a final newline.
    fn table(&self, tokens: &[Token]) -> String {
        let (header, rows) = self.token_table(tokens, self.show_keys);
        columns(&header, &rows)
    }

    /// The header and rows of a table of tokens.
    fn token_table(&self, tokens: &[Token], keys: bool) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let mut header = vec!["ID", "ACTIVE", "KIND", "CREATED", "EXPIRES"];
        if keys {
            header.push("KEY");
        }
        let rows = tokens
            .iter()
            .map(|t| {
                let mut row = vec![
                    t.id.to_string(),
                    // An expired token authenticates nothing, whatever
                    // its flag says.
                    if t.is_expired() {
                        "expired".to_owned()
                    } else {
                        t.is_active.to_string()
                    },
                    kind(t).to_owned(),
                    rfc3339(t.created),
                    t.expires.map_or_else(|| "never".to_owned(), rfc3339),
                ];
                if keys {
                    row.push(t.key.secret().to_owned());
                }
                row
            })
            .collect();
        (header, rows)
    }
}

/// A table of spaces: the id and the name ([`columns`] escapes the name,
/// server text, so that it cannot drive the terminal).
fn space_table(spaces: &[Space]) -> String {
    let rows: Vec<Vec<String>> = spaces
        .iter()
        .map(|s| vec![s.id.to_string(), s.name.clone()])
        .collect();
    columns(&["ID", "NAME"], &rows)
}

/// `text` safe to show on a terminal: every control character (C0, DEL,
/// C1, so every escape sequence with its ESC or CSI) and every character
/// that reorders or hides text (bidirectional overrides, zero-width
/// characters) as a `\u{..}` escape. Idempotent: what it returns has
/// nothing left to escape. Text from a server goes through here before it
/// reaches a table or standard error.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_control() || hides_or_reorders(c) => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// Format characters that change how the text around them shows.
fn hides_or_reorders(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' // Arabic letter mark: reorders like the bidirectional marks
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{2029}' // line and paragraph separators: break a row
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Aligned columns, header first, without a final newline. Each cell is
/// made [`terminal_safe`] first.
fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| terminal_safe(cell)).collect())
        .collect();
    let rows = &rows;
    let header: Vec<String> = header.iter().map(|h| terminal_safe(h)).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i).map(|cell| cell.chars().count()))
                .chain(header.get(i).map(|h| h.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    std::iter::once(line(header.iter().map(String::as_str).collect()))
        .chain(
            rows.iter()
                .map(|row| line(row.iter().map(String::as_str).collect())),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a command that prints no object did. Each has one JSON shape:
///
/// - `{"deleted": {"collection": "tokens", "id": 5}}` (`id` is null for a
///   token named by its key, which is not printed; `collection` is
///   `spaces` for `spaces delete`);
/// - `{"deleted_all": {"collection": "tokens", "kind": "temporary"}}`
///   (`kind`: `temporary`, `permanent` or `all`);
/// - `{"password_changed": true, "tokens_reset": false}`.
pub enum Done<'a> {
    Deleted {
        collection: &'a str,
        id: Option<u64>,
    },
    DeletedAll {
        collection: &'a str,
        kind: &'a str,
    },
    PasswordChanged {
        tokens_reset: bool,
    },
}

impl Done<'_> {
    fn json(&self) -> serde_json::Value {
        match self {
            Done::Deleted { collection, id } => {
                serde_json::json!({"deleted": {"collection": collection, "id": id}})
            }
            Done::DeletedAll { collection, kind } => {
                serde_json::json!({"deleted_all": {"collection": collection, "kind": kind}})
            }
            Done::PasswordChanged { tokens_reset } => {
                serde_json::json!({"password_changed": true, "tokens_reset": tokens_reset})
            }
        }
    }

    /// The line a person reads.
    fn line(&self) -> String {
        match self {
            Done::Deleted {
                collection: "spaces",
                id: Some(id),
            } => format!("deleted space {id}"),
            Done::Deleted {
                collection,
                id: Some(id),
            } => format!("deleted {} {id}", item(collection)),
            Done::Deleted {
                collection,
                id: None,
            } => format!("deleted the {} with that key", item(collection)),
            Done::DeletedAll { collection, kind } => {
                format!("deleted {kind} {}s", item(collection))
            }
            Done::PasswordChanged { .. } => "password changed".to_owned(),
        }
    }
}

/// One item of a collection, for a person: "token" for `tokens`,
/// "stream token" for `stream-tokens`.
fn item(collection: &str) -> &'static str {
    match collection {
        "stream-tokens" => "stream token",
        _ => "token",
    }
}

/// A token in the one JSON shape every command prints: the API's fields
/// (the key only when `key`), and `kind` (`temporary` or `permanent`) and
/// `expired` (whether it has expired by this machine's clock).
pub fn token_value(token: &Token, key: bool) -> Result<serde_json::Value, WriteError> {
    let mut value = serde_json::to_value(token).map_err(json_failed)?;
    if let Some(object) = value.as_object_mut() {
        if !key {
            object.remove("key");
        }
        object.insert("kind".to_owned(), kind(token).into());
        object.insert("expired".to_owned(), token.is_expired().into());
    }
    Ok(value)
}

/// A token's kind, as the JSON and the tables name it.
pub fn kind(token: &Token) -> &'static str {
    if token.is_permanent() {
        "permanent"
    } else {
        "temporary"
    }
}

fn json_failed(e: serde_json::Error) -> WriteError {
    WriteError::Failed(format!("cannot write the answer as JSON: {e}"))
}

/// `value` as JSON, with DEL and the C1 controls escaped as well (serde_json
/// escapes only C0): a terminal acts on them too. They can only be inside
/// strings, so the escaped text is the same JSON.
fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, WriteError> {
    let json = serde_json::to_string(value).map_err(json_failed)?;
    Ok(json_escape_controls(&json))
}

fn json_escape_controls(json: &str) -> String {
    if !json.chars().any(|c| c.is_control()) {
        return json.to_owned();
    }
    json.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// Progress lines on standard error for a person watching a long command;
/// nothing when standard error is not a terminal, so scripts and logs see
/// only what they asked for. No colour, so nothing for NO_COLOR to turn off.
pub struct Progress {
    enabled: bool,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            enabled: io::stderr().is_terminal(),
        }
    }

    pub fn line(&self, text: &str) {
        if self.enabled {
            let _ = writeln!(io::stderr(), "{text}");
        }
    }

    /// Shows `text` in place of what [`update`](Self::update) showed last:
    /// one line that changes as the work goes on.
    pub fn update(&self, text: &str) {
        if self.enabled {
            let mut stderr = io::stderr().lock();
            let _ = write!(stderr, "\r{text}{CLEAR_TO_END}");
            let _ = stderr.flush();
        }
    }

    /// Takes the line of [`update`](Self::update) away again.
    pub fn finish(&self) {
        if self.enabled {
            let _ = write!(io::stderr(), "\r{CLEAR_TO_END}");
        }
    }
}

/// Erases from the cursor to the end of the line (ECMA-48 EL).
const CLEAR_TO_END: &str = "\x1b[K";

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn every_control_and_every_reordering_or_invisible_character_is_escaped() {
        let text =
            "a\u{1b}[2J\u{7}\u{7f}\u{9b}\u{61c}\u{200b}\u{2028}\u{2029}\u{202e}\u{2066}\u{feff}z";
        assert_eq!(
            terminal_safe(text),
            "a\\u{1b}[2J\\u{7}\\u{7f}\\u{9b}\\u{61c}\\u{200b}\\u{2028}\\u{2029}\\u{202e}\\u{2066}\\u{feff}z"
        );
        // Idempotent: nothing is left to escape.
        assert_eq!(terminal_safe(&terminal_safe(text)), terminal_safe(text));
        assert_eq!(terminal_safe("zoë, 東京"), "zoë, 東京");
    }
}

//! Everything written to standard output, and progress on standard error.

use std::io::{self, IsTerminal, Write};

use neuroio::Token;
use time::format_description::well_known::Rfc3339;

use crate::options::Format;

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

/// How one kind of object prints: as a JSON object, and as a row of a
/// table. A command family implements it for its own objects; the printer
/// does the rest (one object, a list, JSON Lines, the columns).
pub trait Render {
    /// The table's column names.
    fn header(view: &View) -> Vec<&'static str>;
    /// One row, in the order of [`header`](Self::header). The printer
    /// escapes every cell.
    fn row(&self, view: &View) -> Vec<String>;
    /// The object as JSON.
    fn json(&self, view: &View) -> Result<serde_json::Value, WriteError>;
}

/// What a printed object may show besides its fields.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// Whether token keys are shown.
    pub keys: bool,
    /// Whether a person reads it on a terminal: times then say how far
    /// away they are too.
    pub terminal: bool,
    /// The time "how far away" is counted from.
    pub now: time::OffsetDateTime,
}

pub struct Printer {
    pub format: Format,
    pub show_keys: bool,
}

impl Printer {
    fn view(&self, keys: bool) -> View {
        View {
            keys,
            terminal: self.format == Format::Table && io::stdout().is_terminal(),
            now: time::OffsetDateTime::now_utc(),
        }
    }

    /// A token just made: its key is shown, since the caller has no other
    /// way to learn it.
    pub fn new_token(&self, token: &Token) -> Result<(), WriteError> {
        self.print_one(token, &self.view(true))
    }

    /// One object.
    pub fn one<T: Render>(&self, item: &T) -> Result<(), WriteError> {
        self.print_one(item, &self.view(self.show_keys))
    }

    fn print_one<T: Render>(&self, item: &T, view: &View) -> Result<(), WriteError> {
        match self.format {
            Format::Json | Format::Jsonl => emit(&to_json(&item.json(view)?)?),
            Format::Table => emit(&Self::table(std::slice::from_ref(item), view)),
        }
    }

    /// A list of objects: a JSON array, one JSON object per line, or a
    /// table.
    pub fn list<T: Render>(&self, items: &[T]) -> Result<(), WriteError> {
        let view = self.view(self.show_keys);
        match self.format {
            Format::Json => {
                let values = items
                    .iter()
                    .map(|item| item.json(&view))
                    .collect::<Result<Vec<_>, _>>()?;
                emit(&to_json(&values)?)
            }
            Format::Jsonl => items
                .iter()
                .try_for_each(|item| emit(&to_json(&item.json(&view)?)?)),
            Format::Table => emit(&Self::table(items, &view)),
        }
    }

    fn table<T: Render>(items: &[T], view: &View) -> String {
        let rows: Vec<Vec<String>> = items.iter().map(|item| item.row(view)).collect();
        columns(&T::header(view), &rows)
    }

    /// Whether lists can be printed as they come, one page at a time.
    pub fn streams(&self) -> bool {
        self.format == Format::Jsonl
    }

    /// What a command that prints no object did: `json` in a JSON format
    /// (each command keeps one shape), else `line`, for a person.
    pub fn done(&self, json: &serde_json::Value, line: &str) -> Result<(), WriteError> {
        match self.format {
            Format::Json | Format::Jsonl => emit(&to_json(json)?),
            Format::Table => emit(line),
        }
    }

    /// A result that is not a list of one kind (a profile, an audit):
    /// `json` in a JSON format, else each table, a blank line between them.
    pub fn record(&self, json: &serde_json::Value, tables: &[Table]) -> Result<(), WriteError> {
        match (self.format, json) {
            // A list (`auth list`): one object per line, as every list.
            (Format::Jsonl, serde_json::Value::Array(items)) => {
                items.iter().try_for_each(|item| emit(&to_json(item)?))
            }
            (Format::Json | Format::Jsonl, _) => emit(&to_json(json)?),
            (Format::Table, _) => emit(
                &tables
                    .iter()
                    .map(|(header, rows)| columns(header, rows))
                    .collect::<Vec<_>>()
                    .join("\n\n"),
            ),
        }
    }
}

/// A token: the one shape every command prints it in.
impl Render for Token {
    fn header(view: &View) -> Vec<&'static str> {
        let mut header = vec!["ID", "ACTIVE", "KIND", "CREATED", "EXPIRES"];
        if view.keys {
            header.push("KEY");
        }
        header
    }

    fn row(&self, view: &View) -> Vec<String> {
        let mut row = vec![
            self.id.to_string(),
            // An expired token authenticates nothing, whatever its flag
            // says.
            if self.is_expired() {
                "expired".to_owned()
            } else {
                self.is_active.to_string()
            },
            kind(self).to_owned(),
            rfc3339(self.created),
            self.expires.map_or_else(
                || "never".to_owned(),
                |expires| {
                    if view.terminal {
                        format!("{} ({})", rfc3339(expires), from_now(expires, view.now))
                    } else {
                        rfc3339(expires)
                    }
                },
            ),
        ];
        if view.keys {
            row.push(self.key.secret().to_owned());
        }
        row
    }

    fn json(&self, view: &View) -> Result<serde_json::Value, WriteError> {
        token_value(self, view.keys)
    }
}

/// How far `at` is from `now`, for a person: "in 23h", "in 5m", "in 40s",
/// "2h ago" (the largest whole unit).
pub fn from_now(at: time::OffsetDateTime, now: time::OffsetDateTime) -> String {
    let seconds = (at - now).whole_seconds();
    let span = seconds.unsigned_abs();
    let amount = match span {
        0..60 => format!("{span}s"),
        60..3_600 => format!("{}m", span / 60),
        3_600..172_800 => format!("{}h", span / 3_600),
        _ => format!("{}d", span / 86_400),
    };
    if seconds >= 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
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

/// Characters that change how the text around them shows, or show as
/// nothing, so that two different texts would look the same: format
/// characters (bidirectional controls, zero-width characters, the soft
/// hyphen, tag characters), fillers that render blank, and combining marks
/// drawn over the character before them.
fn hides_or_reorders(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}' // soft hyphen: shows only at a line break
            | '\u{034f}' // combining grapheme joiner
            | '\u{0334}'..='\u{0338}' // combining overlays: tilde, strokes, solidus
            | '\u{061c}' // Arabic letter mark: reorders like the bidirectional marks
            | '\u{115f}'..='\u{1160}' // Hangul fillers
            | '\u{17b4}'..='\u{17b5}' // Khmer vowels that show as nothing
            | '\u{180e}' // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}'
            | '\u{20d2}'..='\u{20d3}' // combining long vertical line overlays
            | '\u{20d8}'..='\u{20da}' // combining ring overlays
            | '\u{20e5}'..='\u{20e6}' // combining reverse solidus, double stroke overlays
            | '\u{20ea}'..='\u{20eb}' // combining leftward arrow, long double solidus overlays
            | '\u{2028}'..='\u{2029}' // line and paragraph separators: break a row
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}' // Hangul filler
            | '\u{feff}'
            | '\u{ffa0}' // halfwidth Hangul filler
            | '\u{fff9}'..='\u{fffb}' // interlinear annotation
            | '\u{1d173}'..='\u{1d17a}' // musical formatting
            | '\u{e0000}'..='\u{e007f}' // tag characters
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

pub fn json_failed(e: serde_json::Error) -> WriteError {
    WriteError::Failed(format!("cannot write the answer as JSON: {e}"))
}

/// `value` as JSON, with DEL and the C1 controls escaped as well (serde_json
/// escapes only C0): a terminal acts on them too. They can only be inside
/// strings, so the escaped text is the same JSON.
/// `value` as a JSON value, for [`Render::json`].
pub fn json_value<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<serde_json::Value, WriteError> {
    serde_json::to_value(value).map_err(json_failed)
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, WriteError> {
    let json = serde_json::to_string(value).map_err(json_failed)?;
    Ok(json_escape_controls(&json))
}

fn json_escape_controls(json: &str) -> String {
    let escaped = |c: char| c.is_control() || hides_or_reorders(c);
    if !json.chars().any(escaped) {
        return json.to_owned();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escaped(c) {
            // JSON escapes UTF-16 units: a character past U+FFFF is two.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A time for a person or a program, in UTC to the second:
/// `2026-12-08T10:03:31Z`. (JSON keeps the API's own text, microseconds
/// and offset included.)
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    let second = at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at);
    second.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
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

/// Logs each request the library sends on standard error (`--verbose`, or
/// `NEUROIO_LOG=debug`): the library's own lines only, which name the
/// method, the route, the status, the time taken and any retry, and never a
/// key. Each line is made [`terminal_safe`].
pub fn log_requests(verbose: bool) {
    let asked = verbose
        || std::env::var("NEUROIO_LOG").is_ok_and(|level| level.eq_ignore_ascii_case("debug"));
    if asked && log::set_logger(&StderrLog).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

/// The logger of [`log_requests`].
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        // Not the transport's crates: they may print headers.
        metadata.target().starts_with("neuroio")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = terminal_safe(&record.args().to_string());
            let _ = writeln!(io::stderr(), "debug: {line}");
        }
    }

    fn flush(&self) {}
}

/// Erases from the cursor to the end of the line (ECMA-48 EL).
const CLEAR_TO_END: &str = "\x1b[K";

#[cfg(test)]
mod tests {
    use super::{json_escape_controls, terminal_safe};

    #[test]
    fn json_escapes_controls_and_reordering_characters_as_utf16_units() {
        let json = serde_json::to_string("a\u{202e}b\u{9b}c\u{e0041}d\u{ad}").unwrap();
        let escaped = json_escape_controls(&json);
        assert_eq!(escaped, "\"a\\u202eb\\u009bc\\udb40\\udc41d\\u00ad\"");
        // The same text once parsed.
        let back: String = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, "a\u{202e}b\u{9b}c\u{e0041}d\u{ad}");
        assert_eq!(json_escape_controls("\"plain\""), "\"plain\"");
    }

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
        // Invisible or confusable: soft hyphen, Hangul filler, a tag
        // character, a combining overlay.
        assert_eq!(
            terminal_safe("pay\u{ad}pal\u{3164}x\u{e0041}o\u{338}"),
            "pay\\u{ad}pal\\u{3164}x\\u{e0041}o\\u{338}"
        );
        assert_eq!(terminal_safe("zoë, 東京"), "zoë, 東京");
    }
}

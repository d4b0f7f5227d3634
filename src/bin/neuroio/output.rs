//! Everything written to standard output, and progress on standard error.

use std::io::{self, IsTerminal, Write};

use neuroio::Token;
use time::format_description::well_known::Rfc3339;

use crate::args::Format;
use crate::failure::Failure;

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

impl From<WriteError> for Failure {
    /// For output that can be asked for again: a closed pipe ends quietly.
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Closed(_) => Failure::stdout_closed(),
            WriteError::Failed(message) => Failure::failed(message),
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

    /// Whether tokens can be printed as they come, one page at a time.
    pub fn streams(&self) -> bool {
        self.format == Format::Jsonl
    }

    /// A token as JSON, without its key unless keys are to be shown.
    fn value(&self, token: &Token) -> Result<serde_json::Value, WriteError> {
        let mut value = serde_json::to_value(token).map_err(json_failed)?;
        if !self.show_keys
            && let Some(object) = value.as_object_mut()
        {
            object.remove("key");
        }
        Ok(value)
    }

    fn json(&self, token: &Token) -> Result<String, WriteError> {
        to_json(&self.value(token)?)
    }

    pub fn done(&self, summary: serde_json::Value) -> Result<(), WriteError> {
        match self.format {
            Format::Json | Format::Jsonl => emit(&summary.to_string()),
            Format::Table => emit(&summary_line(&summary)),
        }
    }

    /// Aligned columns, header first, without a final newline.
    fn table(&self, tokens: &[Token]) -> String {
        let mut header = vec!["ID", "ACTIVE", "KIND", "CREATED", "EXPIRES"];
        if self.show_keys {
            header.push("KEY");
        }
        let rows: Vec<Vec<String>> = tokens
            .iter()
            .map(|t| {
                let mut row = vec![
                    t.id.to_string(),
                    t.is_active.to_string(),
                    if t.is_permanent() {
                        "permanent"
                    } else {
                        "temporary"
                    }
                    .to_owned(),
                    rfc3339(t.created),
                    t.expires.map_or_else(|| "never".to_owned(), rfc3339),
                ];
                if self.show_keys {
                    row.push(t.key.secret().to_owned());
                }
                row
            })
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                rows.iter()
                    .filter_map(|r| r.get(i).map(|cell| cell.chars().count()))
                    .chain(header.get(i).map(|h| h.len()))
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
        std::iter::once(line(header.clone()))
            .chain(
                rows.iter()
                    .map(|row| line(row.iter().map(String::as_str).collect())),
            )
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn summary_line(summary: &serde_json::Value) -> String {
    match summary.get("deleted") {
        Some(serde_json::Value::String(scope)) => format!("deleted {scope} tokens"),
        _ => "deleted".to_owned(),
    }
}

fn json_failed(e: serde_json::Error) -> WriteError {
    WriteError::Failed(format!("cannot write the answer as JSON: {e}"))
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, WriteError> {
    serde_json::to_string(value).map_err(json_failed)
}

fn rfc3339(at: time::OffsetDateTime) -> String {
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
}

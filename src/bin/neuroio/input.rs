//! What the CLI reads besides its arguments: the API token, token keys and
//! passwords, from the environment, files, standard input or a prompt.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::Path;

use neuroio::{Password, TokenRef};

use crate::failure::Failure;
use crate::options::TokenArg;

/// More than any token, key or password: a larger input is a mistake
/// (`--token-file /dev/zero`), refused before it fills the memory.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Whether the API token is to be read from standard input.
pub fn token_from_stdin(token_file: Option<&Path>) -> bool {
    token_file.is_some_and(is_stdin)
}

/// The API token: from `file` (`-`: the first line of standard input, or
/// asked for without echo when that is a terminal), else from
/// `NEUROIO_API_TOKEN`; surrounding whitespace is ignored.
pub fn read_token(file: Option<&Path>) -> Result<String, Failure> {
    let raw = match file {
        // A person at a terminal is asked, and the token is not echoed.
        Some(path) if is_stdin(path) && io::stdin().is_terminal() => prompt("API token: ")?,
        Some(path) if is_stdin(path) => stdin_line()?,
        Some(path) => {
            let what = format!("the token file {}", path.display());
            let file = std::fs::File::open(path)
                .map_err(|e| Failure::usage(format!("cannot read {what}: {e}")))?;
            warn_if_shared(path, &file);
            key_of_file(read_capped(file, &what, "API token")?, &what)?
        }
        None => match std::env::var("NEUROIO_API_TOKEN") {
            Ok(token) => token,
            Err(_) => {
                return Err(Failure::usage(
                    "no API token: set NEUROIO_API_TOKEN or pass --token-file PATH (- for stdin)",
                ));
            }
        },
    };
    let token = raw.trim().to_owned();
    if token.is_empty() {
        return Err(Failure::usage("the API token is empty"));
    }
    Ok(token)
}

/// The key in a token file's text: the text itself, or the `key` of the
/// token agent's JSON (`{"id", "key", "expires"}`) when it starts with `{`.
/// No error quotes the text: it may be a key.
fn key_of_file(text: String, what: &str) -> Result<String, Failure> {
    if !text.trim_start().starts_with('{') {
        return Ok(text);
    }
    #[derive(serde::Deserialize)]
    struct AgentFile {
        key: String,
    }
    serde_json::from_str::<AgentFile>(&text)
        .map(|file| file.key)
        .map_err(|e| {
            Failure::usage(format!(
                "{what} starts with {{ but is not the token agent's JSON with a \"key\" \
                 string (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
}

/// Warns when a token file that was opened can be read or changed by the
/// group or others: the key in it is theirs too. (The credentials file is
/// refused outright; a token file is the user's own choice, so it is only
/// pointed out, with the command that fixes it.)
fn warn_if_shared(path: &Path, file: &std::fs::File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(metadata) = file.metadata() else {
            return;
        };
        let mode = metadata.permissions().mode();
        if metadata.is_file() && mode & 0o077 != 0 {
            let shown = crate::output::terminal_safe(&path.display().to_string());
            let _ = writeln!(
                io::stderr(),
                "warning: the token file {shown} can be read by others (mode {:o}); \
                 make it private with: chmod 600 {shown}",
                mode & 0o777
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
}

impl TokenArg {
    /// Whether the id or key is to be read from standard input.
    pub fn reads_stdin(&self) -> bool {
        self.id_or_key.as_deref() == Some("-") || self.key_file.as_deref().is_some_and(is_stdin)
    }

    /// The token named on the command line, in a file or on standard
    /// input, and its id when it was named by one.
    pub fn read(&self) -> Result<(TokenRef, Option<u64>), Failure> {
        let text = match (&self.id_or_key, &self.key_file) {
            (Some(arg), None) if arg != "-" => return Ok((token_ref(arg), arg.parse().ok())),
            (_, Some(path)) if !is_stdin(path) => {
                let file = std::fs::File::open(path).map_err(|e| {
                    Failure::usage(format!("cannot read the key file {}: {e}", path.display()))
                })?;
                read_secret(file, &format!("the key file {}", path.display()), "key")?
            }
            // A person at a terminal is asked, and the key is not echoed.
            _ if io::stdin().is_terminal() => prompt("Token id or key: ")?,
            _ => read_secret(io::stdin().lock(), "standard input", "key")?,
        };
        Ok((token_ref(&text), text.parse().ok()))
    }
}

/// The first line of standard input, without its newline, and not a byte
/// more: the rest belongs to whoever reads standard input next (the
/// command `neuroio exec` runs). Read a byte at a time from the descriptor
/// itself, since `Stdin`'s buffer would take up to 8 KiB beyond the line.
#[cfg(unix)]
fn stdin_line() -> Result<String, Failure> {
    use std::os::fd::AsFd;

    const WHAT: &str = "standard input";
    let failed =
        |e: io::Error| Failure::usage(format!("cannot read the API token from {WHAT}: {e}"));
    let mut stdin = std::fs::File::from(io::stdin().as_fd().try_clone_to_owned().map_err(failed)?);
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stdin.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(e)),
        }
        if line.len() as u64 > MAX_SECRET_BYTES {
            return Err(too_long(WHAT, "API token"));
        }
    }
    String::from_utf8(line).map_err(|_| not_text(WHAT, "API token"))
}

#[cfg(not(unix))]
fn stdin_line() -> Result<String, Failure> {
    let mut line = String::new();
    io::stdin()
        .lock()
        .take(MAX_SECRET_BYTES + 1)
        .read_line(&mut line)
        .map_err(|e| {
            Failure::usage(format!(
                "cannot read the API token from standard input: {e}"
            ))
        })?;
    if line.len() as u64 > MAX_SECRET_BYTES {
        return Err(too_long("standard input", "API token"));
    }
    Ok(line)
}

fn too_long(what: &str, noun: &str) -> Failure {
    Failure::usage(format!(
        "{what} holds more than {MAX_SECRET_BYTES} bytes, too many for the {noun}; check that it is the right file"
    ))
}

fn not_text(what: &str, noun: &str) -> Failure {
    Failure::usage(format!("the {noun} from {what} is not UTF-8 text"))
}

/// All of `from`, at most [`MAX_SECRET_BYTES`]. `noun` names the secret in
/// messages: "key", "password".
fn read_capped(from: impl Read, what: &str, noun: &str) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    from.take(MAX_SECRET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format!("cannot read the {noun} from {what}: {e}")))?;
    if bytes.len() as u64 > MAX_SECRET_BYTES {
        return Err(too_long(what, noun));
    }
    String::from_utf8(bytes).map_err(|_| not_text(what, noun))
}

/// All of `from`, less one trailing newline.
fn read_secret(from: impl Read, what: &str, noun: &str) -> Result<String, Failure> {
    let mut text = read_capped(from, what, noun)?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// A number is an id; anything else is a key. A negative number is an id
/// too, which the library refuses before sending anything.
pub fn token_ref(id_or_key: &str) -> TokenRef {
    if let Ok(id) = id_or_key.parse::<u64>() {
        TokenRef::from(id)
    } else if let Ok(id) = id_or_key.parse::<i64>() {
        TokenRef::from(id)
    } else {
        TokenRef::from(id_or_key)
    }
}

/// Where a password comes from: its file option, and what to ask on a
/// terminal when that is not given.
pub struct PasswordSource<'a> {
    pub file: Option<&'a Path>,
    /// The option, for messages: "--password-file".
    pub option: &'a str,
    /// What the password is, for messages: "the password".
    pub name: &'a str,
    pub prompt: &'a str,
}

impl PasswordSource<'_> {
    /// Whether the password is asked for: it comes from standard input
    /// (no file, or `-`) and that is a terminal, where it must not echo.
    fn asks(&self) -> bool {
        self.file.is_none_or(is_stdin) && io::stdin().is_terminal()
    }

    /// The password from its file or standard input, asked for without
    /// echo when standard input is a terminal (without a file, or with
    /// `-`).
    pub fn read(&self) -> Result<Password, Failure> {
        let (name, option) = (self.name, self.option);
        let text = match self.file {
            _ if self.asks() => prompt(self.prompt)?,
            Some(path) if is_stdin(path) => {
                read_secret(io::stdin().lock(), "standard input", "password")?
            }
            Some(path) => {
                let file = std::fs::File::open(path).map_err(|e| {
                    Failure::usage(format!(
                        "cannot read the password file {}: {e}",
                        path.display()
                    ))
                })?;
                read_secret(
                    file,
                    &format!("the password file {}", path.display()),
                    "password",
                )?
            }
            None => {
                return Err(Failure::usage(format!(
                    "{name} is missing: pass {option} PATH (- for standard input), or run on a terminal to be asked"
                )));
            }
        };
        if text.is_empty() {
            return Err(Failure::usage(format!("{name} is empty")));
        }
        Ok(Password::new(text))
    }

    /// The new password, asked twice on a terminal.
    pub fn read_confirmed(&self, again: &str) -> Result<Password, Failure> {
        let first = self.read()?;
        if self.asks() {
            let second = prompt(again)?;
            if second != first.secret() {
                return Err(Failure::usage(format!(
                    "{} and its repetition differ; nothing was changed",
                    self.name
                )));
            }
        }
        Ok(first)
    }
}

/// A line typed at the terminal without echo.
fn prompt(text: &str) -> Result<String, Failure> {
    rpassword::prompt_password(text)
        .map_err(|e| Failure::usage(format!("cannot read from the terminal: {e}")))
}

/// Asks a person at a terminal to type `word` back to go ahead; false on
/// anything else. `None` when standard input is not a terminal: nobody to
/// ask.
fn confirm(question: &str, word: &str) -> Result<Option<bool>, Failure> {
    if !io::stdin().is_terminal() {
        return Ok(None);
    }
    let mut stderr = io::stderr().lock();
    let _ = write!(stderr, "{question}\nType {word} to go ahead: ");
    let _ = stderr.flush();
    let mut line = String::new();
    io::stdin()
        .lock()
        .take(MAX_SECRET_BYTES)
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("cannot read the answer from the terminal: {e}")))?;
    Ok(Some(line.trim() == word))
}

/// Goes ahead when `yes` (`--yes` was given), or when a person at a
/// terminal types `word` back after `question`. Otherwise refuses (exit 2)
/// and deletes nothing: `refused` says what was refused without --yes, as
/// in "refusing to delete space 5 without --yes".
pub fn confirmed(yes: bool, question: &str, word: &str, refused: &str) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    match confirm(question, word)? {
        Some(true) => Ok(()),
        Some(false) => Err(Failure::usage(format!(
            "the answer was not {word}; nothing was deleted"
        ))),
        None => Err(Failure::usage(refused)),
    }
}

/// Refuses two readers of standard input: `readers` pairs each option
/// with whether it reads standard input.
pub fn one_stdin_reader(readers: &[(&str, bool)]) -> Result<(), Failure> {
    let on_stdin: Vec<&str> = readers
        .iter()
        .filter(|(_, reads)| *reads)
        .map(|(option, _)| *option)
        .collect();
    if on_stdin.len() > 1 {
        return Err(Failure::usage(format!(
            "standard input can hold only one of {}",
            on_stdin.join(" and ")
        )));
    }
    Ok(())
}

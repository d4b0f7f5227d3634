//! Profiles: API tokens kept on disk in `credentials.toml`, one table per
//! profile, as `neuroio login` stores them. This module reads the file; the
//! CLI writes it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use crate::error::{MAX_CREDENTIALS_BYTES, ProfileError};
use crate::secret::TokenKey;

/// The name of the credentials file inside the configuration folder.
pub const CREDENTIALS_FILE: &str = "credentials.toml";

/// The profile used when neither `--profile` nor `NEUROIO_PROFILE` names one.
pub const DEFAULT_PROFILE: &str = "default";

/// The longest profile name.
const MAX_PROFILE_NAME: usize = 64;

/// The key of the credentials file that names the current profile (the
/// one `neuroio auth switch` chose), beside the profiles' tables. No
/// profile may have this name.
pub const CURRENT_KEY: &str = "current";

/// One profile of the credentials file: an API token and where it belongs.
///
/// Every field is optional: a profile that was logged out keeps its user
/// and URLs but no token. The `token` is a [`TokenKey`], redacted in
/// `Debug`.
///
/// ```
/// let mut profile = neuroio::Profile::default();
/// profile.token = Some("abcd".into());
/// profile.username = Some("ada".to_owned());
/// assert!(!format!("{profile:?}").contains("abcd"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// The API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenKey>,
    /// The token's id, to delete it without sending its key in a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<u64>,
    /// When the token expires; `None` for a permanent token or when unknown.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires: Option<OffsetDateTime>,
    /// The IAM base URL the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_url: Option<String>,
    /// The API base URL (stream tokens) the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The user who logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The token was brought by the user (`neuroio login --token-file`),
    /// not made for this profile: logging out, or in again, forgets it
    /// here and leaves it on the server, where something else may use it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
}

/// Every profile of a credentials file, read and checked.
///
/// The file is `credentials.toml` in `$NEUROIO_CONFIG_DIR`, else in
/// `$XDG_CONFIG_HOME/neuroio`, else in `~/.config/neuroio`
/// ([`Profiles::default_path`]). One table per profile:
///
/// ```toml
/// [default]
/// token = "…"
/// token_id = 12
/// expires = "2026-05-29T10:37:51Z"
/// iam_url = "https://iam.neuroio.com"
/// api_url = "https://api.neuroio.com"
/// username = "ada"
/// ```
///
/// On Unix a file that group or others may read or change is refused
/// ([`ProfileError::Unprotected`]); reading never changes the file.
///
/// ```no_run
/// let profiles = neuroio::Profiles::load(&neuroio::Profiles::default_path()?)?;
/// for (name, profile) in profiles.iter() {
///     println!("{name}: {:?}", profile.username);
/// }
/// # Ok::<(), neuroio::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profiles {
    path: PathBuf,
    current: Option<String>,
    profiles: BTreeMap<String, Profile>,
}

impl Profiles {
    /// An empty set of profiles, to be written to `path`.
    ///
    /// ```
    /// let profiles = neuroio::Profiles::empty("/tmp/credentials.toml");
    /// assert_eq!(profiles.iter().count(), 0);
    /// ```
    pub fn empty(path: impl Into<PathBuf>) -> Profiles {
        Profiles {
            path: path.into(),
            current: None,
            profiles: BTreeMap::new(),
        }
    }

    /// Where the credentials file is: `credentials.toml` in
    /// `$NEUROIO_CONFIG_DIR`, else `$XDG_CONFIG_HOME/neuroio`, else
    /// `$HOME/.config/neuroio`. An empty variable counts as unset.
    ///
    /// ```no_run
    /// let path = neuroio::Profiles::default_path()?;
    /// assert!(path.ends_with("credentials.toml"));
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn default_path() -> Result<PathBuf, ProfileError> {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let dir = if let Some(dir) = var("NEUROIO_CONFIG_DIR") {
            PathBuf::from(dir)
        } else if let Some(dir) = var("XDG_CONFIG_HOME") {
            PathBuf::from(dir).join("neuroio")
        } else if let Some(home) = var("HOME").or_else(|| var("USERPROFILE")) {
            PathBuf::from(home).join(".config").join("neuroio")
        } else {
            return Err(ProfileError::NoConfigDir);
        };
        Ok(dir.join(CREDENTIALS_FILE))
    }

    /// The profile to use when none is named: `NEUROIO_PROFILE` when set
    /// and not empty, else `default`. The name is checked. This does not
    /// read the file: [`Profiles::chosen`] also takes the file's current
    /// profile into account.
    ///
    /// ```
    /// assert_eq!(neuroio::Profiles::selected(Some("staging"))?, "staging");
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn selected(name: Option<&str>) -> Result<String, ProfileError> {
        let name = match name {
            Some(name) => name.to_owned(),
            None => match std::env::var("NEUROIO_PROFILE") {
                Ok(name) if !name.is_empty() => name,
                Ok(_) | Err(std::env::VarError::NotPresent) => DEFAULT_PROFILE.to_owned(),
                Err(std::env::VarError::NotUnicode(raw)) => {
                    return Err(ProfileError::InvalidName {
                        name: raw.to_string_lossy().into_owned(),
                    });
                }
            },
        };
        Profiles::check_name(&name)?;
        Ok(name)
    }

    /// The profile to use: `name` when given, else `NEUROIO_PROFILE` when
    /// set and not empty, else the file's current profile
    /// ([`Profiles::current`]), else `default`. The name is checked.
    ///
    /// ```
    /// let mut profiles = neuroio::Profiles::empty("/tmp/c.toml");
    /// profiles.set_current(Some("staging"))?;
    /// assert_eq!(profiles.chosen(Some("prod"))?, "prod");
    /// # Ok::<(), neuroio::ProfileError>(())
    /// ```
    pub fn chosen(&self, name: Option<&str>) -> Result<String, ProfileError> {
        let from_env = std::env::var_os("NEUROIO_PROFILE").is_some_and(|name| !name.is_empty());
        match (&self.current, name) {
            (Some(current), None) if !from_env => {
                Profiles::check_name(current)?;
                Ok(current.clone())
            }
            _ => Profiles::selected(name),
        }
    }

    /// The current profile the file names (`current = "NAME"`), which
    /// `neuroio auth switch` sets: used when neither `--profile` nor
    /// `NEUROIO_PROFILE` names one.
    ///
    /// ```
    /// assert_eq!(neuroio::Profiles::empty("/tmp/c.toml").current(), None);
    /// ```
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// Names the current profile (checked), or none. Nothing is written:
    /// that is the caller's part.
    ///
    /// ```
    /// let mut profiles = neuroio::Profiles::empty("/tmp/c.toml");
    /// profiles.set_current(Some("staging"))?;
    /// assert_eq!(profiles.current(), Some("staging"));
    /// # Ok::<(), neuroio::ProfileError>(())
    /// ```
    pub fn set_current(&mut self, name: Option<&str>) -> Result<(), ProfileError> {
        if let Some(name) = name {
            Profiles::check_name(name)?;
        }
        self.current = name.map(str::to_owned);
        Ok(())
    }

    /// Checks a profile name: 1 to 64 of `A-Z`, `a-z`, `0-9`, `-`, `_`,
    /// and not `current` (the file's key for the current profile).
    ///
    /// ```
    /// assert!(neuroio::Profiles::check_name("staging-2").is_ok());
    /// assert!(neuroio::Profiles::check_name("../etc").is_err());
    /// assert!(neuroio::Profiles::check_name("").is_err());
    /// ```
    pub fn check_name(name: &str) -> Result<(), ProfileError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if name.is_empty()
            || name.len() > MAX_PROFILE_NAME
            || !name.chars().all(allowed)
            || name == CURRENT_KEY
        {
            return Err(ProfileError::InvalidName {
                name: name.chars().take(MAX_PROFILE_NAME + 1).collect(),
            });
        }
        Ok(())
    }

    /// Reads and checks the credentials file at `path`: that it is a
    /// regular file (a symbolic link to one is fine), its size, its
    /// permissions (on Unix) and its TOML. A missing file is
    /// [`ProfileError::MissingFile`]; a directory, named pipe, socket or
    /// device is [`ProfileError::NotAFile`], refused before it is opened.
    ///
    /// ```no_run
    /// let profiles = neuroio::Profiles::load("/home/ada/.config/neuroio/credentials.toml")?;
    /// let _ = profiles;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Profiles, ProfileError> {
        let path = path.as_ref();
        let unreadable = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ProfileError::MissingFile {
                    path: path.to_owned(),
                }
            } else {
                ProfileError::Unreadable {
                    path: path.to_owned(),
                    message: e.to_string(),
                }
            }
        };
        // Opening a named pipe blocks until a writer comes, and a device
        // may never end: only a regular file (or a link to one) is opened.
        check_regular(path, &std::fs::metadata(path).map_err(unreadable)?)?;
        let file = std::fs::File::open(path).map_err(unreadable)?;
        // Checked again on what was opened, in case the path changed.
        check_regular(path, &file.metadata().map_err(unreadable)?)?;
        check_private(path, &file)?;
        folder_of_file(path)?;
        let mut bytes = Vec::new();
        file.take(MAX_CREDENTIALS_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        if bytes.len() as u64 > MAX_CREDENTIALS_BYTES {
            return Err(ProfileError::TooLarge {
                path: path.to_owned(),
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| ProfileError::Malformed {
            path: path.to_owned(),
            line: line_of(e.as_bytes(), e.utf8_error().valid_up_to()),
            message: "not UTF-8 text".to_owned(),
        })?;
        let entries: BTreeMap<String, Entry> =
            toml::from_str(&text).map_err(|e| ProfileError::Malformed {
                path: path.to_owned(),
                line: e
                    .span()
                    .map_or(1, |span| line_of(text.as_bytes(), span.start)),
                message: without_quoted(e.message()),
            })?;
        let mut current = None;
        let mut profiles = BTreeMap::new();
        for (name, entry) in entries {
            match entry {
                Entry::Profile(profile) => {
                    profiles.insert(name, *profile);
                }
                Entry::Name(chosen) if name == CURRENT_KEY => current = Some(chosen),
                Entry::Name(_) => {
                    return Err(ProfileError::Malformed {
                        path: path.to_owned(),
                        line: key_line(&text, &name),
                        message: format!(
                            "{} is not a profile table ([{}]); only `{CURRENT_KEY} = \"NAME\"` \
                             stands outside the tables",
                            name.escape_debug(),
                            name.escape_debug()
                        ),
                    });
                }
            }
        }
        for name in profiles.keys() {
            if Profiles::check_name(name).is_err() {
                return Err(ProfileError::Malformed {
                    path: path.to_owned(),
                    line: table_line(&text, name),
                    message: format!(
                        "[{}] is not a profile name (1 to 64 letters, digits, '-' or '_')",
                        name.escape_debug()
                    ),
                });
            }
        }
        Ok(Profiles {
            path: path.to_owned(),
            current,
            profiles,
        })
    }

    /// Refuses a credentials file at `path` whose folder others could
    /// write into ([`ProfileError::UnprotectedFolder`]): group or others may
    /// write it without the sticky bit, or (on Linux) another user owns
    /// it. [`Profiles::load`] checks this too; a writer checks it before
    /// it writes a new file. A folder that does not exist yet passes.
    ///
    /// ```
    /// let path = std::env::temp_dir().join("no-such-folder-here").join("credentials.toml");
    /// assert!(neuroio::Profiles::check_folder(&path).is_ok());
    /// ```
    pub fn check_folder(path: impl AsRef<Path>) -> Result<(), ProfileError> {
        folder_of_file(path.as_ref())
    }

    /// The file these profiles were read from (or are to be written to).
    ///
    /// ```
    /// let profiles = neuroio::Profiles::empty("/tmp/c.toml");
    /// assert_eq!(profiles.path(), std::path::Path::new("/tmp/c.toml"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The profile called `name`, if there is one.
    ///
    /// ```
    /// let profiles = neuroio::Profiles::empty("/tmp/c.toml");
    /// assert!(profiles.get("default").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// Every profile, by name in alphabetical order.
    ///
    /// ```
    /// let profiles = neuroio::Profiles::empty("/tmp/c.toml");
    /// assert_eq!(profiles.iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Profile)> {
        self.profiles.iter().map(|(name, p)| (name.as_str(), p))
    }

    /// Adds or replaces the profile `name` (checked), returning the one it
    /// replaced. Nothing is written: that is the caller's part.
    ///
    /// ```
    /// let mut profiles = neuroio::Profiles::empty("/tmp/c.toml");
    /// profiles.insert("staging", neuroio::Profile::default())?;
    /// assert!(profiles.get("staging").is_some());
    /// # Ok::<(), neuroio::ProfileError>(())
    /// ```
    pub fn insert(
        &mut self,
        name: &str,
        profile: Profile,
    ) -> Result<Option<Profile>, ProfileError> {
        Profiles::check_name(name)?;
        Ok(self.profiles.insert(name.to_owned(), profile))
    }

    /// The profile `name`, or the error that names the file and the
    /// profile.
    ///
    /// ```
    /// let profiles = neuroio::Profiles::empty("/tmp/c.toml");
    /// let err = profiles.require("staging").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "no profile \"staging\" in /tmp/c.toml: log in with neuroio login --username USER --profile staging"
    /// );
    /// ```
    pub fn require(&self, name: &str) -> Result<&Profile, ProfileError> {
        self.get(name).ok_or_else(|| ProfileError::MissingProfile {
            path: self.path.clone(),
            profile: name.to_owned(),
            existing: self.profiles.keys().cloned().collect(),
        })
    }

    /// The profile `name` with a token in it, or the error that names the
    /// file and the profile when either is missing.
    ///
    /// ```
    /// let profiles = neuroio::Profiles::empty("/tmp/c.toml");
    /// assert!(matches!(
    ///     profiles.with_token("default"),
    ///     Err(neuroio::ProfileError::MissingProfile { .. })
    /// ));
    /// ```
    pub fn with_token(&self, name: &str) -> Result<(&Profile, &TokenKey), ProfileError> {
        let profile = self.require(name)?;
        match &profile.token {
            Some(token) => Ok((profile, token)),
            None => Err(ProfileError::NoToken {
                path: self.path.clone(),
                profile: name.to_owned(),
            }),
        }
    }
}

impl Serialize for Profiles {
    /// The profiles as the tables of a credentials file, keys included: for
    /// writing the file, never for showing.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let current = usize::from(self.current.is_some());
        let mut map = serializer.serialize_map(Some(self.profiles.len() + current))?;
        // A plain key comes before the tables in TOML.
        if let Some(current) = &self.current {
            map.serialize_entry(CURRENT_KEY, current)?;
        }
        for (name, profile) in &self.profiles {
            map.serialize_entry(name, profile)?;
        }
        map.end()
    }
}

/// One top-level entry of the file: a profile's table, or the name of the
/// current profile. Read straight from the TOML, so that an error inside a
/// table keeps its line.
enum Entry {
    Name(String),
    Profile(Box<Profile>),
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entry;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a profile's table, or the name of the current profile")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Entry, E> {
                Ok(Entry::Name(name.to_owned()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
                Profile::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|profile| Entry::Profile(Box::new(profile)))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// The line of the file where the plain key `name` is set, from 1.
fn key_line(text: &str, name: &str) -> usize {
    text.lines()
        .position(|line| line.trim_start().starts_with(name))
        .map_or(1, |index| index + 1)
}

/// Refuses anything at the path but a regular file, saying what is there.
fn check_regular(path: &Path, metadata: &std::fs::Metadata) -> Result<(), ProfileError> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    Err(ProfileError::NotAFile {
        path: path.to_owned(),
        kind: kind_of(file_type),
    })
}

#[cfg(unix)]
pub(crate) fn kind_of(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a named pipe (FIFO)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
pub(crate) fn kind_of(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Refuses a file that group or others may read or change.
#[cfg(unix)]
fn check_private(path: &Path, file: &std::fs::File) -> Result<(), ProfileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|e| ProfileError::Unreadable {
            path: path.to_owned(),
            message: e.to_string(),
        })?
        .permissions()
        .mode()
        & 0o7777;
    if mode & 0o077 != 0 {
        return Err(ProfileError::Unprotected {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// Windows has no mode bits; the file lives in the user's profile folder.
#[cfg(not(unix))]
fn check_private(_path: &Path, _file: &std::fs::File) -> Result<(), ProfileError> {
    Ok(())
}

/// Refuses a credentials file whose folder others could write into: they
/// could put a file of their own in its place. A folder group or others
/// may write is refused unless it has the sticky bit (as /tmp has); on
/// Linux, so is a folder another user owns.
#[cfg(unix)]
fn folder_of_file(path: &Path) -> Result<(), ProfileError> {
    use std::os::unix::fs::MetadataExt;
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let Ok(metadata) = std::fs::metadata(folder) else {
        // Nothing there yet: whoever creates it sets its mode.
        return Ok(());
    };
    let mode = metadata.mode() & 0o7777;
    let shown = folder.display();
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(ProfileError::UnprotectedFolder {
            folder: folder.to_owned(),
            why: format!("its mode {mode:04o} lets group or others write into it"),
            fix: format!("chmod 700 {shown}"),
        });
    }
    // The user this process runs as, on Linux; elsewhere the owner is not
    // checked.
    if let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid())
        && cfg!(target_os = "linux")
        && metadata.uid() != me
    {
        return Err(ProfileError::UnprotectedFolder {
            folder: folder.to_owned(),
            why: format!(
                "it belongs to user {} and not to you (user {me})",
                metadata.uid()
            ),
            fix: format!(
                "chown \"$(id -u)\" {shown}, or set NEUROIO_CONFIG_DIR to a folder of your own"
            ),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn folder_of_file(_path: &Path) -> Result<(), ProfileError> {
    Ok(())
}

/// The line (from 1) of the byte at `offset`.
fn line_of(text: &[u8], offset: usize) -> usize {
    let end = offset.min(text.len());
    text[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The line of the table header `[name]`, or 1 when it cannot be found.
fn table_line(text: &str, name: &str) -> usize {
    text.lines()
        .position(|line| line.contains(name) && line.trim_start().starts_with('['))
        .map_or(1, |at| at + 1)
}

/// A parser's message with every double-quoted part left out: it quotes
/// the value it choked on that way, which may be a key. (Backticks quote
/// the grammar: field names, expected characters.)
fn without_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match (quote, c) {
            (Some('"'), '"') => {
                quote = None;
                out.push_str("…\"");
            }
            (Some('"'), _) => {}
            (Some('`'), '`') | (None, '`' | '"') => {
                quote = if quote.is_some() { None } else { Some(c) };
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_left_out_of_parser_messages() {
        assert_eq!(
            without_quoted("invalid type: string \"s3cret\", expected u64"),
            "invalid type: string \"…\", expected u64"
        );
        assert_eq!(
            without_quoted("invalid basic string, expected `\"`"),
            "invalid basic string, expected `\"`"
        );
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 2), 2);
        assert_eq!(line_of(b"a\nb\nc", 99), 3);
    }

    #[test]
    fn profile_names_are_checked() {
        for good in ["default", "a", "staging_2", "PROD-eu", &"x".repeat(64)] {
            assert_eq!(Profiles::check_name(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "../x", "é", "a.b", &"x".repeat(65)] {
            assert!(
                matches!(
                    Profiles::check_name(bad),
                    Err(ProfileError::InvalidName { .. })
                ),
                "{bad}"
            );
        }
    }
}

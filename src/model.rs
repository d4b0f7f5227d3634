//! The objects the API sends and receives.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::secret::TokenKey;

/// An API token as the NeuroIO API describes it.
///
/// Fields the API adds after this crate was written are kept in
/// [`extra`](Token::extra), so nothing the server sends is lost and the token
/// serialises back to what came over the wire.
///
/// The `key` is a credential, a [`TokenKey`]: `Debug` shows it as
/// `[redacted]`, and reading it takes [`TokenKey::secret`].
///
/// The struct is `#[non_exhaustive]` so fields can be added without a
/// breaking release; to make one in your own tests, deserialise it (as
/// below) or take it from the simulator.
///
/// ```
/// let token: neuroio::Token = serde_json::from_str(r#"{
///     "id": 1, "key": "abcd", "is_active": true,
///     "created": "2021-05-28T10:37:51.433760+00:00",
///     "expires": null, "scope": "space"
/// }"#)?;
/// assert!(token.is_permanent());
/// assert_eq!(token.extra["scope"], "space");
/// assert!(!format!("{token:?}").contains("abcd"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Token {
    /// The numeric id, unique and never reused.
    pub id: u64,
    /// The secret key, sent as `Authorization: Token <key>`.
    pub key: TokenKey,
    /// Whether the token may authenticate calls.
    pub is_active: bool,
    /// When the token was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When a temporary token stops working; `None` for a permanent token.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub expires: Option<OffsetDateTime>,
    /// Every field the server sent that this struct does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Token {
    /// Whether the token is permanent (it has no expiry time).
    ///
    /// ```
    /// # let token: neuroio::Token = serde_json::from_str(r#"{"id":1,"key":"k","is_active":true,
    /// #   "created":"2021-05-28T10:37:51.433760+00:00","expires":null}"#).unwrap();
    /// assert!(token.is_permanent());
    /// ```
    pub fn is_permanent(&self) -> bool {
        self.expires.is_none()
    }

    /// How long the token has left by this machine's clock: `None` for a
    /// permanent token, zero once expired.
    ///
    /// ```
    /// # let token: neuroio::Token = serde_json::from_str(r#"{"id":1,"key":"k","is_active":true,
    /// #   "created":"2021-05-28T10:37:51.433760+00:00","expires":"2021-05-29T10:37:51.433563+00:00"}"#).unwrap();
    /// assert_eq!(token.expires_in(), Some(std::time::Duration::ZERO)); // long expired
    /// ```
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in_at(OffsetDateTime::now_utc())
    }

    /// How long the token has left at `now`: `None` for a permanent token,
    /// zero once expired. Use it with another clock, such as the
    /// simulator's.
    ///
    /// ```
    /// # let token: neuroio::Token = serde_json::from_str(r#"{"id":1,"key":"k","is_active":true,
    /// #   "created":"2021-05-28T10:37:51.433760+00:00","expires":"2021-05-29T10:37:51.433760+00:00"}"#).unwrap();
    /// let left = token.expires_in_at(token.created + neuroio::time::Duration::hours(23));
    /// assert_eq!(left, Some(std::time::Duration::from_secs(3600)));
    /// ```
    pub fn expires_in_at(&self, now: OffsetDateTime) -> Option<Duration> {
        let expires = self.expires?;
        Some(Duration::try_from(expires - now).unwrap_or(Duration::ZERO))
    }

    /// Whether the token has expired by this machine's clock. Permanent
    /// tokens never expire.
    ///
    /// ```
    /// # let token: neuroio::Token = serde_json::from_str(r#"{"id":1,"key":"k","is_active":true,
    /// #   "created":"2021-05-28T10:37:51.433760+00:00","expires":"2021-05-29T10:37:51.433563+00:00"}"#).unwrap();
    /// assert!(token.is_expired());
    /// ```
    pub fn is_expired(&self) -> bool {
        self.is_expired_at(OffsetDateTime::now_utc())
    }

    /// Whether the token has expired at `now`. Permanent tokens never expire.
    ///
    /// ```
    /// # let token: neuroio::Token = serde_json::from_str(r#"{"id":1,"key":"k","is_active":true,
    /// #   "created":"2021-05-28T10:37:51.433760+00:00","expires":"2021-05-29T10:37:51.433760+00:00"}"#).unwrap();
    /// assert!(!token.is_expired_at(token.created));
    /// assert!(token.is_expired_at(token.created + neuroio::time::Duration::days(1)));
    /// ```
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

/// A line for a person: the id, the kind, whether it is inactive, and when
/// it expires (RFC 3339, to the second, in UTC). Never the key.
///
/// ```
/// let token: neuroio::Token = serde_json::from_str(r#"{
///     "id": 7, "key": "abcd", "is_active": true,
///     "created": "2021-05-28T10:37:51.433760+00:00",
///     "expires": "2021-05-29T10:37:51.433760+00:00"
/// }"#)?;
/// assert_eq!(
///     token.to_string(),
///     "token 7 (temporary, expires 2021-05-29T10:37:51Z)"
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "token {} (", self.id)?;
        match self.expires {
            None => f.write_str("permanent")?,
            Some(expires) => {
                let utc = expires
                    .to_offset(time::UtcOffset::UTC)
                    .replace_nanosecond(0)
                    .unwrap_or(expires);
                let shown = utc
                    .format(&time::format_description::well_known::Rfc3339)
                    .map_err(|_| std::fmt::Error)?;
                write!(f, "temporary, expires {shown}")?;
            }
        }
        if !self.is_active {
            f.write_str(", inactive")?;
        }
        f.write_str(")")
    }
}

/// The answer to logging in: the user, and a new temporary token (its key
/// included). Made by [`ClientBuilder::login`](crate::ClientBuilder::login).
///
/// ```
/// let login: neuroio::Login = serde_json::from_str(r#"{
///     "user": {"username": "ada"},
///     "token": {"id": 7, "key": "abcd", "is_active": true,
///               "created": "2021-05-28T10:37:51.433760+00:00",
///               "expires": "2021-05-29T10:37:51.433760+00:00"}
/// }"#)?;
/// assert_eq!(login.user.username, "ada");
/// assert!(!login.token.is_permanent());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Login {
    /// Who logged in.
    pub user: User,
    /// The new temporary token the client now uses.
    pub token: Token,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A NeuroIO user, as the log-in answer names it.
///
/// ```
/// let user: neuroio::User = serde_json::from_str(r#"{"username": "ada", "email": "a@b.c"}"#)?;
/// assert_eq!(user.username, "ada");
/// assert_eq!(user.extra["email"], "a@b.c");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user name.
    pub username: String,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What the API knows about the token making the call: the user and space
/// of an account token, or just the space of a space token. Made by
/// [`Client::whoami`](crate::Client::whoami).
///
/// The API documents this answer only loosely, so every field is kept: the
/// ones named here, and the rest in [`extra`](Whoami::extra).
///
/// ```
/// let me: neuroio::Whoami = serde_json::from_str(
///     r#"{"username": "ada", "space": {"id": 3, "name": "default"}, "plan": "pro"}"#,
/// )?;
/// assert_eq!(me.username(), Some("ada"));
/// assert_eq!(me.space().map(|s| s.id), Some(3));
/// assert!(!me.is_space_token());
/// assert_eq!(me.extra["plan"], "pro");
///
/// let space_only: neuroio::Whoami =
///     serde_json::from_str(r#"{"space": {"id": 3, "name": "default"}}"#)?;
/// assert!(space_only.is_space_token());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Whoami {
    /// The user name, for an account token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The space: the account's default space, or the space a space token
    /// belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<Space>,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Whoami {
    /// The user name, when the token is an account's.
    ///
    /// ```
    /// # let me: neuroio::Whoami = serde_json::from_str(r#"{"username": "ada"}"#).unwrap();
    /// assert_eq!(me.username(), Some("ada"));
    /// ```
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The space, when the server names one.
    ///
    /// ```
    /// # let me: neuroio::Whoami = serde_json::from_str(r#"{"space": {"id": 3, "name": "lab"}}"#).unwrap();
    /// assert_eq!(me.space().map(|s| s.name.as_str()), Some("lab"));
    /// ```
    pub fn space(&self) -> Option<&Space> {
        self.space.as_ref()
    }

    /// Whether the token is a space token: the server names a space and no
    /// user.
    ///
    /// ```
    /// # let me: neuroio::Whoami = serde_json::from_str(r#"{"space": {"id": 3, "name": "lab"}}"#).unwrap();
    /// assert!(me.is_space_token());
    /// ```
    pub fn is_space_token(&self) -> bool {
        self.username.is_none() && self.space.is_some()
    }
}

/// A space: a part of an account with tokens of its own.
///
/// ```
/// let space: neuroio::Space = serde_json::from_str(r#"{"id": 3, "name": "default"}"#)?;
/// assert_eq!((space.id, space.name.as_str()), (3, "default"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Space {
    /// The space's id, as [`Spaces::create_token`](crate::Spaces::create_token) takes it.
    pub id: u64,
    /// The space's name.
    #[serde(default)]
    pub name: String,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

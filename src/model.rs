//! The objects the API sends and receives.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// An API token as the NeuroIO API describes it.
///
/// Fields the API adds after this crate was written are kept in
/// [`extra`](Token::extra), so nothing the server sends is lost and the token
/// serialises back to what came over the wire.
///
/// The `key` is a credential: `Debug` shows it as `[redacted]`.
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
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Token {
    /// The numeric id, unique and never reused.
    pub id: u64,
    /// The secret key, sent as `Authorization: Token <key>`.
    pub key: String,
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
    /// let left = token.expires_in_at(token.created + time::Duration::hours(23));
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
    /// assert!(token.is_expired_at(token.created + time::Duration::days(1)));
    /// ```
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("key", &"[redacted]")
            .field("is_active", &self.is_active)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .field("extra", &self.extra)
            .finish()
    }
}

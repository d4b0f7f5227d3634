//! Credentials as types: a token's key and a password. Their `Debug` is
//! redacted and reading them takes an explicit call, so a secret cannot reach
//! a log line or an error message by accident.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident, $example:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret.
            ///
            /// ```
            #[doc = concat!("let secret = neuroio::", stringify!($name), "::new(\"", $example, "\");")]
            #[doc = concat!("assert_eq!(secret.secret(), \"", $example, "\");")]
            /// ```
            pub fn new(secret: impl Into<String>) -> Self {
                $name(secret.into())
            }

            /// The secret itself.
            ///
            /// **Security:** whatever receives this text can act with the
            /// credential. Do not log it, put it in an error message or
            /// pass it on a command line (`ps` shows those).
            ///
            /// ```
            #[doc = concat!("let secret = neuroio::", stringify!($name), "::from(\"", $example, "\");")]
            #[doc = concat!("assert_eq!(secret.secret(), \"", $example, "\");")]
            /// ```
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// The secret, taken out of its wrapper. The warning on
            /// [`secret`](Self::secret) applies.
            ///
            /// ```
            #[doc = concat!("let secret = neuroio::", stringify!($name), "::from(\"", $example, "\");")]
            #[doc = concat!("assert_eq!(secret.into_secret(), \"", $example, "\");")]
            /// ```
            pub fn into_secret(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<&str> for $name {
            fn from(secret: &str) -> Self {
                $name(secret.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(secret: String) -> Self {
                $name(secret)
            }
        }

        impl From<&String> for $name {
            fn from(secret: &String) -> Self {
                $name(secret.clone())
            }
        }

        impl From<&$name> for $name {
            fn from(secret: &$name) -> Self {
                secret.clone()
            }
        }

        /// Compares with a plain string, as tests do; not in constant time.
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        /// Compares with a plain string, as tests do; not in constant time.
        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        /// Compares with a plain string, as tests do; not in constant time.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

secret_type!(
    /// A token's key: the credential sent as `Authorization: Token <key>`.
    ///
    /// `Debug` prints `TokenKey([redacted])`; read the key with
    /// [`secret`](TokenKey::secret). It serialises as the plain string, so a
    /// [`Token`](crate::Token) written as JSON carries its key.
    ///
    /// ```
    /// let key = neuroio::TokenKey::from("4f1c0d3e");
    /// assert_eq!(format!("{key:?}"), "TokenKey([redacted])");
    /// assert_eq!(serde_json::to_string(&key)?, "\"4f1c0d3e\"");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    TokenKey,
    "4f1c0d3e"
);

secret_type!(
    /// A password, for [`ClientBuilder::login`](crate::ClientBuilder::login)
    /// and [`Auth::change_password`](crate::Auth::change_password).
    ///
    /// `Debug` prints `Password([redacted])`; read it with
    /// [`secret`](Password::secret).
    ///
    /// ```
    /// let password = neuroio::Password::from("correct horse");
    /// assert_eq!(format!("{password:?}"), "Password([redacted])");
    /// ```
    Password,
    "correct horse"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_serde_is_plain() {
        let key = TokenKey::from("abcd".to_owned());
        assert_eq!(
            format!("{key:?} {key:#?}"),
            "TokenKey([redacted]) TokenKey([redacted])"
        );
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"abcd\"");
        let back: TokenKey = serde_json::from_str("\"abcd\"").unwrap();
        assert_eq!(back, key);
        assert_eq!(key, "abcd");
        assert_eq!(
            format!("{:?}", Password::from("pw")),
            "Password([redacted])"
        );
    }
}

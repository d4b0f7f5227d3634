//! Naming one token: by numeric id or by key.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::Error;
use crate::model::Token;
use crate::secret::TokenKey;

/// The part of a path that names one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A numeric id (a token's, a space's).
    Id(u64),
    /// A token's key: as given, and percent-encoded into one path segment.
    /// Never logged.
    Key { raw: TokenKey, encoded: TokenKey },
}

/// Everything but RFC 3986's unreserved characters is escaped, so a key is
/// always exactly one path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest encoded key sent in a path. Real keys are 40 characters;
/// servers and proxies refuse URLs of a few kilobytes.
const MAX_ENCODED_KEY: usize = 2048;

/// Names one token: by its numeric id or by its key.
///
/// Built with `From` from an integer, a key (`&str`, `String`, `&String` or
/// [`TokenKey`]), or a [`Token`] or `&Token` (by id), so every operation that
/// takes a token accepts any of these. `From` cannot fail, so a reference
/// that can name no token (a negative number, an empty key, `.` or `..`, a
/// key too long for a URL) is refused when the call is made, before any
/// request is sent.
///
/// `Debug` never shows a key.
///
/// ```
/// use neuroio::TokenRef;
/// assert_eq!(TokenRef::from(7u32), TokenRef::from(7i64));
/// assert_ne!(TokenRef::from(7), TokenRef::from("7"));
/// assert!(!format!("{:?}", TokenRef::from("abcd")).contains("abcd"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenRef(Repr);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Repr {
    Id(u64),
    Key(TokenKey),
    /// A negative number, which is never a token id; calls refuse it.
    Negative(i64),
}

impl TokenRef {
    /// The path segment for this reference, or why there can be none.
    pub(crate) fn segment(&self) -> crate::Result<Segment> {
        match &self.0 {
            Repr::Id(id) => Ok(Segment::Id(*id)),
            Repr::Negative(_) => Err(Error::InvalidTokenRef(
                "a token id cannot be negative; ids are positive integers",
            )),
            Repr::Key(key) => match key.secret() {
                "" => Err(Error::InvalidTokenRef(
                    "a key cannot be empty (the request would address the whole token list)",
                )),
                "." | ".." => Err(Error::InvalidTokenRef(
                    "a key cannot be \".\" or \"..\" (the request would address another endpoint)",
                )),
                raw => {
                    let encoded = utf8_percent_encode(raw, SEGMENT).to_string();
                    if encoded.len() > MAX_ENCODED_KEY {
                        return Err(Error::InvalidTokenRef(
                            "the key is too long to be sent in a URL; check the key",
                        ));
                    }
                    Ok(Segment::Key {
                        raw: key.clone(),
                        encoded: TokenKey::from(encoded),
                    })
                }
            },
        }
    }
}

impl From<&str> for TokenRef {
    fn from(key: &str) -> Self {
        TokenRef(Repr::Key(TokenKey::from(key)))
    }
}

impl From<String> for TokenRef {
    fn from(key: String) -> Self {
        TokenRef(Repr::Key(TokenKey::from(key)))
    }
}

impl From<&String> for TokenRef {
    fn from(key: &String) -> Self {
        TokenRef(Repr::Key(TokenKey::from(key)))
    }
}

impl From<TokenKey> for TokenRef {
    fn from(key: TokenKey) -> Self {
        TokenRef(Repr::Key(key))
    }
}

impl From<&TokenKey> for TokenRef {
    fn from(key: &TokenKey) -> Self {
        TokenRef(Repr::Key(key.clone()))
    }
}

impl From<&Token> for TokenRef {
    fn from(token: &Token) -> Self {
        TokenRef(Repr::Id(token.id))
    }
}

impl From<Token> for TokenRef {
    fn from(token: Token) -> Self {
        TokenRef(Repr::Id(token.id))
    }
}

macro_rules! token_ref_from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for TokenRef {
            fn from(id: $t) -> Self {
                TokenRef(Repr::Id(u64::from(id)))
            }
        }
    )*};
}
token_ref_from_unsigned!(u8, u16, u32, u64);

macro_rules! token_ref_from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for TokenRef {
            fn from(id: $t) -> Self {
                let wide = i64::from(id);
                TokenRef(u64::try_from(wide).map_or(Repr::Negative(wide), Repr::Id))
            }
        }
    )*};
}
token_ref_from_signed!(i8, i16, i32, i64);

impl From<usize> for TokenRef {
    fn from(id: usize) -> Self {
        // usize is at most 64 bits on every target Rust supports.
        TokenRef(Repr::Id(id as u64))
    }
}

impl From<isize> for TokenRef {
    fn from(id: isize) -> Self {
        TokenRef::from(id as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(key: &str) -> String {
        match TokenRef::from(key).segment().unwrap() {
            Segment::Key { encoded, .. } => encoded.into_secret(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_become_one_segment() {
        assert_eq!(encoded("a/b?c d"), "a%2Fb%3Fc%20d");
        assert_eq!(encoded("%2e%2e"), "%252e%252e");
        assert_eq!(encoded("..."), "...");
        assert_eq!(encoded("é#"), "%C3%A9%23");
    }

    proptest::proptest! {
        #[test]
        fn any_key_is_one_segment_that_decodes_back(key in ".*") {
            let Ok(Segment::Key { encoded, .. }) = TokenRef::from(key.as_str()).segment() else {
                proptest::prop_assume!(false);
                unreachable!();
            };
            let encoded = encoded.secret();
            proptest::prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8().unwrap();
            proptest::prop_assert_eq!(decoded, key);
        }
    }

    #[test]
    fn unusable_refs_are_refused() {
        for r in [
            TokenRef::from(""),
            TokenRef::from("."),
            TokenRef::from(".."),
            TokenRef::from(-1),
            TokenRef::from("k".repeat(MAX_ENCODED_KEY + 1)),
            TokenRef::from("/".repeat(MAX_ENCODED_KEY / 3 + 1)),
        ] {
            assert!(
                matches!(r.segment(), Err(Error::InvalidTokenRef(_))),
                "{r:?}"
            );
        }
        assert_eq!(TokenRef::from(-3i64), TokenRef(Repr::Negative(-3)));
        assert_eq!(TokenRef::from(3i8), TokenRef(Repr::Id(3)));
        assert_eq!(
            TokenRef::from(i64::MAX),
            TokenRef(Repr::Id(i64::MAX as u64))
        );
    }
}

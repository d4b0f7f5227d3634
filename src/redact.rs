//! Keeping secrets out of every text taken from an answer. A type of the
//! lowest layer (it imports nothing of the crate): errors scrub with it, and
//! the transport hands it what each request carried.
//!
//! A server, proxy or gateway may echo the request back: an HTML error page
//! quoting the `Authorization` header, a JSON message naming the key from the
//! path, a broken body. The client knows what it sent, so before any text from
//! an answer reaches an error, a log line or a terminal, each secret of the
//! request (in its plain and percent-encoded forms) is blanked out, and so is
//! the value of every JSON `"key"` field (the keys of other tokens).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What RFC 3986 encoders escape: all but letters, digits and `-._~`.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// How many bytes of an unexpected body an error keeps for its message.
const EXCERPT_BYTES: usize = 240;

/// Secrets shorter than this are not searched for: blanking every `a` of a
/// message would make it unreadable and hide nothing worth hiding.
const MIN_SECRET_LEN: usize = 4;

/// The secrets one request carried.
#[derive(Clone, Copy, Default)]
pub(crate) struct Secrets<'a> {
    list: [Option<&'a str>; 8],
    /// The body carried a password: quote nothing of the answer's body,
    /// since an echo may hold it in a form not foreseen here.
    hide_excerpts: bool,
}

impl<'a> Secrets<'a> {
    /// Adds a token or key (ignored when the list is full or it is too
    /// short to search for).
    pub(crate) fn with(self, secret: &'a str) -> Self {
        if secret.len() < MIN_SECRET_LEN {
            return self;
        }
        self.push(secret)
    }

    /// Adds a password: searched for whatever its length, and no excerpt of
    /// the answer's body is quoted at all.
    pub(crate) fn with_password(mut self, password: &'a str) -> Self {
        self.hide_excerpts = true;
        if password.is_empty() {
            return self;
        }
        self.push(password)
    }

    fn push(mut self, secret: &'a str) -> Self {
        if let Some(slot) = self.list.iter_mut().find(|s| s.is_none()) {
            *slot = Some(secret);
        }
        self
    }

    fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.list.iter().flatten().copied()
    }

    /// `text` with every secret and every JSON `"key"` value blanked out.
    /// Each secret is searched for as sent and in every form in which this
    /// crate, its dependencies or a server may quote it (see [`forms`]).
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = redact_key_fields(text);
        for secret in self.iter() {
            for form in forms(secret) {
                out = replace_all(&out, &form);
            }
        }
        out
    }

    /// The first bytes of a body, safe to print: scrubbed whole (so a
    /// secret cut by the end of the excerpt cannot leave its first half),
    /// then cut on a character boundary.
    pub(crate) fn excerpt(&self, body: &[u8]) -> String {
        if self.hide_excerpts && !body.is_empty() {
            return "[not shown: the request carried a password]".to_owned();
        }
        let text = self.scrub(&String::from_utf8_lossy(body));
        if text.len() <= EXCERPT_BYTES {
            return text;
        }
        let mut cut = EXCERPT_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut short = text.get(..cut).unwrap_or_default().to_owned();
        short.push('…');
        short
    }
}

/// The forms in which a secret may come back, longest first so a longer
/// form is blanked before a shorter one inside it:
///
/// - as sent;
/// - percent-encoded, every byte but letters and digits (this crate's paths
///   and forms) or all but RFC 3986's unreserved `-._~`, each also with `+`
///   for a space (forms);
/// - JSON-escaped as serde_json writes it, with `\/` for `/`, and with every
///   character outside ASCII as `\uXXXX` (other servers' encoders);
/// - Rust `Debug` escaping (`\u{301}`, `\n`, `\"`), in which this crate and
///   serde's messages (`invalid type: string "..."`) quote a value;
/// - HTML-escaped, with named and with numeric entities.
///
/// Letters are matched in any ASCII case, so `%2f` and `\u00E9` match too.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    for set in [NON_ALPHANUMERIC, NOT_UNRESERVED] {
        let encoded = utf8_percent_encode(secret, set).to_string();
        forms.push(encoded.replace("%20", "+"));
        forms.push(encoded);
    }
    let json = quoted_inside(&serde_json::to_string(secret).unwrap_or_default(), secret);
    forms.push(json.replace('/', "\\/"));
    forms.push(ascii_json(&json));
    forms.push(json);
    forms.push(quoted_inside(&format!("{secret:?}"), secret));
    forms.push(html_escaped(secret, "&#39;"));
    forms.push(html_escaped(secret, "&#x27;"));
    forms.push(html_numeric(secret));
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

/// What is between the quotes of `quoted`; `fallback` if it is not quoted.
fn quoted_inside(quoted: &str, fallback: &str) -> String {
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(fallback)
        .to_owned()
}

/// JSON text with every character outside ASCII as `\uXXXX` (a pair of
/// them beyond the first plane).
fn ascii_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn html_escaped(secret: &str, apostrophe: &str) -> String {
    secret
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', apostrophe)
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Every character but letters and digits as a numeric entity (`&#233;`).
fn html_numeric(secret: &str) -> String {
    secret
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("&#{};", u32::from(c))
            }
        })
        .collect()
}

/// Replaces every occurrence of `secret`, ignoring ASCII case (a gateway may
/// upper-case what it echoes).
fn replace_all(text: &str, secret: &str) -> String {
    if secret.is_empty() || text.len() < secret.len() {
        return text.to_owned();
    }
    let lower_text = text.to_ascii_lowercase();
    let lower_secret = secret.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in lower_text.match_indices(&lower_secret) {
        if at < last {
            continue;
        }
        out.push_str(text.get(last..at).unwrap_or_default());
        out.push_str(REDACTED);
        last = at + secret.len();
    }
    out.push_str(text.get(last..).unwrap_or_default());
    out
}

/// Replaces the string value after each `"key"` with `[redacted]`, also when
/// the value is cut off by the end of the text.
fn redact_key_fields(text: &str) -> String {
    const NEEDLE: &str = "\"key\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(NEEDLE) {
        let (before, after_needle) = rest.split_at(pos + NEEDLE.len());
        out.push_str(before);
        let trimmed = after_needle.trim_start();
        let Some(after_colon) = trimmed.strip_prefix(':') else {
            rest = after_needle;
            continue;
        };
        let value = after_colon.trim_start();
        let Some(inside) = value.strip_prefix('"') else {
            rest = after_needle;
            continue;
        };
        out.push_str(":\"");
        out.push_str(REDACTED);
        // Skip to the closing quote, honouring backslash escapes.
        let mut escaped = false;
        let mut end = None;
        for (i, c) in inside.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        rest = match end {
            Some(i) => inside.get(i..).unwrap_or_default(),
            None => "",
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Passwords and keys with a combining accent, control characters, a
    /// zero-width joiner and a character beyond the first plane.
    const TRICKY: [&str; 4] = [
        "cafe\u{301}-secret",
        "tab\there\u{7}bell\u{1b}[31m",
        "zero\u{200d}width\u{feff}bom",
        "emoji\u{1f600}/slash&amp",
    ];

    /// Every form in which something may quote `secret`: the formatting
    /// calls of std, serde_json, serde and percent-encoding themselves, and
    /// encoders of other servers.
    fn echoes(secret: &str) -> Vec<String> {
        let serde_message = serde_json::from_value::<u64>(serde_json::Value::from(secret))
            .unwrap_err()
            .to_string();
        let json = serde_json::to_string(secret).unwrap();
        vec![
            format!("{secret:?}"),
            format!("{:?}", vec![secret]),
            serde_message,
            json.clone(),
            json.replace('/', "\\/"),
            ascii_json(&json).to_uppercase().replace("\\U", "\\u"),
            utf8_percent_encode(secret, NON_ALPHANUMERIC)
                .to_string()
                .to_lowercase(),
            utf8_percent_encode(secret, NOT_UNRESERVED).to_string(),
            html_escaped(secret, "&#x27;"),
            html_numeric(secret),
            format!("raw {secret} raw"),
        ]
    }

    #[test]
    fn tricky_secrets_are_blanked_in_every_escaping() {
        for secret in TRICKY {
            for scrubbed in [
                Secrets::default().with_password(secret),
                Secrets::default().with(secret),
            ] {
                for echo in echoes(secret) {
                    let shown = scrubbed.scrub(&echo);
                    assert!(shown.contains(REDACTED), "{echo} -> {shown}");
                    for part in ["secret", "here", "width", "slash"] {
                        assert!(!shown.contains(part), "{secret:?}: {echo} -> {shown}");
                    }
                }
            }
        }
    }

    #[test]
    fn key_fields_are_blanked_even_when_cut_off() {
        let none = Secrets::default();
        assert_eq!(
            none.excerpt(br#"{"id":1,"key": "s3cr3t","x":"key"}"#),
            r#"{"id":1,"key":"[redacted]","x":"key"}"#
        );
        assert_eq!(
            none.excerpt(br#"{"id":1,"key":"s3cr"#),
            r#"{"id":1,"key":"[redacted]"#
        );
        assert_eq!(
            none.excerpt(br#"{"key":"a\"b"}"#),
            r#"{"key":"[redacted]"}"#
        );
    }

    #[test]
    fn excerpt_is_bounded_and_char_safe() {
        let body = "é".repeat(500);
        let e = Secrets::default().excerpt(body.as_bytes());
        assert!(e.len() <= EXCERPT_BYTES + 4, "{}", e.len());
        assert!(e.ends_with('…'));
    }

    #[test]
    fn sent_secrets_are_blanked_in_any_case_and_encoding() {
        let secrets = Secrets::default().with("Tok3n-abc").with("a/b key");
        let text =
            "Authorization: Token Tok3n-abc; TOK3N-ABC; path /v1/tokens/a%2Fb%20key/ and a/b key";
        assert_eq!(
            secrets.scrub(text),
            "Authorization: Token [redacted]; [redacted]; path /v1/tokens/[redacted]/ and [redacted]"
        );
    }

    #[test]
    fn a_secret_at_the_cut_leaves_nothing() {
        let secret = "0123456789abcdef0123456789abcdef01234567";
        let body = format!("{}{secret}", "x".repeat(EXCERPT_BYTES - 10));
        let shown = Secrets::default().with(secret).excerpt(body.as_bytes());
        assert!(!shown.contains("0123456789"), "{shown}");
    }

    #[test]
    fn short_secrets_are_not_searched() {
        let secrets = Secrets::default().with("ab");
        assert_eq!(secrets.scrub("abc"), "abc");
    }

    #[test]
    fn passwords_are_blanked_in_every_echoed_form_and_hide_excerpts() {
        let secrets = Secrets::default().with_password("a \"b\\c<&'");
        let echoes = [
            r#"{"password": "a \"b\\c<&'"}"#,
            "password=a+%22b%5Cc%3C%26%27",
            "<td>a &quot;b\\c&lt;&amp;&#39;</td>",
            "raw a \"b\\c<&'",
        ];
        for echo in echoes {
            let shown = secrets.scrub(echo);
            assert!(shown.contains(REDACTED), "{echo} -> {shown}");
            assert!(
                !shown.contains("b\\c") && !shown.contains("%5Cc"),
                "{echo} -> {shown}"
            );
        }
        assert_eq!(
            secrets.excerpt(b"<html>anything</html>"),
            "[not shown: the request carried a password]"
        );
        // Even a one-letter password is searched for.
        let short = Secrets::default().with_password("x");
        assert_eq!(short.scrub("box"), "bo[redacted]");
    }
}

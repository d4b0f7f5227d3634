//! The simulator's wire types: a request as the HTTP layer hands it over,
//! an answer in the API's formats, and the readers of bodies and queries
//! every handler shares.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

/// A request as the simulator's HTTP layer hands it over.
pub(crate) struct Incoming<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// An answer: the status and, except for 204, a JSON body.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) status: u16,
    pub(crate) body: Option<Value>,
    pub(crate) retry_after: Option<String>,
}

impl Outgoing {
    pub(super) fn json(status: u16, body: Value) -> Self {
        Outgoing {
            status,
            body: Some(body),
            retry_after: None,
        }
    }

    pub(super) fn no_content() -> Self {
        Outgoing {
            status: 204,
            body: None,
            retry_after: None,
        }
    }

    /// An answer in the API's error body format.
    pub(crate) fn error(status: u16, message: &str) -> Self {
        Outgoing::field_errors(status, message, &[])
    }

    pub(super) fn field_errors(status: u16, message: &str, fields: &[(&str, &str)]) -> Self {
        let fields: Vec<Value> = fields
            .iter()
            .map(|(name, msg)| json!({"name": name, "message": msg, "error_code": status}))
            .collect();
        Outgoing::json(
            status,
            json!({"error_codes": [status], "message": message, "fields": fields}),
        )
    }

    pub(super) fn validation(fields: &[(&str, &str)]) -> Self {
        Outgoing::field_errors(400, "Validation error.", fields)
    }
}

pub(super) fn not_found() -> Outgoing {
    Outgoing::error(404, "Not found.")
}

/// RFC 3339 with microseconds and a numeric offset, as the real API writes.
pub(super) fn timestamp(at: OffsetDateTime) -> String {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6][offset_hour sign:mandatory]:[offset_minute]"
    );
    // Formatting a valid date with this description cannot fail; fall back to
    // the plain RFC 3339 form rather than panic if it ever did.
    at.format(&format)
        .or_else(|_| at.format(&time::format_description::well_known::Rfc3339))
        .unwrap_or_default()
}

pub(super) fn parse_bool(raw: &str) -> Option<bool> {
    match raw {
        "true" | "True" | "1" => Some(true),
        "false" | "False" | "0" => Some(false),
        _ => None,
    }
}

/// A request body: empty, a JSON object or form fields.
pub(super) enum Body {
    Empty,
    Json(Map<String, Value>),
    Form(Vec<(String, String)>),
}

/// Reads a JSON or form body (an all-whitespace body is empty); anything
/// else is a 400.
pub(super) fn parse_body(req: &Incoming<'_>) -> Result<Body, Outgoing> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::Empty);
    }
    let media = req
        .content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => {
            let value: Value = serde_json::from_slice(req.body)
                .map_err(|e| Outgoing::error(400, &format!("JSON parse error: {e}")))?;
            match value {
                Value::Object(map) => Ok(Body::Json(map)),
                _ => Err(Outgoing::error(
                    400,
                    "Invalid data: expected a JSON object.",
                )),
            }
        }
        Some("application/x-www-form-urlencoded") => Ok(Body::Form(
            form_urlencoded::parse(req.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )),
        _ => Err(Outgoing::error(
            400,
            "Unsupported body: send application/json or application/x-www-form-urlencoded.",
        )),
    }
}

impl Body {
    /// A boolean field; `Err` carries the field error's message.
    pub(super) fn flag(&self, field: &str) -> Result<Option<bool>, &'static str> {
        pub(super) const INVALID: &str = "Must be a valid boolean.";
        match self {
            Body::Empty => Ok(None),
            Body::Json(map) => match map.get(field) {
                None => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(INVALID),
            },
            Body::Form(pairs) => match pairs.iter().find(|(k, _)| k == field) {
                None => Ok(None),
                Some((_, v)) => parse_bool(v).map(Some).ok_or(INVALID),
            },
        }
    }

    /// A string field; `Err` carries the field error's message.
    pub(super) fn text(&self, field: &str) -> Result<Option<String>, &'static str> {
        match self {
            Body::Empty => Ok(None),
            Body::Json(map) => match map.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err("Not a valid string."),
            },
            Body::Form(pairs) => Ok(pairs
                .iter()
                .find(|(k, _)| k == field)
                .map(|(_, v)| v.clone())),
        }
    }
}

/// A required, non-blank string field; records a field error otherwise.
pub(super) fn required_text(
    body: &Body,
    field: &'static str,
    errors: &mut Vec<(&'static str, &'static str)>,
) -> Option<String> {
    match body.text(field) {
        Ok(Some(value)) if !value.is_empty() => Some(value),
        Ok(Some(_)) => {
            errors.push((field, "This field may not be blank."));
            None
        }
        Ok(None) => {
            errors.push((field, "This field is required."));
            None
        }
        Err(message) => {
            errors.push((field, message));
            None
        }
    }
}

/// Reads one boolean field from a JSON or form body; `Ok(None)` when absent
/// (an empty body counts as absent).
pub(super) fn read_bool_field(req: &Incoming<'_>, field: &str) -> Result<Option<bool>, Outgoing> {
    parse_body(req)?
        .flag(field)
        .map_err(|message| Outgoing::validation(&[(field, message)]))
}

/// A query string's parameters; the first occurrence of a name wins.
pub(super) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(super) fn parse(query: Option<&str>) -> Self {
        QueryParams(
            query
                .map(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The page a list asks for: `limit` from 1 to 100 (20 when absent) and
/// `offset` from 0 (0 when absent). Every list route reads it here, so every list
/// validates alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Paging {
    pub(super) limit: usize,
    pub(super) offset: usize,
}

impl Paging {
    const DEFAULT_LIMIT: usize = 20;
    const MAX_LIMIT: usize = 100;

    /// Reads `limit` and `offset`, recording a field error for each that is
    /// not valid (the values are then meaningless).
    pub(super) fn read(
        params: &QueryParams,
        errors: &mut Vec<(&'static str, &'static str)>,
    ) -> Paging {
        let limit = match params.get("limit").map(str::parse::<u64>) {
            None => Paging::DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=Paging::MAX_LIMIT as u64).contains(&n) => {
                usize::try_from(n).unwrap_or(Paging::MAX_LIMIT)
            }
            Some(Ok(_)) => {
                errors.push(("limit", "Ensure this value is between 1 and 100."));
                0
            }
            Some(Err(_)) => {
                errors.push(("limit", "A valid integer is required."));
                0
            }
        };
        let offset = match params.get("offset").map(str::parse::<u64>) {
            None => 0,
            // Past the end of any list: an empty page, as for any offset
            // beyond the last item.
            Some(Ok(n)) => usize::try_from(n).unwrap_or(usize::MAX),
            Some(Err(_)) => {
                errors.push((
                    "offset",
                    "A valid integer greater than or equal to 0 is required.",
                ));
                0
            }
        };
        Paging { limit, offset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_microseconds_and_offset() {
        let at = time::macros::datetime!(2021-05-28 10:37:51.433760 UTC);
        assert_eq!(timestamp(at), "2021-05-28T10:37:51.433760+00:00");
    }
}

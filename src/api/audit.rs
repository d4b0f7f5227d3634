//! Auditing a collection of tokens against the API's advice: few permanent
//! tokens, none old, none kept deactivated or expired, and no tooling that
//! runs on a permanent token. Reads every page; changes nothing.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::api::tokens::{Kind, Tokens};
use crate::model::Token;

/// How many permanent tokens an account (or space) may hold.
pub const PERMANENT_TOKEN_LIMIT: usize = 5;

/// From this many permanent tokens on, the audit reports
/// [`FindingCode::PermanentLimit`]: one more and the limit is reached.
const PERMANENT_WARN_AT: usize = PERMANENT_TOKEN_LIMIT - 1;

/// The most tokens one audit reads from a collection. A real account holds
/// far fewer; a server that never stops sending new ones is stopped here.
pub const MAX_AUDITED_TOKENS: u64 = 100_000;

/// The age after which a permanent token is reported, unless
/// [`AuditPolicy::max_age`] says otherwise: 90 days.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// What an audit checks against: the greatest age of a permanent token, and
/// the time the audit is made at.
///
/// ```
/// let policy = neuroio::AuditPolicy::new()
///     .max_age(std::time::Duration::from_secs(30 * 24 * 3600));
/// assert_eq!(policy.age_limit().as_secs(), 30 * 24 * 3600);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct AuditPolicy {
    max_age: Duration,
    at: Option<OffsetDateTime>,
}

impl Default for AuditPolicy {
    fn default() -> Self {
        AuditPolicy {
            max_age: DEFAULT_MAX_AGE,
            at: None,
        }
    }
}

impl AuditPolicy {
    /// The default policy: permanent tokens older than 90 days are
    /// reported, as of the moment of the audit.
    ///
    /// ```
    /// assert_eq!(neuroio::AuditPolicy::new(), neuroio::AuditPolicy::default());
    /// ```
    pub fn new() -> Self {
        AuditPolicy::default()
    }

    /// Permanent tokens older than this are reported
    /// ([`FindingCode::PermanentOld`]).
    ///
    /// Defaults to 90 days.
    ///
    /// ```
    /// let policy = neuroio::AuditPolicy::new().max_age(std::time::Duration::from_secs(86_400));
    /// assert_eq!(policy.age_limit(), std::time::Duration::from_secs(86_400));
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Audits as of `at` instead of this machine's clock: what will be old
    /// or expired by then, or the time of a simulator whose clock was moved.
    ///
    /// Defaults to the moment the audit starts.
    ///
    /// ```
    /// let next_week = neuroio::time::OffsetDateTime::now_utc() + neuroio::time::Duration::weeks(1);
    /// let policy = neuroio::AuditPolicy::new().at(next_week);
    /// println!("{policy:?}");
    /// ```
    pub fn at(mut self, at: OffsetDateTime) -> Self {
        self.at = Some(at);
        self
    }

    /// The greatest age of a permanent token, as set with
    /// [`max_age`](Self::max_age).
    ///
    /// ```
    /// assert_eq!(neuroio::AuditPolicy::new().age_limit(), neuroio::DEFAULT_MAX_AGE);
    /// ```
    pub fn age_limit(&self) -> Duration {
        self.max_age
    }

    /// The old name of [`age_limit`](Self::age_limit).
    ///
    /// ```
    /// #[allow(deprecated)]
    /// let limit = neuroio::AuditPolicy::new().get_max_age();
    /// assert_eq!(limit, neuroio::DEFAULT_MAX_AGE);
    /// ```
    #[deprecated(
        since = "0.1.0",
        note = "renamed to `age_limit`: getters take no `get_` prefix"
    )]
    pub fn get_max_age(&self) -> Duration {
        self.age_limit()
    }
}

/// Which collection an audit read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditedCollection {
    /// Tokens, on the IAM host ([`Client::tokens`](crate::Client::tokens)).
    Tokens,
    /// Stream tokens, on the API host
    /// ([`Client::stream_tokens`](crate::Client::stream_tokens)).
    StreamTokens,
}

impl AuditedCollection {
    /// The collection's name as in reports: `tokens` or `stream-tokens`.
    ///
    /// ```
    /// assert_eq!(neuroio::AuditedCollection::StreamTokens.as_str(), "stream-tokens");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AuditedCollection::Tokens => "tokens",
            AuditedCollection::StreamTokens => "stream-tokens",
        }
    }

    /// The noun for one of its tokens, in sentences.
    fn noun(self) -> &'static str {
        match self {
            AuditedCollection::Tokens => "token",
            AuditedCollection::StreamTokens => "stream token",
        }
    }
}

/// The kind of a [`Finding`]; its code (`as_str`) is stable, for scripts
/// and alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FindingCode {
    /// The client itself calls with a permanent token (`permanent-in-use`).
    PermanentInUse,
    /// 4 or 5 of the 5 permanent tokens are used (`permanent-limit`).
    PermanentLimit,
    /// A permanent token is older than the policy's greatest age
    /// (`permanent-old`).
    PermanentOld,
    /// A token is deactivated but not deleted (`inactive`).
    Inactive,
    /// A temporary token is past its expiry and still listed (`expired`).
    Expired,
}

impl FindingCode {
    /// The stable code: `permanent-in-use`, `permanent-limit`,
    /// `permanent-old`, `inactive` or `expired`.
    ///
    /// ```
    /// assert_eq!(neuroio::FindingCode::PermanentOld.as_str(), "permanent-old");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::PermanentInUse => "permanent-in-use",
            FindingCode::PermanentLimit => "permanent-limit",
            FindingCode::PermanentOld => "permanent-old",
            FindingCode::Inactive => "inactive",
            FindingCode::Expired => "expired",
        }
    }
}

/// One thing an audit found that goes against the API's advice.
///
/// ```
/// fn show(finding: &neuroio::Finding) {
///     let token = finding.token_id.map_or("-".to_owned(), |id| id.to_string());
///     println!("{} {} token {token}: {}", finding.code.as_str(),
///              finding.collection.as_str(), finding.message);
/// }
/// # let _ = show;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// What kind of finding it is.
    pub code: FindingCode,
    /// The collection it is about.
    pub collection: AuditedCollection,
    /// The token it is about; `None` for one about the whole collection
    /// ([`FindingCode::PermanentLimit`]).
    pub token_id: Option<u64>,
    /// A sentence saying what was found and what to do.
    pub message: String,
}

/// A permanent token, as an audit lists them (never with its key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PermanentToken {
    /// The token's id.
    pub id: u64,
    /// Whether it may authenticate calls.
    pub is_active: bool,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// How old it is at the time of the audit, in whole days.
    pub age_days: u64,
}

/// How a collection of tokens stands against the API's advice; made by
/// [`Tokens::audit`].
///
/// Counts overlap: an inactive temporary token counts in `temporary` and in
/// `inactive`; an expired one in `temporary` and in `expired`.
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::Client::from_env()?;
/// let report = client.tokens().audit(&neuroio::AuditPolicy::new())?;
/// println!("{} of {} permanent tokens used", report.permanent, report.permanent_limit);
/// for finding in &report.findings {
///     println!("{}: {}", finding.code.as_str(), finding.message);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditReport {
    /// The collection read.
    pub collection: AuditedCollection,
    /// The time the audit was made at.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// How many permanent tokens are listed (active or not).
    pub permanent: usize,
    /// How many the API allows: 5.
    pub permanent_limit: usize,
    /// How many temporary tokens are listed (expired ones included).
    pub temporary: usize,
    /// How many tokens are deactivated.
    pub inactive: usize,
    /// How many temporary tokens are past their expiry.
    pub expired: usize,
    /// The permanent tokens, oldest first.
    pub permanent_tokens: Vec<PermanentToken>,
    /// What goes against the advice, in the order of [`FindingCode`], then
    /// by token id.
    pub findings: Vec<Finding>,
}

impl Tokens<'_> {
    /// Audits this collection: reads every token (through
    /// [`iter`](Self::iter)), counts permanent, temporary, inactive and
    /// expired tokens, and reports each [`Finding`]. Nothing is changed.
    ///
    /// A client calling with a permanent token of this collection is
    /// reported as [`FindingCode::PermanentInUse`] (for a renewing client,
    /// its parent token counts). At most [`MAX_AUDITED_TOKENS`] tokens are
    /// read; a collection that lists more ends the audit with
    /// [`Error::UnexpectedResponse`](crate::Error::UnexpectedResponse).
    ///
    /// The counts come from one pass over the list in which no page
    /// shifted, so no token is counted twice: when tokens are created or
    /// deleted during the audit, the walk starts over and so does the count
    /// (up to [`DEFAULT_MAX_WALK_RESTARTS`](crate::DEFAULT_MAX_WALK_RESTARTS)
    /// times), and a list that keeps changing ends the audit with
    /// [`Error::ListChanged`](crate::Error::ListChanged) rather than with a report that may be wrong.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::Client::from_env()?;
    /// let policy = neuroio::AuditPolicy::new().max_age(std::time::Duration::from_secs(30 * 86_400));
    /// let tokens = client.tokens().audit(&policy)?;
    /// let streams = client.stream_tokens().audit(&policy)?;
    /// if !tokens.findings.is_empty() || !streams.findings.is_empty() {
    ///     eprintln!("{} findings", tokens.findings.len() + streams.findings.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn audit(&self, policy: &AuditPolicy) -> crate::Result<AuditReport> {
        self.audit_within(policy, MAX_AUDITED_TOKENS)
    }

    /// [`audit`](Self::audit), reading at most `most` tokens: the walk's
    /// own bound ([`PageIter::max_items`](crate::PageIter::max_items)).
    fn audit_within(&self, policy: &AuditPolicy, most: u64) -> crate::Result<AuditReport> {
        let at = policy.at.unwrap_or_else(OffsetDateTime::now_utc);
        let in_use = self.client().sent_keys();
        let collection = match self.kind() {
            Kind::Tokens => AuditedCollection::Tokens,
            Kind::StreamTokens => AuditedCollection::StreamTokens,
        };
        let mut census = Census::new(collection, at, policy.max_age);
        // A walk that starts over because the list changed yields the new
        // pass whole: the count starts over with it, so that the report
        // counts one consistent pass and no token twice.
        let mut walk = self.iter(None).max_items(most).repeat_after_restart();
        let mut pass = 0;
        while let Some(token) = walk.next() {
            if walk.restarts() != pass {
                pass = walk.restarts();
                census = Census::new(collection, at, policy.max_age);
            }
            let token = token?;
            let used = in_use.iter().flatten().any(|key| *key == token.key);
            census.count(&token, used);
        }
        Ok(census.report())
    }
}

/// What an audit has counted so far.
struct Census {
    collection: AuditedCollection,
    at: OffsetDateTime,
    max_age: Duration,
    read: usize,
    temporary: usize,
    inactive: usize,
    expired: usize,
    permanent_tokens: Vec<PermanentToken>,
    findings: Vec<Finding>,
}

impl Census {
    fn new(collection: AuditedCollection, at: OffsetDateTime, max_age: Duration) -> Census {
        Census {
            collection,
            at,
            max_age,
            read: 0,
            temporary: 0,
            inactive: 0,
            expired: 0,
            permanent_tokens: Vec::new(),
            findings: Vec::new(),
        }
    }

    fn finding(&mut self, code: FindingCode, token_id: Option<u64>, message: String) {
        self.findings.push(Finding {
            code,
            collection: self.collection,
            token_id,
            message,
        });
    }

    fn count(&mut self, token: &Token, in_use: bool) {
        self.read += 1;
        let noun = self.collection.noun();
        let id = token.id;
        if token.is_permanent() {
            // A token created in the future (a clock ahead) is of age zero.
            let age = Duration::try_from(self.at - token.created).unwrap_or(Duration::ZERO);
            let age_days = age.as_secs() / 86_400;
            self.permanent_tokens.push(PermanentToken {
                id,
                is_active: token.is_active,
                created: token.created,
                age_days,
            });
            if age > self.max_age {
                self.finding(
                    FindingCode::PermanentOld,
                    Some(id),
                    format!(
                        "permanent {noun} {id} is {} old, more than the {} allowed; \
                         replace it with a new one, or with temporary tokens, and delete it",
                        span(age),
                        span(self.max_age)
                    ),
                );
            }
            if in_use {
                self.finding(
                    FindingCode::PermanentInUse,
                    Some(id),
                    format!(
                        "this audit runs on permanent {noun} {id}; run tooling on temporary \
                         tokens (log in, or create one with a parent) and keep permanent ones out of it"
                    ),
                );
            }
        } else {
            self.temporary += 1;
            if token.is_expired_at(self.at) {
                self.expired += 1;
                self.finding(
                    FindingCode::Expired,
                    Some(id),
                    format!(
                        "temporary {noun} {id} expired but is still listed; delete it \
                         (deleting the temporary tokens at once clears all of them)"
                    ),
                );
            }
        }
        if !token.is_active {
            self.inactive += 1;
            self.finding(
                FindingCode::Inactive,
                Some(id),
                format!(
                    "{noun} {id} is deactivated but not deleted; delete it unless it is to be \
                     activated again"
                ),
            );
        }
    }

    fn report(mut self) -> AuditReport {
        let permanent = self.permanent_tokens.len();
        if permanent >= PERMANENT_WARN_AT {
            let noun = self.collection.noun();
            self.finding(
                FindingCode::PermanentLimit,
                None,
                format!(
                    "{permanent} of the {PERMANENT_TOKEN_LIMIT} permanent {noun}s allowed are used; \
                     delete those no longer needed, and use temporary tokens instead"
                ),
            );
        }
        self.permanent_tokens
            .sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        self.findings
            .sort_by(|a, b| a.code.cmp(&b.code).then(a.token_id.cmp(&b.token_id)));
        AuditReport {
            collection: self.collection,
            at: self.at,
            permanent,
            permanent_limit: PERMANENT_TOKEN_LIMIT,
            temporary: self.temporary,
            inactive: self.inactive,
            expired: self.expired,
            permanent_tokens: self.permanent_tokens,
            findings: self.findings,
        }
    }
}

/// A span of time for a person, in its largest whole unit, so that a
/// small one is not rounded down to "0 days": "3 days", "5 hours",
/// "1 minute", "0 seconds".
fn span(span: Duration) -> String {
    let seconds = span.as_secs();
    let (amount, unit) = match seconds {
        0..60 => (seconds, "second"),
        60..3_600 => (seconds / 60, "minute"),
        3_600..86_400 => (seconds / 3_600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(id: u64, active: bool, created: &str, expires: Option<&str>) -> Token {
        let expires = expires.map_or("null".to_owned(), |e| format!("\"{e}\""));
        serde_json::from_str(&format!(
            r#"{{"id":{id},"key":"k{id}","is_active":{active},"created":"{created}","expires":{expires}}}"#
        ))
        .unwrap()
    }

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    }

    #[test]
    fn a_max_age_under_a_day_is_worded_in_the_unit_that_is_true() {
        let mut census = Census::new(
            AuditedCollection::Tokens,
            at("2026-03-01T05:00:00Z"),
            Duration::ZERO,
        );
        census.count(&token(1, true, "2026-03-01T00:00:00Z", None), false);
        let report = census.report();
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert_eq!(
            report.findings[0].message,
            "permanent token 1 is 5 hours old, more than the 0 seconds allowed; replace it \
             with a new one, or with temporary tokens, and delete it"
        );
        assert_eq!(span(Duration::from_secs(60)), "1 minute");
        assert_eq!(span(Duration::from_secs(2 * 86_400 + 5)), "2 days");
    }

    #[test]
    fn an_account_within_the_advice_has_no_findings() {
        let mut census = Census::new(
            AuditedCollection::Tokens,
            at("2026-03-01T00:00:00Z"),
            DEFAULT_MAX_AGE,
        );
        census.count(
            &token(
                2,
                true,
                "2026-02-28T12:00:00Z",
                Some("2026-03-01T12:00:00Z"),
            ),
            false,
        );
        census.count(&token(1, true, "2026-01-01T00:00:00Z", None), false);
        let report = census.report();
        assert_eq!(
            (
                report.permanent,
                report.temporary,
                report.inactive,
                report.expired
            ),
            (1, 1, 0, 0)
        );
        assert_eq!(report.permanent_tokens[0].age_days, 59);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn each_finding_is_reported_in_code_order() {
        let mut census = Census::new(
            AuditedCollection::StreamTokens,
            at("2026-06-01T00:00:00Z"),
            DEFAULT_MAX_AGE,
        );
        for id in 1..=4 {
            census.count(&token(id, id != 3, "2026-01-01T00:00:00Z", None), id == 4);
        }
        census.count(
            &token(
                9,
                true,
                "2026-05-01T00:00:00Z",
                Some("2026-05-02T00:00:00Z"),
            ),
            false,
        );
        let report = census.report();
        let codes: Vec<(&str, Option<u64>)> = report
            .findings
            .iter()
            .map(|f| (f.code.as_str(), f.token_id))
            .collect();
        assert_eq!(
            codes,
            [
                ("permanent-in-use", Some(4)),
                ("permanent-limit", None),
                ("permanent-old", Some(1)),
                ("permanent-old", Some(2)),
                ("permanent-old", Some(3)),
                ("permanent-old", Some(4)),
                ("inactive", Some(3)),
                ("expired", Some(9)),
            ]
        );
        assert_eq!(
            report.findings[1].message,
            "4 of the 5 permanent stream tokens allowed are used; delete those no longer \
             needed, and use temporary tokens instead"
        );
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.collection == AuditedCollection::StreamTokens)
        );
    }

    #[cfg(feature = "fake")]
    #[test]
    fn a_list_longer_than_the_bound_ends_the_audit() {
        let fake = crate::fake::FakeIam::start().unwrap();
        fake.add_temporary_tokens(&fake.root_token(), 250).unwrap();
        let client = fake.client_builder().build().unwrap();
        fake.clear_requests();

        let err = client
            .tokens()
            .audit_within(&AuditPolicy::new(), 200)
            .unwrap_err();

        assert!(
            err.to_string().starts_with(
                "unexpected response from the API (HTTP 200): tokens.list: the list \
                              goes on past 200 items, the most one walk yields"
            ),
            "{err}"
        );
        assert_eq!(fake.requests().len(), 3, "no page past the bound");
    }

    #[test]
    fn a_token_from_the_future_is_of_age_zero() {
        let mut census = Census::new(
            AuditedCollection::Tokens,
            at("2026-01-01T00:00:00Z"),
            Duration::ZERO,
        );
        census.count(&token(1, true, "2027-01-01T00:00:00Z", None), false);
        let report = census.report();
        assert_eq!(report.permanent_tokens[0].age_days, 0);
        assert!(report.findings.is_empty());
    }
}

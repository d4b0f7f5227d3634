//! `neuroio tokens audit`: how the account's tokens and stream tokens stand
//! against the API's advice. The analysis is the library's
//! ([`neuroio::Tokens::audit`]); this prints it and picks the exit code.

use std::time::Duration;

use neuroio::{AuditPolicy, AuditReport};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::context::Api;
use crate::failure::Failure;
use crate::output::{Table, rfc3339};

/// The exit code of `--fail` when there is a finding.
const FINDINGS_EXIT_CODE: u8 = 5;

pub fn audit(
    api: &Api,
    max_age_days: u32,
    at: Option<OffsetDateTime>,
    fail: bool,
) -> Result<(), Failure> {
    let mut policy =
        AuditPolicy::new().max_age(Duration::from_secs(u64::from(max_age_days) * 86_400));
    if let Some(at) = at {
        policy = policy.at(at);
    }
    let reports = [
        api.client.tokens().audit(&policy)?,
        api.client.stream_tokens().audit(&policy)?,
    ];
    let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
    let mut tables: Vec<Table> = vec![
        (
            &[
                "COLLECTION",
                "PERMANENT",
                "TEMPORARY",
                "INACTIVE",
                "EXPIRED",
            ],
            reports.iter().map(summary_row).collect(),
        ),
        (
            &[
                "COLLECTION",
                "PERMANENT_ID",
                "ACTIVE",
                "CREATED",
                "AGE_DAYS",
            ],
            reports.iter().flat_map(permanent_rows).collect(),
        ),
    ];
    // A person is told in words that nothing was found, rather than shown
    // an empty table.
    tables.push(if findings == 0 {
        (&["no findings"], Vec::new())
    } else {
        (
            &["FINDING", "COLLECTION", "TOKEN_ID", "MESSAGE"],
            reports.iter().flat_map(finding_rows).collect(),
        )
    });
    api.out.record(&as_json(&reports)?, &tables)?;
    if fail && findings > 0 {
        return Err(Failure {
            code: FINDINGS_EXIT_CODE,
            message: format!(
                "the audit found {findings} finding{}",
                if findings == 1 { "" } else { "s" }
            ),
        });
    }
    Ok(())
}

/// `{"collections": [...], "findings": [...]}`: each collection's counts
/// and permanent tokens, and every finding with its collection.
fn as_json(reports: &[AuditReport]) -> Result<Value, Failure> {
    let failed =
        |e: serde_json::Error| Failure::failed(format!("cannot write the audit as JSON: {e}"));
    let mut collections = Vec::new();
    let mut findings = Vec::new();
    for report in reports {
        let mut value = serde_json::to_value(report).map_err(failed)?;
        if let Some(object) = value.as_object_mut()
            && let Some(Value::Array(found)) = object.remove("findings")
        {
            findings.extend(found);
        }
        collections.push(value);
    }
    Ok(json!({"collections": collections, "findings": findings}))
}

fn summary_row(report: &AuditReport) -> Vec<String> {
    vec![
        report.collection.as_str().to_owned(),
        format!("{} of {}", report.permanent, report.permanent_limit),
        report.temporary.to_string(),
        report.inactive.to_string(),
        report.expired.to_string(),
    ]
}

fn permanent_rows(report: &AuditReport) -> Vec<Vec<String>> {
    report
        .permanent_tokens
        .iter()
        .map(|token| {
            vec![
                report.collection.as_str().to_owned(),
                token.id.to_string(),
                token.is_active.to_string(),
                rfc3339(token.created),
                token.age_days.to_string(),
            ]
        })
        .collect()
}

fn finding_rows(report: &AuditReport) -> Vec<Vec<String>> {
    report
        .findings
        .iter()
        .map(|finding| {
            vec![
                finding.code.as_str().to_owned(),
                finding.collection.as_str().to_owned(),
                finding
                    .token_id
                    .map_or_else(|| "-".to_owned(), |id| id.to_string()),
                finding.message.clone(),
            ]
        })
        .collect()
}

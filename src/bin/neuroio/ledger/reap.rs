//! The reap: deletes the tokens of the ledger whose owner is gone, with
//! the token in use, and says what it kept.

use std::io::Write;

use serde::Serialize;

use super::{Entry, Ledger, Scope, shown};
use crate::failure::Failure;

/// What a reap did: the tokens deleted (or found gone), and how many
/// entries the ledger keeps.
#[derive(Debug, Serialize)]
pub struct Reaped {
    pub reaped: Vec<u64>,
    pub kept: usize,
}

/// How long one reap may take, all its requests together: it runs before
/// `exec` starts a job, which must not wait on a server that hangs.
const REAP_BUDGET: std::time::Duration = std::time::Duration::from_secs(15);

/// Deletes, with `client` (the token in use), the ledger's tokens whose
/// owner is gone and that were minted at the client's IAM URL with the
/// token of the same profile (`profile`; `None` for a token from the
/// environment or a file).
///
/// - An entry past its token's expiry is dropped without a request.
/// - An entry whose expiry is unknown is looked up first: a permanent
///   token is never deleted (the tool mints none), only kept and said.
/// - A token the API does not find (404) counts as reaped when the token
///   in use has the scope the entry records (asked once, with `who am I`):
///   it is gone. Of another scope, or of an unknown one, it may be a token
///   the token in use cannot see, and its entry stays until the token's
///   expiry.
/// - The tokens of a space, when the token in use is an account's, are
///   deleted with a temporary token of that space, made for the purpose
///   (recorded in the ledger too), and deleted last.
/// - Entries of another host or profile, of a live owner, or whose delete
///   failed stay, and are counted in `kept`; each failure is said on
///   standard error. Past [`REAP_BUDGET`] the rest wait for the next reap.
/// - The job folders of owners that are gone are removed first.
///
/// The lock is not held during the requests.
pub fn reap(
    ledger: &Ledger,
    client: &neuroio::Client,
    profile: Option<&str>,
) -> Result<Reaped, Failure> {
    ledger.sweep_job_folders();
    let host = client.iam_url().to_owned();
    let now = time::OffsetDateTime::now_utc();
    let expired = |e: &Entry| e.expires.is_some_and(|at| at <= now);
    let orphans: Vec<Entry> = ledger
        .entries()?
        .into_iter()
        .filter(|e| {
            !expired(e) && e.host == host && e.profile.as_deref() == profile && !e.owner.alive()
        })
        .collect();
    let mut reaper = Reaper {
        ledger,
        client,
        profile,
        started: std::time::Instant::now(),
        scope: None,
        reaped: Vec::with_capacity(orphans.len()),
    };
    // The tokens of each space, when only a token of the space sees them.
    // (Each with whether its expiry is unknown, to look it up first.)
    let mut in_spaces: std::collections::BTreeMap<u64, Vec<(u64, bool)>> = Default::default();
    for entry in orphans {
        if let Some(Scope::Space(space)) = entry.scope
            && matches!(reaper.scope(), Some(Scope::Account(_)))
        {
            in_spaces
                .entry(space)
                .or_default()
                .push((entry.id, entry.expires.is_none()));
            continue;
        }
        let if_missing = IfMissing::GoneInScope(entry.scope);
        reaper.delete(client, entry.id, entry.expires.is_none(), if_missing);
    }
    for (space, ids) in in_spaces {
        reaper.in_space(space, &ids);
    }
    let reaped = reaper.reaped;
    let kept = ledger.update(|entries| {
        let done = |e: &Entry| e.host == host && reaped.contains(&e.id);
        entries.retain(|e| !(expired(e) || done(e)));
        entries.len()
    })?;
    Ok(Reaped { reaped, kept })
}

/// What a 404 for a ledger's token means.
enum IfMissing {
    /// It is gone: asked with a token of its space.
    Gone,
    /// It is gone if the token in use has this scope; of another or an
    /// unknown scope, it may be one the token in use cannot see.
    GoneInScope(Option<Scope>),
}

/// One reap's state: the token in use, its scope (asked when first
/// needed), and what it deleted so far.
struct Reaper<'a> {
    ledger: &'a Ledger,
    client: &'a neuroio::Client,
    profile: Option<&'a str>,
    started: std::time::Instant,
    /// `None` until asked; then the scope, or `None` if the API did not say.
    scope: Option<Option<Scope>>,
    reaped: Vec<u64>,
}

impl Reaper<'_> {
    /// The scope of the token in use, asked of the API once, within what
    /// is left of the reap's time.
    fn scope(&mut self) -> Option<&Scope> {
        let (client, left) = (
            self.client,
            REAP_BUDGET.saturating_sub(self.started.elapsed()),
        );
        self.scope
            .get_or_insert_with(|| Scope::of_client(client, left, None))
            .as_ref()
    }

    /// Says on standard error why token `id` stays in the ledger.
    fn warn(&self, id: u64, why: &str) {
        let _ = writeln!(
            std::io::stderr(),
            "warning: token {id} of the ledger {} {why}; it is kept for the next reap",
            shown(&self.ledger.path())
        );
    }

    /// Whether the reap's time is up; says so for token `id` if it is.
    fn out_of_time(&self, id: u64) -> bool {
        let over = self.started.elapsed() > REAP_BUDGET;
        if over {
            self.warn(id, "was not reached: the reap ran out of time");
        }
        over
    }

    /// Deletes token `id` with `with`, after looking it up when its expiry
    /// is unknown (`look_up`); a 404 counts as reaped as `if_missing` says.
    fn delete(&mut self, with: &neuroio::Client, id: u64, look_up: bool, if_missing: IfMissing) {
        if self.out_of_time(id) {
            return;
        }
        let tokens = with.tokens();
        let missing = |me: &mut Self| {
            let gone = match &if_missing {
                IfMissing::Gone => true,
                IfMissing::GoneInScope(scope) => scope.is_some() && scope.as_ref() == me.scope(),
            };
            if gone {
                me.reaped.push(id);
            }
        };
        if look_up {
            match tokens.get(neuroio::TokenRef::from(id)) {
                Ok(token) if token.is_permanent() => {
                    return self.warn(id, "is a permanent token, which this tool never mints");
                }
                Ok(_) => {}
                Err(err) if err.is_not_found() => return missing(self),
                Err(err) => {
                    let why = format!("could not be looked up ({})", Failure::from(err).message);
                    return self.warn(id, &why);
                }
            }
        }
        match tokens.delete(neuroio::TokenRef::from(id)) {
            Ok(()) => self.reaped.push(id),
            Err(err) if err.is_not_found() => missing(self),
            Err(err) => {
                let why = format!("could not be deleted ({})", Failure::from(err).message);
                self.warn(id, &why);
            }
        }
    }

    /// Deletes the tokens `ids` of `space` (each with whether to look it
    /// up first) with a temporary token of that
    /// space, made with the account token in use, recorded in the ledger
    /// while it lives, and deleted with itself at the end.
    fn in_space(&mut self, space: u64, ids: &[(u64, bool)]) {
        let Some(&(first, _)) = ids.first() else {
            return;
        };
        if self.out_of_time(first) {
            return;
        }
        let helper = match self.client.spaces().create_token(space, false) {
            Ok(token) => token,
            Err(err) => {
                let why = format!(
                    "is a token of space {space}, and no token of that space to delete it with \
                     could be made ({})",
                    Failure::from(err).message
                );
                return ids.iter().for_each(|(id, _)| self.warn(*id, &why));
            }
        };
        let host = self.client.iam_url().to_owned();
        let recorded = self.ledger.record(Entry::mine(
            helper.id,
            &host,
            self.profile,
            "reap",
            helper.expires,
            Some(Scope::Space(space)),
        ));
        let own = self.client.with_api_token(&helper.key);
        match (&recorded, &own) {
            (Ok(()), Ok(own)) => {
                for &(id, look_up) in ids {
                    self.delete(own, id, look_up, IfMissing::Gone);
                }
            }
            _ => {
                let why = match (recorded.as_ref().err(), own.as_ref().err()) {
                    (Some(failure), _) => failure.message.clone(),
                    (None, Some(err)) => err.to_string(),
                    (None, None) => String::new(),
                };
                let why = format!("is a token of space {space}, not deleted: {why}");
                ids.iter().for_each(|(id, _)| self.warn(*id, &why));
            }
        }
        let deleted = own.and_then(|own| own.tokens().delete(neuroio::TokenRef::from(helper.id)));
        match deleted {
            Ok(()) if recorded.is_ok() => {
                if let Err(failure) = self.ledger.forget(&host, &[helper.id]) {
                    self.warn(helper.id, &failure.message);
                }
            }
            Ok(()) => {}
            Err(err) => {
                let why = format!(
                    "was made to reap space {space} and could not be deleted ({})",
                    Failure::from(err).message
                );
                if recorded.is_ok() {
                    self.warn(helper.id, &why);
                } else {
                    let _ = writeln!(
                        std::io::stderr(),
                        "warning: token {} {why}; it expires on its own within 24 hours",
                        helper.id
                    );
                }
            }
        }
    }
}

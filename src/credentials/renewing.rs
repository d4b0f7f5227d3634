//! A credential that renews its own temporary token.
//!
//! The parent credential (typically a permanent token) mints: the first
//! call mints a temporary working token, every call is sent with it, and
//! before it runs out a successor is minted (with the working token), every
//! thread switches to it, and the predecessor is deleted. Time is measured
//! with this process's monotonic clock from before each mint was sent, so
//! clock skew between machines does not matter and the server never sees an
//! expired working token.
//!
//! Renewal is single-flight and backed off: one mint at a time per client
//! and its clones, whose outcome every thread waiting for it shares; after a
//! failed mint, the next waits for [`mint_backoff`]. Mints and deletes are
//! requests of their own on the transport.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ureq::http::Method;

use crate::credentials::Credential;
use crate::credentials::file::TokenFile;
use crate::error::{Error, RenewalError};
use crate::model::Token;
use crate::transport::request::{AuthHeader, Repeat, Request, Segment};
use crate::transport::retry::mint_backoff;
use crate::transport::{Host, Settings, Transport};

/// How long before the working token's end the client stops using it, even
/// when a renewal failed: a margin for the request in flight.
const MAX_SAFETY_MARGIN: Duration = Duration::from_secs(30);

/// The shortest lifetime a minted token may have to be used: the client's
/// timeout, but at most this. A token that could run out during one
/// request is as good as expired, and counts as a failed mint.
const MAX_MIN_LIFETIME: Duration = Duration::from_secs(1);

/// How long a working token must have been in use (since its mint landed)
/// before a 401 for it is taken as a revocation and answered with a
/// replacement at once: a quarter of its lifetime, but at most this. A
/// token refused sooner, after it worked, is replaced at once too (an
/// admin deleting tokens just after it was minted), but only once in a
/// row: when its replacement is refused as soon, that counts as a failed
/// mint, so a server that refuses each token soon after accepting it meets
/// the backoff, not a mint per call. A quarter, so a token always lasts
/// well before it is renewed (at half its lifetime at the earliest).
const MAX_PROOF_PERIOD: Duration = Duration::from_secs(30);

/// How long a replaced token is kept when its keeping time is past what
/// the clock can count (it is deleted at `close`).
const MAX_KEEP_FALLBACK: Duration = Duration::from_secs(24 * 60 * 60);

/// The most superseded tokens kept for another delete; older ones are
/// forgotten (they expire on their own).
const MAX_RETIRED: usize = 64;

/// The most deletes the thread that minted sends while tidying up, so its
/// call stays short; any other call sends at most one.
const MAX_DELETES_PER_REAP: usize = 2;

/// The longest one tidying delete may take on a call's path (the client's
/// timeout when shorter): a call pays at most this per delete it sends.
const MAX_TIDY_TIMEOUT: Duration = Duration::from_secs(1);

/// Where the parent's key comes from: given once, or a token file that
/// another program rotates, read again when it changes (and after the
/// parent is refused), so that a long-lived client mints with the key the
/// file holds now.
pub(crate) enum Parent {
    Fixed(Arc<Credential>),
    File(TokenFile),
}

impl Parent {
    /// The parent's key now.
    fn current(&self) -> Arc<Credential> {
        match self {
            Parent::Fixed(credential) => Arc::clone(credential),
            Parent::File(file) => file.current(),
        }
    }

    /// After `refused` was refused: a file is read again at once, so that
    /// the next mint uses the key it holds now.
    fn refused(&self, refused: &Credential) {
        if let Parent::File(file) = self {
            let _ = file.after_refusal(refused);
        }
    }
}

/// Whose key a mint or delete is sent with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Parent,
    Working,
}

/// The header for a request sent with `with`, blanking both its key and
/// the parent's out of the answer.
fn auth<'a>(with: &'a Credential, parent: &'a Credential) -> AuthHeader<'a> {
    AuthHeader {
        header: &with.header,
        keys: [with.key.secret(), parent.key.secret()],
    }
}

/// The renewing state of one client and its clones.
pub(crate) struct Renewer {
    parent: Parent,
    /// The space whose tokens the working tokens are, minted by the parent
    /// (an account token) as `Spaces::create_token` does; `None`: tokens
    /// of the parent's own account or space. The parent cannot delete a
    /// space's token (it does not see it): those are deleted with a token
    /// of the space, their own key or the current working token.
    space: Option<u64>,
    renew_before: Duration,
    /// How long a working token that was replaced is kept before it is
    /// deleted: others may still hold its key (a token file's readers).
    keep_replaced: Duration,
    state: Mutex<State>,
    /// Signalled when a mint flight ends, and when tidying ends.
    landed: Condvar,
}

struct State {
    current: Option<Arc<Working>>,
    /// A mint is in flight: one per client and its clones.
    minting: bool,
    /// How many flights have ended, so a waiter knows its flight landed.
    flights: u64,
    /// Failed mints in a row (a minted token a host refused counts, and
    /// so does one refused before it lasted, whatever calls it served,
    /// unless it was the first such in a row).
    failures: u32,
    /// Working tokens in a row refused soon after they worked (before they
    /// lasted): the first is replaced at once, the next is a failed mint.
    /// Back to zero when a token lasts.
    early_refusals: u32,
    /// The host that last refused a token before any call to it had
    /// succeeded with that token: until a token proves itself there, the
    /// failures in a row do not end (another host accepting tokens says
    /// nothing about this one).
    refused_on: Option<Host>,
    /// No mint starts before this.
    next_mint: Option<Instant>,
    /// Why the last mint failed, for the calls it leaves without a token.
    last_failure: Option<Failure>,
    /// Superseded or unusable tokens still to delete.
    retired: Vec<Retired>,
    /// Whether `retired` may hold a token not yet tried and no longer used.
    reap_due: bool,
    /// Tidying runs in progress, each holding entries taken out of
    /// `retired`: `close` waits for them.
    tidying: usize,
    closed: bool,
    /// `close` has taken `retired` and the working token to delete them: a
    /// token that lands later is deleted by whoever holds it.
    drained: bool,
}

#[derive(Clone)]
struct Failure {
    reason: String,
    status: Option<u16>,
    outcome_unknown: bool,
}

struct Retired {
    id: u64,
    /// The token, while calls may hold it; `None` for a token never used.
    held: Option<Arc<Working>>,
    /// A delete was tried and failed: try again at the next renewal.
    tried: bool,
    /// It never worked (or was refused): delete it with the parent.
    unusable: bool,
    /// Not deleted before this (a replaced token others may still hold).
    not_before: Option<Instant>,
}

/// A working token: its credential and when to renew and stop using it.
pub(crate) struct Working {
    pub(crate) id: u64,
    pub(crate) credential: Credential,
    /// The token as the server minted it (its key is `credential`'s).
    pub(crate) minted: Token,
    /// When to mint a successor; `None`: never (a permanent token, or a
    /// lifetime beyond what the clock can count).
    renew_at: Option<Instant>,
    /// After this the token must not be sent: it may have expired.
    usable_until: Option<Instant>,
    /// A call sent with it to the IAM host, and to the API host, was
    /// answered with something other than 401.
    proven_on: [AtomicBool; 2],
    /// From then on a 401 for it, on a host where it worked, is taken as a
    /// revocation and answered with a replacement at once; before, as a
    /// failed mint. `None`: beyond what the clock can count (never).
    lasts_at: Option<Instant>,
    /// The failed mints in a row when it landed: if it is refused before
    /// it lasted, the count goes on from there, although a call it served
    /// ended the failures in the meantime.
    failures_before: u32,
}

fn host_index(host: Host) -> usize {
    match host {
        Host::Iam => 0,
        Host::Api => 1,
    }
}

fn host_name(host: Host) -> &'static str {
    match host {
        Host::Iam => "IAM",
        Host::Api => "API",
    }
}

impl Working {
    /// A minted token, checked: it must be active, have a key that can be
    /// sent, and time left by this process's clock.
    fn from_token(
        token: Token,
        sent_at: Instant,
        renew_before: Duration,
        min_lifetime: Duration,
    ) -> Result<Self, String> {
        let credential = Credential::new(token.key.clone())
            .map_err(|err| format!("its key cannot be sent ({err})"))?;
        let minted = token.clone();
        if !token.is_active {
            return Err("it is not active".to_owned());
        }
        // The server's lifetime, measured on our clock from before the mint
        // was sent: the token cannot end earlier than that.
        let lifetime = match token.expires {
            None => None,
            Some(expires) if expires <= token.created => {
                return Err("it expires as soon as it is created".to_owned());
            }
            // Positive, so only a lifetime past what `Duration` holds fails.
            Some(expires) => {
                Some(Duration::try_from(expires - token.created).unwrap_or(Duration::MAX))
            }
        };
        if let Some(lifetime) = lifetime
            && lifetime < min_lifetime
        {
            return Err(format!(
                "it lives {lifetime:?}, less than one request may take ({min_lifetime:?})"
            ));
        }
        let (renew_at, usable_until) = match lifetime {
            // A permanent working token (a server that ignored the request)
            // never needs renewing.
            None => (None, None),
            Some(lifetime) => {
                let margin = (lifetime / 20).min(MAX_SAFETY_MARGIN);
                let before = renew_before.clamp(margin, lifetime / 2);
                (
                    sent_at.checked_add(lifetime.saturating_sub(before)),
                    sent_at.checked_add(lifetime.saturating_sub(margin)),
                )
            }
        };
        let now = Instant::now();
        let proof = lifetime.map_or(MAX_PROOF_PERIOD, |lifetime| {
            (lifetime / 4).min(MAX_PROOF_PERIOD)
        });
        let working = Working {
            id: token.id,
            credential,
            minted,
            renew_at,
            usable_until,
            proven_on: [AtomicBool::new(false), AtomicBool::new(false)],
            lasts_at: now.checked_add(proof),
            failures_before: 0,
        };
        if !working.usable(now) {
            return Err("it expired before it could be used".to_owned());
        }
        Ok(working)
    }

    /// Whether any call succeeded with it.
    fn proven(&self) -> bool {
        self.proven_on.iter().any(|p| p.load(Ordering::Acquire))
    }

    /// Whether a call to `host` succeeded with it.
    fn proven_on(&self, host: Host) -> bool {
        self.proven_on[host_index(host)].load(Ordering::Acquire)
    }

    /// Whether it has been in use long enough that a 401 for it means it
    /// was revoked, not that the server refuses what it mints.
    fn lasted(&self, now: Instant) -> bool {
        self.lasts_at.is_some_and(|at| now >= at)
    }

    fn usable(&self, now: Instant) -> bool {
        self.usable_until.is_none_or(|until| now < until)
    }

    fn fresh(&self, now: Instant) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }
}

/// Why one flight failed, and what the server asked.
struct Failed {
    failure: Failure,
    retry_after: Option<Duration>,
    /// A token minted but unusable whose delete failed: retired, so it is
    /// tried again at the next renewal and at `close`.
    undeleted: Option<u64>,
}

impl Failed {
    fn from_error(err: &Error) -> Failed {
        Failed {
            failure: Failure {
                reason: mint_reason(err),
                status: err.status(),
                outcome_unknown: err.is_outcome_unknown(),
            },
            retry_after: retry_after_of(err),
            undeleted: None,
        }
    }

    fn unusable(token: &Token, why: &str) -> Failed {
        Failed {
            failure: Failure {
                reason: format!("the server minted token {} but {why}", token.id),
                status: None,
                outcome_unknown: false,
            },
            retry_after: None,
            undeleted: None,
        }
    }
}

/// What a failed mint request says, without the operation: the renewal
/// error names it once (an open outcome is said there too).
fn mint_reason(err: &Error) -> String {
    let text = match err {
        Error::OutcomeUnknown { source, .. } => source.to_string(),
        err => err.to_string(),
    };
    match text.strip_prefix("renewing.mint: ") {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// The `Retry-After` an answer carried, also behind an open outcome.
fn retry_after_of(err: &Error) -> Option<Duration> {
    match err {
        Error::Api(api) => api.retry_after,
        Error::OutcomeUnknown { source, .. } => retry_after_of(source),
        _ => None,
    }
}

impl Renewer {
    pub(crate) fn new(
        parent: Parent,
        space: Option<u64>,
        renew_before: Duration,
        keep_replaced: Duration,
    ) -> Self {
        Renewer {
            parent,
            space,
            renew_before,
            keep_replaced,
            state: Mutex::new(State {
                current: None,
                minting: false,
                flights: 0,
                failures: 0,
                early_refusals: 0,
                refused_on: None,
                next_mint: None,
                last_failure: None,
                retired: Vec::new(),
                reap_due: false,
                tidying: 0,
                closed: false,
                drained: false,
            }),
            landed: Condvar::new(),
        }
    }

    /// The parent's key now (a token file's, read again when it changed).
    pub(crate) fn parent(&self) -> Arc<Credential> {
        self.parent.current()
    }

    /// The token file the parent's key comes from, if it comes from one.
    pub(crate) fn parent_file(&self) -> Option<&std::path::Path> {
        match &self.parent {
            Parent::File(file) => Some(file.path()),
            Parent::Fixed(_) => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked while holding the lock left nothing
        // half-done that matters here: every change is one assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The working token to send a call with, minting or renewing it first
    /// when due.
    ///
    /// Only one thread mints at a time. While it does, the others keep
    /// using the current token if it is still usable, and otherwise wait
    /// for that mint, at most the client's timeout, and share its outcome.
    /// After a failed mint, calls keep using a usable token; without one
    /// they fail at once until the backoff has passed.
    pub(crate) fn working(&self, transport: &Transport) -> crate::Result<Arc<Working>> {
        let mut state = self.lock();
        let now = Instant::now();
        if let Some(working) = &state.current
            && working.fresh(now)
            && !state.closed
        {
            let working = Arc::clone(working);
            // One call tidies at a time, with one short delete at most.
            let reap = state.reap_due && state.tidying == 0;
            drop(state);
            if reap {
                self.reap(transport, false, 1);
            }
            return Ok(working);
        }
        if state.closed {
            return Err(closed_error());
        }
        if !state.minting
            && let Some(stale) = state.current.take_if(|w| !w.usable(now) && !w.proven())
        {
            // Minted, and out of time before any call succeeded with it:
            // as good as a failed mint, so the next one waits.
            let reason = format!(
                "working token {} ran out of time before any call succeeded with it",
                stale.id
            );
            retire(&mut state, stale, true);
            fail(&mut state, reason, None, &transport.settings, now);
        }
        let usable = state.current.clone().filter(|w| w.usable(now));
        if state.minting {
            if let Some(working) = usable {
                return Ok(working); // another thread is renewing
            }
            let state = self.wait_for_flight(state, transport, now)?;
            let now = Instant::now();
            return match state.current.clone().filter(|w| w.usable(now)) {
                _ if state.closed => Err(closed_error()),
                Some(working) => Ok(working),
                None => Err(failure_error(&state, now)),
            };
        }
        if let Some(at) = state.next_mint
            && now < at
        {
            return match usable {
                Some(working) => Ok(working),
                None => Err(failure_error(&state, now)),
            };
        }
        state.minting = true;
        drop(state);
        let _grounded = Grounded(self);
        let outcome = self.fly(transport, usable.as_deref());
        self.land(transport, outcome, usable)
    }

    /// Waits until the flight in the air lands, within the client's
    /// timeout from `since`.
    fn wait_for_flight<'s>(
        &'s self,
        mut state: MutexGuard<'s, State>,
        transport: &Transport,
        since: Instant,
    ) -> crate::Result<MutexGuard<'s, State>> {
        let flight = state.flights;
        let limit = transport.settings.timeout;
        while state.minting && state.flights == flight {
            let left = limit.saturating_sub(since.elapsed());
            if left.is_zero() {
                return Err(RenewalError::new(
                    "renewing.wait",
                    format!(
                        "the mint in flight did not end within this call's timeout ({limit:?})"
                    ),
                )
                .into());
            }
            state = self
                .landed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(state)
    }

    /// One mint flight: with the usable working token (renewal), or the
    /// parent. A working token that may not mint (401, 403) hands over to
    /// the parent in the same flight; no other failure is repeated, since
    /// it may have minted a token already. A token minted but unusable is
    /// deleted with the parent.
    fn fly(&self, transport: &Transport, usable: Option<&Working>) -> Result<Working, Failed> {
        let parent = self.parent();
        let by_parent = || {
            let minted = self.mint(transport, &parent, By::Parent, &parent);
            if let Err(err) = &minted
                && matches!(err.status(), Some(401 | 403))
            {
                self.parent.refused(&parent);
            }
            minted
        };
        let minted = match usable {
            Some(working) => {
                match self.mint(transport, &working.credential, By::Working, &parent) {
                    Err(err) if matches!(err.status(), Some(401 | 403)) => {
                        log::debug!(
                            "renewing: working token {} may not mint ({err}); using the parent",
                            working.id
                        );
                        by_parent()
                    }
                    other => other,
                }
            }
            None => by_parent(),
        };
        let (token, sent_at) = minted.map_err(|err| Failed::from_error(&err))?;
        let id = token.id;
        let min_lifetime = transport.settings.timeout.min(MAX_MIN_LIFETIME);
        match Working::from_token(token.clone(), sent_at, self.renew_before, min_lifetime) {
            Ok(working) => {
                log::debug!("renewing: minted working token {id}");
                Ok(working)
            }
            Err(why) => {
                log::debug!("renewing: minted token {id} cannot be used ({why}); deleting it");
                let mut failed = Failed::unusable(&token, &why);
                let once = Some(transport.settings.timeout);
                // A space's token deletes itself (the parent cannot see it),
                // when its key can be sent at all.
                let own = self
                    .space
                    .and_then(|_| Credential::new(token.key.clone()).ok());
                let (with, by) = match &own {
                    Some(own) => (own, By::Working),
                    None => (&*parent, By::Parent),
                };
                if let Err(err) = self.delete(transport, with, by, &parent, id, once) {
                    log::debug!("renewing: could not delete unusable token {id}: {err}");
                    failed.undeleted = Some(id);
                }
                Err(failed)
            }
        }
    }

    /// Sends one mint request with `with` (`by` the parent or a working
    /// token; `parent`'s key is blanked out of the answer too):
    /// `POST /v1/tokens/`, never repeated.
    fn mint(
        &self,
        transport: &Transport,
        with: &Credential,
        by: By,
        parent: &Credential,
    ) -> crate::Result<(Token, Instant)> {
        let request = match self.space {
            // The parent mints a token of the space; a working token (of
            // the space already) mints one of its own space.
            Some(space) if by == By::Parent => Request::new(
                Method::POST,
                "renewing.mint",
                Host::Iam,
                "/v1/spaces/",
                Repeat::Never,
            )
            .segment(Segment::Id(space))
            .tail("tokens/"),
            _ => Request::new(
                Method::POST,
                "renewing.mint",
                Host::Iam,
                "/v1/tokens/",
                Repeat::Never,
            ),
        }
        .json(br#"{"permanent":false}"#);
        let sent_at = Instant::now();
        transport
            .call::<Token>(&request, Some(auth(with, parent)))
            .map(|token| (token, sent_at))
    }

    /// Deletes token `id` with `with`; a token already gone counts as
    /// deleted. With a `timeout`, one attempt within it (renewal's own
    /// deletes, so a call that tidies up stays short); without, as
    /// `Tokens::delete` retries.
    fn delete(
        &self,
        transport: &Transport,
        with: &Credential,
        by: By,
        parent: &Credential,
        id: u64,
        timeout: Option<Duration>,
    ) -> crate::Result<()> {
        let request = Request::new(
            Method::DELETE,
            "renewing.delete",
            Host::Iam,
            "/v1/tokens/",
            Repeat::SafeGoneIfMissing,
        )
        .segment(Segment::Id(id))
        .timeout(timeout);
        match transport.send(&request, Some(auth(with, parent))) {
            Ok(_) => Ok(()),
            // The parent does not see a space's tokens: its 404 says
            // nothing of whether the token is gone.
            Err(err) if err.is_not_found() && self.space.is_some() && by == By::Parent => Err(err),
            Err(err) if err.is_not_found() => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Records a flight's outcome, wakes the threads waiting for it, and
    /// answers the thread that flew.
    fn land(
        &self,
        transport: &Transport,
        outcome: Result<Working, Failed>,
        usable: Option<Arc<Working>>,
    ) -> crate::Result<Arc<Working>> {
        let mut state = self.lock();
        state.minting = false;
        state.flights = state.flights.wrapping_add(1);
        let now = Instant::now();
        let result = match outcome {
            Ok(fresh) if state.closed && !state.drained => {
                // Closed while this mint was in the air: `close` waits for
                // it and deletes the token with the others.
                retire_id(&mut state, fresh.id, true);
                drop(state);
                self.landed.notify_all();
                return Err(closed_error());
            }
            Ok(fresh) if state.closed => {
                // `close` gave up waiting (its deadline passed): delete it
                // here, best effort.
                drop(state);
                self.landed.notify_all();
                let once = Some(transport.settings.timeout);
                let parent = self.parent();
                let (with, by) = if self.space.is_some() {
                    (&fresh.credential, By::Working)
                } else {
                    (&*parent, By::Parent)
                };
                if let Err(err) = self.delete(transport, with, by, &parent, fresh.id, once) {
                    log::debug!("renewing: could not delete token {}: {err}", fresh.id);
                }
                return Err(closed_error());
            }
            Ok(mut fresh) => {
                fresh.failures_before = state.failures;
                let fresh = Arc::new(fresh);
                state.next_mint = None;
                if let Some(old) = state.current.replace(Arc::clone(&fresh)) {
                    // Renewed after it lasted: a later early refusal is
                    // the first in a row again.
                    if old.lasted(now) {
                        state.early_refusals = 0;
                    }
                    let not_before = now.checked_add(self.keep_replaced);
                    retire_entry(
                        &mut state,
                        Retired {
                            id: old.id,
                            held: Some(old),
                            tried: false,
                            unusable: false,
                            not_before: if self.keep_replaced.is_zero() {
                                None
                            } else {
                                // Beyond the clock: kept until close.
                                Some(not_before.unwrap_or(now + MAX_KEEP_FALLBACK))
                            },
                        },
                    );
                }
                log::debug!("renewing: now using working token {}", fresh.id);
                Ok(fresh)
            }
            Err(failed) => {
                let Failed {
                    failure,
                    retry_after,
                    undeleted,
                } = failed;
                if let Some(id) = undeleted {
                    if state.drained {
                        log::debug!("renewing: token {id} is left; it expires on its own");
                    } else {
                        retire_id(&mut state, id, true);
                    }
                }
                state.last_failure = Some(failure.clone());
                let wait = mint_backoff(
                    state.failures.saturating_add(1),
                    retry_after,
                    &transport.settings,
                );
                state.failures = state.failures.saturating_add(1);
                state.next_mint = now.checked_add(wait);
                log::debug!(
                    "renewing: mint failed ({}); the next in {wait:?}",
                    failure.reason
                );
                match usable.filter(|w| w.usable(now)) {
                    // The current token still has time: carry on with it.
                    Some(working) => Ok(working),
                    None => Err(failure_error(&state, now)),
                }
            }
        };
        drop(state);
        self.landed.notify_all();
        if result.is_ok() {
            self.reap(transport, true, MAX_DELETES_PER_REAP);
        }
        result
    }

    /// A call sent with `working` to `host` was answered with something
    /// other than 401: it works there. The first time, the failures in a
    /// row end, unless the last refusal came from the other host (a token
    /// must prove itself where it was refused), or the token is no longer
    /// the current one. If the token is refused before it has lasted, they
    /// go on from where they were (`refused`).
    pub(crate) fn confirm(&self, working: &Working, host: Host) {
        let proven = &working.proven_on[host_index(host)];
        if !proven.load(Ordering::Relaxed) && !proven.swap(true, Ordering::AcqRel) {
            let mut state = self.lock();
            // A token refused (or superseded) meanwhile ends nothing: its
            // refusal on another thread may have counted a failed mint.
            let current = state
                .current
                .as_deref()
                .is_some_and(|current| std::ptr::eq(current, working));
            if current && state.refused_on.is_none_or(|refused| refused == host) {
                state.failures = 0;
                state.last_failure = None;
                state.refused_on = None;
            }
        }
    }

    /// A call sent with `working` to `host` was answered 401. The token is
    /// not used again and is deleted with the parent. One that had worked
    /// on that host and lasted there (revoked since) may be replaced at
    /// once: returns whether to try; so may one refused before it lasted,
    /// if the token before it was not refused so too (tokens deleted by an
    /// admin just after this one was minted). One that never worked there
    /// is a failed mint, even if the other host accepts it, and so is the
    /// second token in a row refused before it lasted (a server that
    /// accepts each token once and then refuses it): the next mint waits
    /// for the backoff, which grows from the failures in a row when the
    /// token landed.
    pub(crate) fn refused(
        &self,
        transport: &Transport,
        working: &Arc<Working>,
        host: Host,
    ) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        let now = Instant::now();
        let is_current = state
            .current
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, working));
        if is_current {
            state.current = None;
            retire(&mut state, Arc::clone(working), true);
            let reason = if !working.proven_on(host) {
                Some(format!(
                    "the {} host refused working token {} (401) before any call to it \
                     succeeded with that token",
                    host_name(host),
                    working.id
                ))
            } else if !working.lasted(now) {
                state.early_refusals = state.early_refusals.saturating_add(1);
                // The first in a row is replaced at once, as a revocation.
                (state.early_refusals > 1).then(|| {
                    format!(
                        "the {} host refused working token {} (401) soon after accepting it, \
                         before it had been in use long enough to count as revoked, as it \
                         refused the working token before it",
                        host_name(host),
                        working.id
                    )
                })
            } else {
                state.early_refusals = 0;
                None
            };
            if let Some(reason) = reason {
                state.refused_on = Some(host);
                state.failures = state.failures.max(working.failures_before);
                fail(&mut state, reason, Some(401), &transport.settings, now);
                return false;
            }
        }
        // Replaced already, or replaceable now unless backing off.
        state.current.is_some() || state.minting || state.next_mint.is_none_or(|at| now >= at)
    }

    /// Deletes superseded tokens no call is using any more (calls in
    /// flight keep their token alive, so none is refused for a token
    /// deleted under it), at most `most` at a time, each within a short
    /// timeout. `retry` also tries again those whose delete failed before
    /// (at a renewal). `close` waits for a tidying run in progress.
    fn reap(&self, transport: &Transport, retry: bool, most: usize) {
        let (idle, with) = {
            let mut state = self.lock();
            if state.closed {
                return;
            }
            let mut idle = Vec::new();
            let mut kept = Vec::with_capacity(state.retired.len());
            let now = Instant::now();
            for entry in std::mem::take(&mut state.retired) {
                let kept_long_enough = entry.not_before.is_none_or(|at| now >= at);
                let due = (retry || !entry.tried) && kept_long_enough;
                let unused = entry
                    .held
                    .as_ref()
                    .is_none_or(|working| Arc::strong_count(working) == 1);
                if due && idle.len() < most && unused {
                    idle.push(entry);
                } else {
                    kept.push(entry);
                }
            }
            state.reap_due = kept.iter().any(|e| !e.tried);
            state.retired = kept;
            if idle.is_empty() {
                return;
            }
            state.tidying += 1;
            (idle, state.current.clone())
        };
        let _tidying = Tidying(self);
        let timeout = transport.settings.timeout.min(MAX_TIDY_TIMEOUT);
        let parent = self.parent();
        let mut failed = Vec::new();
        for mut entry in idle {
            // With the current working token when it can; with the parent
            // for a token that never worked or when there is no other.
            // A space's token: with a token of the space, its own key
            // first (the parent cannot see it).
            let (by, kind) = match (&with, entry.unusable, &entry.held) {
                (_, _, Some(held)) if self.space.is_some() => (&held.credential, By::Working),
                (Some(current), _, _) if self.space.is_some() => (&current.credential, By::Working),
                (Some(current), false, _) => (&current.credential, By::Working),
                _ => (&*parent, By::Parent),
            };
            let id = entry.id;
            match self.delete(transport, by, kind, &parent, id, Some(timeout)) {
                Ok(()) => log::debug!("renewing: deleted working token {id}"),
                Err(err) => {
                    log::debug!("renewing: could not delete working token {id}: {err}");
                    entry.tried = true;
                    // Only its id is needed now; no call holds it.
                    entry.held = None;
                    failed.push(entry);
                }
            }
        }
        let mut state = self.lock();
        for entry in failed {
            retire_entry(&mut state, entry);
        }
    }

    /// Deletes every token this client minted that is still live, with
    /// the parent; with a `deadline`, within it (one attempt each, nothing
    /// started after it). After this no mint starts. A mint in the air and
    /// a tidying run in progress are waited for first, so their tokens are
    /// deleted (or named) here too; past the deadline, a mint that lands
    /// later deletes its own token.
    pub(crate) fn close(
        &self,
        transport: &Transport,
        deadline: Option<Instant>,
    ) -> crate::Result<()> {
        let mut state = self.lock();
        state.closed = true;
        while state.minting || state.tidying > 0 {
            // Each is bounded by its own requests' timeouts; without a
            // deadline, wait for it to end.
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => transport.settings.timeout,
            };
            if left.is_zero() {
                break;
            }
            state = self
                .landed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.drained = true;
        let retired: Vec<u64> = state.retired.drain(..).map(|e| e.id).collect();
        let current = state.current.take();
        state.reap_due = false;
        drop(state);
        // The replaced tokens first, with the current working token where
        // there is one (a token of the same account or space: the parent
        // may have expired since, or belong elsewhere), then the current
        // one with its own key (a token may always delete itself); the
        // parent when the key in use is refused.
        let mut live: Vec<(u64, Option<&Credential>)> = retired
            .into_iter()
            .map(|id| (id, current.as_deref().map(|w| &w.credential)))
            .collect();
        live.extend(current.as_deref().map(|w| (w.id, Some(&w.credential))));
        let parent = self.parent();
        let mut not_deleted = Vec::new();
        let mut last_err = None;
        for (id, with) in live {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let result = match left {
                Some(time) if time.is_zero() => {
                    Err(Error::Transport(crate::TransportError::out_of_time(
                        "renewing.close",
                        transport.iam.host(),
                        &format!("{}/v1/tokens/{id}/", transport.iam.prefix),
                    )))
                }
                time => match with
                    .map(|with| self.delete(transport, with, By::Working, &parent, id, time))
                {
                    Some(Err(err)) if err.is_unauthorized() || err.status() == Some(403) => {
                        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                        self.delete(transport, &parent, By::Parent, &parent, id, left)
                    }
                    Some(done) => done,
                    None => self.delete(transport, &parent, By::Parent, &parent, id, time),
                },
            };
            match result {
                Ok(()) => log::debug!("renewing: deleted working token {id}"),
                Err(err) => {
                    log::debug!("renewing: could not delete working token {id}: {err}");
                    not_deleted.push(id);
                    last_err = Some(err);
                }
            }
        }
        match last_err {
            None => Ok(()),
            Some(err) => Err(RenewalError::not_deleted(not_deleted, err.to_string()).into()),
        }
    }

    /// The ids of the tokens minted and replaced (or found unusable) that
    /// are not deleted yet: in their grace, or whose delete failed.
    pub(crate) fn undeleted(&self) -> Vec<u64> {
        self.lock().retired.iter().map(|e| e.id).collect()
    }

    /// The working token calls are sent with now, minted or renewed first
    /// when due, as for a call: the token as the server minted it.
    pub(crate) fn working_token(&self, transport: &Transport) -> crate::Result<Token> {
        Ok(self.working(transport)?.minted.clone())
    }

    /// The current working token's key.
    pub(crate) fn working_key(&self) -> Option<crate::TokenKey> {
        self.lock()
            .current
            .as_ref()
            .map(|w| w.credential.key.clone())
    }

    /// Whether there is a token to delete.
    pub(crate) fn has_tokens(&self) -> bool {
        let state = self.lock();
        state.current.is_some() || !state.retired.is_empty() || state.minting || state.tidying > 0
    }
}

/// Ends the flight if the thread flying it panics, so the threads waiting
/// for it are woken and a later call may mint again.
struct Grounded<'r>(&'r Renewer);

impl Drop for Grounded<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.minting = false;
            state.flights = state.flights.wrapping_add(1);
            drop(state);
            self.0.landed.notify_all();
        }
    }
}

/// Ends a tidying run, even if the thread running it panics, and wakes a
/// `close` waiting for it.
struct Tidying<'r>(&'r Renewer);

impl Drop for Tidying<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.tidying = state.tidying.saturating_sub(1);
        drop(state);
        self.0.landed.notify_all();
    }
}

/// Counts a failed mint (one whose token proved unusable) and starts the
/// backoff before the next.
fn fail(state: &mut State, reason: String, status: Option<u16>, settings: &Settings, now: Instant) {
    state.failures = state.failures.saturating_add(1);
    let wait = mint_backoff(state.failures, None, settings);
    state.next_mint = now.checked_add(wait);
    log::debug!("renewing: {reason}; the next mint in {wait:?}");
    state.last_failure = Some(Failure {
        reason,
        status,
        outcome_unknown: false,
    });
}

/// Keeps a superseded or refused token for deleting once no call uses it.
fn retire(state: &mut State, working: Arc<Working>, unusable: bool) {
    retire_entry(
        state,
        Retired {
            id: working.id,
            held: Some(working),
            tried: false,
            unusable,
            not_before: None,
        },
    );
}

/// Keeps a token no call ever used for deleting with the parent (at the
/// next renewal, and at `close`).
fn retire_id(state: &mut State, id: u64, tried: bool) {
    retire_entry(
        state,
        Retired {
            id,
            held: None,
            tried,
            unusable: true,
            not_before: None,
        },
    );
}

fn retire_entry(state: &mut State, entry: Retired) {
    if !entry.tried {
        state.reap_due = true;
    }
    if state.retired.iter().any(|e| e.id == entry.id) {
        return;
    }
    if state.retired.len() >= MAX_RETIRED {
        let forgotten = state.retired.remove(0);
        log::debug!(
            "renewing: no longer trying to delete working token {}; it expires on its own",
            forgotten.id
        );
    }
    state.retired.push(entry);
}

/// The error for a call that finds no working token and no mint allowed.
fn failure_error(state: &State, now: Instant) -> Error {
    let retry_in = state
        .next_mint
        .map(|at| at.saturating_duration_since(now))
        .unwrap_or_default();
    let failure = state.last_failure.clone().unwrap_or(Failure {
        reason: "the last mint failed".to_owned(),
        status: None,
        outcome_unknown: false,
    });
    RenewalError::mint_failed(
        failure.reason,
        failure.status,
        failure.outcome_unknown,
        retry_in,
    )
    .into()
}

fn closed_error() -> Error {
    RenewalError::new(
        "renewing.closed",
        "the client was closed and mints no more; build a new client".to_owned(),
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(lifetime: Option<Duration>) -> Token {
        let created = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut json = serde_json::json!({
            "id": 7, "key": "abcdef", "is_active": true,
            "created": created.format(&time::format_description::well_known::Rfc3339).unwrap(),
            "expires": null,
        });
        if let Some(lifetime) = lifetime {
            json["expires"] = (created + lifetime)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
                .into();
        }
        serde_json::from_value(json).unwrap()
    }

    const DAY: Duration = Duration::from_secs(24 * 3600);
    const HOUR: Duration = Duration::from_secs(3600);
    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn renews_when_less_than_renew_before_is_left() {
        let sent = Instant::now();
        let w = Working::from_token(token(Some(DAY)), sent, HOUR, SEC).unwrap();
        assert_eq!(w.renew_at, Some(sent + DAY - HOUR));
        assert_eq!(w.usable_until, Some(sent + DAY - Duration::from_secs(30)));
        assert!(w.fresh(sent + DAY - HOUR - Duration::from_secs(1)));
        assert!(!w.fresh(sent + DAY - HOUR));
        assert!(w.usable(sent + DAY - HOUR));
        assert!(!w.usable(sent + DAY));
    }

    #[test]
    fn renew_before_is_clamped_to_a_sane_part_of_the_lifetime() {
        let sent = Instant::now();
        // Asking for more than half the lifetime renews at half of it.
        let w = Working::from_token(token(Some(DAY)), sent, 3 * DAY, SEC).unwrap();
        assert_eq!(w.renew_at, Some(sent + DAY / 2));
        // Asking for nothing still renews before the safety margin.
        let short = Duration::from_secs(2);
        let w = Working::from_token(token(Some(short)), sent, Duration::ZERO, SEC).unwrap();
        assert_eq!(w.renew_at, Some(sent + short - short / 20));
        assert_eq!(w.usable_until, w.renew_at);
    }

    #[test]
    fn a_token_lasts_after_a_quarter_of_its_lifetime_at_most_30_s() {
        for (lifetime, proof) in [
            (Some(4 * SEC), SEC),
            (Some(DAY), 30 * SEC),
            (None, 30 * SEC),
        ] {
            let before = Instant::now();
            let w = Working::from_token(token(lifetime), before, SEC, SEC).unwrap();
            let after = Instant::now();
            let at = w.lasts_at.unwrap();
            assert!(at >= before + proof && at <= after + proof, "{lifetime:?}");
            assert!(!w.lasted(at - Duration::from_millis(1)));
            assert!(w.lasted(at));
            // Always before the renewal is due (at half the lifetime at the
            // earliest).
            assert!(w.renew_at.is_none_or(|renew| at < renew), "{lifetime:?}");
        }
    }

    #[test]
    fn a_permanent_or_endless_working_token_is_never_renewed() {
        let sent = Instant::now();
        let w = Working::from_token(token(None), sent, HOUR, SEC).unwrap();
        assert_eq!((w.renew_at, w.usable_until), (None, None));
        assert!(w.fresh(sent + 100 * DAY) && w.usable(sent + 100 * DAY));
        let far = Working::from_token(token(Some(DAY * 365 * 5000)), sent, HOUR, SEC).unwrap();
        assert!(far.fresh(sent + DAY));
    }

    #[test]
    fn an_unusable_minted_token_is_an_error_not_a_panic() {
        let mut t = token(Some(DAY));
        t.key = crate::TokenKey::from("has space");
        let why = Working::from_token(t, Instant::now(), HOUR, SEC)
            .err()
            .unwrap();
        assert!(why.contains("key cannot be sent"), "{why}");
        assert!(!why.contains("has space"), "{why}");
        let zero = Working::from_token(token(Some(Duration::ZERO)), Instant::now(), HOUR, SEC);
        assert_eq!(zero.err().unwrap(), "it expires as soon as it is created");
        let mut inactive = token(Some(DAY));
        inactive.is_active = false;
        let why = Working::from_token(inactive, Instant::now(), HOUR, SEC)
            .err()
            .unwrap();
        assert_eq!(why, "it is not active");
        let past = Instant::now() - Duration::from_secs(10);
        let why = Working::from_token(token(Some(2 * SEC)), past, HOUR, SEC).err();
        assert_eq!(why.unwrap(), "it expired before it could be used");
        let brief = Working::from_token(token(Some(SEC / 2)), Instant::now(), HOUR, SEC).err();
        assert_eq!(
            brief.unwrap(),
            "it lives 500ms, less than one request may take (1s)"
        );
    }
}

//! A client that renews its own temporary token.
//!
//! The parent credential (typically a permanent token) only mints: the first
//! call mints a temporary working token, every call is sent with it, and
//! before it runs out a successor is minted, every thread switches to it, and
//! the predecessor is deleted. Time is measured with this process's monotonic
//! clock from before each mint was sent, so clock skew between machines does
//! not matter and the server never sees an expired working token.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, TryLockError};
use std::time::{Duration, Instant};

use ureq::http::HeaderValue;

use crate::client::{Client, Credential, Credentials, Inner};
use crate::model::Token;

/// How long before the working token's end the client stops using it, even
/// when a renewal failed: a margin for the request in flight.
const MAX_SAFETY_MARGIN: Duration = Duration::from_secs(30);

/// How long the best-effort deletion when the last clone is dropped may take.
const DROP_DELETE_TIMEOUT: Duration = Duration::from_secs(5);

/// The renewing state of one client and its clones.
pub(crate) struct Renewer {
    parent: Credential,
    renew_before: Duration,
    current: RwLock<Option<Arc<Working>>>,
    /// Held by the one thread minting a successor.
    minting: Mutex<()>,
    /// Superseded working tokens, deleted once no call is using them.
    retired: Mutex<Vec<Arc<Working>>>,
    has_retired: AtomicBool,
}

/// A working token: its credential and when to renew and stop using it.
pub(crate) struct Working {
    pub(crate) id: u64,
    pub(crate) credential: Credential,
    /// When to mint a successor; `None`: never (a permanent token, or a
    /// lifetime beyond what the clock can count).
    renew_at: Option<Instant>,
    /// After this the token must not be sent: it may have expired.
    usable_until: Option<Instant>,
}

impl Working {
    fn from_token(token: Token, sent_at: Instant, renew_before: Duration) -> crate::Result<Self> {
        let credential = crate::config::credential(token.key.clone())?;
        // The server's lifetime, measured on our clock from before the mint
        // was sent: the token cannot end earlier than that.
        let lifetime = token
            .expires
            .map(|expires| Duration::try_from(expires - token.created).unwrap_or(Duration::ZERO));
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
        Ok(Working {
            id: token.id,
            credential,
            renew_at,
            usable_until,
        })
    }

    fn usable(&self, now: Instant) -> bool {
        self.usable_until.is_none_or(|until| now < until)
    }

    fn fresh(&self, now: Instant) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }
}

impl Renewer {
    pub(crate) fn new(parent: Credential, renew_before: Duration) -> Self {
        Renewer {
            parent,
            renew_before,
            current: RwLock::new(None),
            minting: Mutex::new(()),
            retired: Mutex::new(Vec::new()),
            has_retired: AtomicBool::new(false),
        }
    }

    pub(crate) fn parent(&self) -> &Credential {
        &self.parent
    }

    fn current(&self) -> Option<Arc<Working>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, working: Option<Arc<Working>>) -> Option<Arc<Working>> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, working)
    }

    /// The working token to send a call with, renewing it first when due.
    ///
    /// Only one thread mints; the others keep using the current token while
    /// it is usable, and wait for the mint only when there is none.
    pub(crate) fn working(&self, inner: &Inner) -> crate::Result<Arc<Working>> {
        if self.has_retired.load(Ordering::Acquire) {
            self.reap(inner);
        }
        let now = Instant::now();
        let current = self.current();
        if let Some(working) = &current
            && working.fresh(now)
        {
            return Ok(Arc::clone(working));
        }
        let usable = current.filter(|w| w.usable(now));
        let guard = match self.minting.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => match &usable {
                // Another thread is renewing; this token still works.
                Some(working) => return Ok(Arc::clone(working)),
                None => lock(&self.minting),
            },
        };
        // Another thread may have renewed while this one waited.
        if let Some(fresh) = self.current()
            && fresh.fresh(Instant::now())
        {
            return Ok(fresh);
        }
        let result = self.renew(inner, usable.as_deref());
        drop(guard);
        match (result, usable) {
            (Ok(fresh), old) => {
                drop(old);
                self.reap(inner);
                Ok(fresh)
            }
            // Renewing took time: send the old token only if it is still
            // usable now, so the server never sees an expired one.
            (Err(err), Some(working)) if working.usable(Instant::now()) => {
                log::debug!(
                    "renewing: could not renew working token {} yet: {err}",
                    working.id
                );
                Ok(working)
            }
            (Err(err), _) => Err(err),
        }
    }

    /// Mints a successor (with the working token, or the parent if the
    /// working token may not), switches to it, and retires the predecessor.
    fn renew(&self, inner: &Inner, usable: Option<&Working>) -> crate::Result<Arc<Working>> {
        let fresh = match usable {
            Some(old) => match self.mint(inner, &old.credential) {
                Ok(fresh) => fresh,
                // The working token may not mint (refused, or not allowed):
                // the parent may. Any other failure may have minted a
                // token already, so it is not repeated; the next call tries
                // again while the current token lasts.
                Err(err) if matches!(err.status(), Some(401 | 403)) => {
                    log::debug!(
                        "renewing: working token {} may not mint ({err}); using the parent",
                        old.id
                    );
                    self.mint(inner, &self.parent)?
                }
                Err(err) => return Err(err),
            },
            None => self.mint(inner, &self.parent)?,
        };
        let fresh = Arc::new(fresh);
        let old = self.replace(Some(Arc::clone(&fresh)));
        log::debug!("renewing: now using working token {}", fresh.id);
        if let Some(old) = old {
            self.retire(old);
        }
        Ok(fresh)
    }

    /// Keeps a superseded working token until no call is using it.
    fn retire(&self, old: Arc<Working>) {
        lock(&self.retired).push(old);
        self.has_retired.store(true, Ordering::Release);
    }

    /// Deletes, with the current working token, every superseded token no
    /// call is using any more (calls in flight keep their token alive, so
    /// none is refused for a token deleted under it).
    fn reap(&self, inner: &Inner) {
        let idle: Vec<Arc<Working>> = {
            let Ok(mut retired) = self.retired.try_lock() else {
                return; // another thread is reaping
            };
            let (idle, busy) = std::mem::take(&mut *retired)
                .into_iter()
                .partition(|w| Arc::strong_count(w) == 1);
            *retired = busy;
            self.has_retired
                .store(!retired.is_empty(), Ordering::Release);
            idle
        };
        if idle.is_empty() {
            return;
        }
        // With the current working token; with none (closed meanwhile), a
        // superseded token deletes itself. Never with the parent.
        let current = self.current();
        for old in idle {
            let with = current.as_deref().unwrap_or(&old);
            delete(inner, &with.credential, old.id, None);
        }
    }

    /// After a 401 for working token `failed`: a new working token minted
    /// with the parent (unless another thread already replaced it). A 401
    /// for the parent is returned as it is.
    pub(crate) fn replace_rejected(&self, inner: &Inner, failed: u64) -> crate::Result<()> {
        let _guard = lock(&self.minting);
        if self.current().is_some_and(|w| w.id != failed) {
            return Ok(());
        }
        let fresh = Arc::new(self.mint(inner, &self.parent)?);
        log::debug!(
            "renewing: working token {failed} was refused (401); now using {}",
            fresh.id
        );
        if let Some(old) = self.replace(Some(Arc::clone(&fresh))) {
            self.retire(old);
        }
        Ok(())
    }

    fn mint(&self, inner: &Inner, with: &Credential) -> crate::Result<Working> {
        let sent_at = Instant::now();
        let token = fixed_client(inner, with).tokens().create(false)?;
        log::debug!("renewing: minted working token {}", token.id);
        Working::from_token(token, sent_at, self.renew_before)
    }

    /// Deletes the working token, if there is one, with itself, and every
    /// superseded one not deleted yet; with a `deadline`, within it (one
    /// attempt each, nothing started after it).
    pub(crate) fn close(&self, inner: &Inner, deadline: Option<Instant>) -> crate::Result<()> {
        let _guard = lock(&self.minting);
        let retired = std::mem::take(&mut *lock(&self.retired));
        self.has_retired.store(false, Ordering::Release);
        let working = self.replace(None);
        let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        for old in retired {
            let with = working.as_deref().unwrap_or(&old);
            match left() {
                Some(time) if time.is_zero() => break,
                time => delete(inner, &with.credential, old.id, time),
            }
        }
        let Some(working) = working else {
            return Ok(());
        };
        let result = match left() {
            Some(time) if time.is_zero() => {
                Err(crate::Error::Transport(crate::TransportError::out_of_time(
                    "renewing.close",
                    inner.iam.host(),
                    &format!("{}/v1/tokens/{}/", inner.iam.prefix, working.id),
                )))
            }
            time => fixed_client(inner, &working.credential)
                .tokens()
                .delete_within(working.id, time),
        };
        match &result {
            Ok(()) => log::debug!("renewing: deleted working token {}", working.id),
            Err(err) => log::debug!(
                "renewing: could not delete working token {}: {err}",
                working.id
            ),
        }
        result
    }

    /// The current working token's key, to blank out of answers.
    pub(crate) fn working_key(&self) -> Option<crate::TokenKey> {
        self.current().map(|w| w.credential.key.clone())
    }

    /// Whether there is a working token to delete.
    pub(crate) fn has_working(&self) -> bool {
        self.current().is_some() || !lock(&self.retired).is_empty()
    }
}

/// Locks a mutex; a thread that panicked while holding it left nothing
/// half-done that matters here.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A plain client for one credential, sharing the renewing client's agent.
fn fixed_client(inner: &Inner, credential: &Credential) -> Client {
    Client::from_inner(inner.sharing(Credentials::Fixed(credential.clone())))
}

/// Deletes a superseded working token, best effort: a failure is logged.
fn delete(inner: &Inner, with: &Credential, id: u64, timeout: Option<Duration>) {
    match fixed_client(inner, with)
        .tokens()
        .delete_within(id, timeout)
    {
        Ok(()) => log::debug!("renewing: deleted working token {id}"),
        Err(err) if err.is_not_found() => {}
        Err(err) => log::debug!("renewing: could not delete working token {id}: {err}"),
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Credentials::Renewing(renewer) = &self.credentials
            && renewer.has_working()
        {
            let _ = renewer.close(self, Instant::now().checked_add(DROP_DELETE_TIMEOUT));
        }
    }
}

/// The header to send and, for a working token, the token itself: holding
/// it for the length of the call keeps it from being deleted under the call.
pub(crate) struct Presented {
    pub(crate) header: HeaderValue,
    pub(crate) working: Option<Arc<Working>>,
}

impl Client {
    /// Ends a renewing client's work: deletes its working token, if it has
    /// minted one. Dropping the last clone does the same, best effort and
    /// giving up after 5 s; call `close` to see whether it worked. A
    /// later call would mint a new working token. On a client that does not
    /// renew, it does nothing.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::ClientBuilder::from_env()?
    ///     .renewing(std::time::Duration::from_secs(3600))
    ///     .build()?;
    /// client.tokens().list(None, 10, 0)?;
    /// client.close()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) -> crate::Result<()> {
        match self.credentials() {
            Credentials::Renewing(renewer) => renewer.close(self.inner(), None),
            Credentials::Anonymous | Credentials::Fixed(_) => Ok(()),
        }
    }

    /// The header for the next call: the fixed token, or the renewing
    /// client's working token (minting or renewing it when due).
    pub(crate) fn present(&self) -> crate::Result<Presented> {
        match self.credentials() {
            Credentials::Fixed(credential) => Ok(Presented {
                header: credential.header.clone(),
                working: None,
            }),
            Credentials::Renewing(renewer) => {
                let working = renewer.working(self.inner())?;
                Ok(Presented {
                    header: working.credential.header.clone(),
                    working: Some(working),
                })
            }
            Credentials::Anonymous => Err(crate::ConfigError::MissingApiToken.into()),
        }
    }

    /// After a 401 for working token `id`: mint a replacement from the
    /// parent so the call can be repeated once.
    pub(crate) fn replace_rejected(&self, id: u64) -> crate::Result<()> {
        match self.credentials() {
            Credentials::Renewing(renewer) => renewer.replace_rejected(self.inner(), id),
            Credentials::Anonymous | Credentials::Fixed(_) => Ok(()),
        }
    }
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

    #[test]
    fn renews_when_less_than_renew_before_is_left() {
        let sent = Instant::now();
        let w = Working::from_token(token(Some(DAY)), sent, HOUR).unwrap();
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
        let w = Working::from_token(token(Some(DAY)), sent, 3 * DAY).unwrap();
        assert_eq!(w.renew_at, Some(sent + DAY / 2));
        // Asking for nothing still renews before the safety margin.
        let short = Duration::from_secs(2);
        let w = Working::from_token(token(Some(short)), sent, Duration::ZERO).unwrap();
        assert_eq!(w.renew_at, Some(sent + short - short / 20));
        assert_eq!(w.usable_until, w.renew_at);
    }

    #[test]
    fn a_permanent_or_endless_working_token_is_never_renewed() {
        let sent = Instant::now();
        let w = Working::from_token(token(None), sent, HOUR).unwrap();
        assert_eq!((w.renew_at, w.usable_until), (None, None));
        assert!(w.fresh(sent + 100 * DAY) && w.usable(sent + 100 * DAY));
        let far = Working::from_token(token(Some(DAY * 365 * 5000)), sent, HOUR).unwrap();
        assert!(far.fresh(sent + DAY));
    }

    #[test]
    fn a_working_token_with_an_unusable_key_is_an_error_not_a_panic() {
        let mut t = token(Some(DAY));
        t.key = crate::TokenKey::from("has space");
        assert!(Working::from_token(t, Instant::now(), HOUR).is_err());
    }
}

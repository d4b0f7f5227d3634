//! Credentials: what a client sends its calls with (a fixed token, the key
//! of a token file another program rotates, or a working token minted and
//! renewed with a parent). This layer tells the
//! request path which header to send, what to do after a 401, which keys to
//! scrub, and how to close; it mints and deletes through the transport with
//! requests of its own.

use std::sync::Arc;
use std::time::Instant;

use crate::error::{ConfigError, Error};
use crate::transport::request::{Answer, AuthHeader};
use crate::transport::{Host, Transport};

pub(crate) mod file;
pub(crate) mod fixed;
pub(crate) mod profile;
pub(crate) mod renewing;

use file::TokenFile;
pub(crate) use fixed::Credential;
pub(crate) use renewing::Parent;
use renewing::{Renewer, Working};

/// What a client sends its calls with.
pub(crate) enum Credentials {
    /// Nothing: only for the client that logs in.
    Anonymous,
    /// One API token.
    Fixed(Credential),
    /// The key in a token file, read again when the file changes.
    File(TokenFile),
    /// A working token minted and renewed with a parent token.
    Renewing(Renewer),
}

/// The credential one call is sent with. A working token is held for the
/// length of the call, which keeps it from being deleted under the call.
pub(crate) enum Presented<'c> {
    Fixed(&'c Credential),
    /// A token file's key; after a 401, also the key refused, still
    /// blanked out of the repeat's answer.
    File {
        credential: Arc<Credential>,
        refused: Option<Arc<Credential>>,
    },
    Working {
        working: Arc<Working>,
        /// The parent's key when the call was sent (a token file's may
        /// change meanwhile), blanked out of the answer too.
        parent: Arc<Credential>,
    },
}

impl Presented<'_> {
    /// The header to send, and the keys to blank out of the answer.
    pub(crate) fn auth(&self) -> AuthHeader<'_> {
        match self {
            Presented::Fixed(credential) => AuthHeader {
                header: &credential.header,
                keys: [credential.key.secret(), ""],
            },
            Presented::File {
                credential,
                refused,
            } => AuthHeader {
                header: &credential.header,
                keys: [
                    credential.key.secret(),
                    refused.as_ref().map_or("", |r| r.key.secret()),
                ],
            },
            Presented::Working { working, parent } => AuthHeader {
                header: &working.credential.header,
                keys: [working.credential.key.secret(), parent.key.secret()],
            },
        }
    }
}

impl Credentials {
    /// The credential for the next call: the fixed token, the token
    /// file's key (read again first when the file changed), or the
    /// renewing client's working token (minted or renewed first when due).
    pub(crate) fn present(&self, transport: &Transport) -> crate::Result<Presented<'_>> {
        match self {
            Credentials::Fixed(credential) => Ok(Presented::Fixed(credential)),
            Credentials::File(file) => Ok(Presented::File {
                credential: file.current(),
                refused: None,
            }),
            Credentials::Renewing(renewer) => Ok(Presented::Working {
                working: renewer.working(transport)?,
                parent: renewer.parent(),
            }),
            Credentials::Anonymous => Err(ConfigError::MissingApiToken.into()),
        }
    }

    /// Takes note of how a call to `host` sent with `presented` ended: an
    /// answer other than 401 shows a working token works there; a 401 shows
    /// it does not.
    pub(crate) fn answered(
        &self,
        transport: &Transport,
        host: Host,
        presented: &Presented<'_>,
        result: &crate::Result<Answer>,
    ) {
        if let (Credentials::Renewing(renewer), Presented::Working { working, .. }) =
            (self, presented)
        {
            match result {
                Err(err) if err.is_unauthorized() => {
                    renewer.refused(transport, working, host);
                }
                // The API looked at the token and did not refuse it; a 429
                // or 5xx may come from a gateway that never asked.
                Err(Error::Api(api)) if api.status < 500 && api.status != 429 => {
                    renewer.confirm(working, host);
                }
                Ok(_) => renewer.confirm(working, host),
                Err(_) => {}
            }
        }
    }

    /// After a 401 from `host` for `presented`: the credential to repeat
    /// the call with once, if there is one. A fixed token has none; a token
    /// file is read again, and its key is one if it changed; a working
    /// token that had worked on that host and been in use a while
    /// (a quarter of its lifetime, at most 30 s) is replaced (unless the
    /// client is backing off after failed mints, or closed), and so is one
    /// refused sooner after it worked, unless the token before it was
    /// refused so too; one that never worked there, or the second in a row
    /// refused soon after it worked, counts as a failed mint, and the
    /// caller gets its 401.
    pub(crate) fn replace_refused<'c>(
        &'c self,
        transport: &Transport,
        host: Host,
        presented: &Presented<'c>,
    ) -> crate::Result<Option<Presented<'c>>> {
        if let (Credentials::File(file), Presented::File { credential, .. }) = (self, presented) {
            return Ok(file
                .after_refusal(credential)
                .map(|replacement| Presented::File {
                    credential: replacement,
                    refused: Some(Arc::clone(credential)),
                }));
        }
        let (Credentials::Renewing(renewer), Presented::Working { working, parent }) =
            (self, presented)
        else {
            return Ok(None);
        };
        if !renewer.refused(transport, working, host) {
            return Ok(None);
        }
        Ok(Some(Presented::Working {
            working: renewer.working(transport)?,
            parent: Arc::clone(parent),
        }))
    }

    /// Ends a renewing client's work: deletes every token it minted that
    /// is still live (within `deadline`, when given). Nothing for others.
    pub(crate) fn close(
        &self,
        transport: &Transport,
        deadline: Option<Instant>,
    ) -> crate::Result<()> {
        match self {
            Credentials::Renewing(renewer) => renewer.close(transport, deadline),
            Credentials::Anonymous | Credentials::Fixed(_) | Credentials::File(_) => Ok(()),
        }
    }

    /// A renewing client's working token, minted or renewed first when
    /// due; `None` for a client that does not renew.
    pub(crate) fn working_token(
        &self,
        transport: &Transport,
    ) -> crate::Result<Option<crate::Token>> {
        match self {
            Credentials::Renewing(renewer) => renewer.working_token(transport).map(Some),
            Credentials::Anonymous | Credentials::Fixed(_) | Credentials::File(_) => Ok(None),
        }
    }

    /// A renewing client's replaced tokens not deleted yet; none for
    /// others.
    pub(crate) fn undeleted(&self) -> Vec<u64> {
        match self {
            Credentials::Renewing(renewer) => renewer.undeleted(),
            Credentials::Anonymous | Credentials::Fixed(_) | Credentials::File(_) => Vec::new(),
        }
    }

    /// A renewing client's current working token.
    pub(crate) fn working_key(&self) -> Option<crate::TokenKey> {
        match self {
            Credentials::Renewing(renewer) => renewer.working_key(),
            Credentials::Anonymous | Credentials::Fixed(_) | Credentials::File(_) => None,
        }
    }

    /// The API token given to the builder (the parent of a renewing
    /// client), or the last good key of a token file.
    pub(crate) fn api_token(&self) -> Option<crate::TokenKey> {
        match self {
            Credentials::Anonymous => None,
            Credentials::Fixed(credential) => Some(credential.key.clone()),
            Credentials::File(file) => Some(file.key()),
            Credentials::Renewing(renewer) => Some(renewer.parent().key.clone()),
        }
    }

    /// The token file a client follows, if it follows one.
    pub(crate) fn token_file(&self) -> Option<&std::path::Path> {
        match self {
            Credentials::File(file) => Some(file.path()),
            Credentials::Renewing(renewer) => renewer.parent_file(),
            Credentials::Anonymous | Credentials::Fixed(_) => None,
        }
    }
}

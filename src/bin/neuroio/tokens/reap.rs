//! `neuroio tokens reap`: deletes the tokens of the ledger whose owner (an
//! `agent` or `exec` that was killed, a `login` that crashed) is gone. The
//! work is the shared ledger's ([`crate::ledger::reap`]); this prints it.

use crate::context::Api;
use crate::failure::Failure;
use crate::ledger::{Ledger, reap as reap_ledger};

pub fn reap(api: &Api) -> Result<(), Failure> {
    let ledger = Ledger::open()?;
    let done = reap_ledger(&ledger, &api.client, api.token_profile.as_deref())?;
    let reaped = done
        .reaped
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let row = vec![
        if reaped.is_empty() {
            "none".to_owned()
        } else {
            reaped
        },
        done.kept.to_string(),
    ];
    let value = serde_json::to_value(&done)
        .map_err(|e| Failure::failed(format!("cannot encode the result: {e}")))?;
    Ok(api
        .out
        .record(&value, &[(&["REAPED", "KEPT"], vec![row])])?)
}

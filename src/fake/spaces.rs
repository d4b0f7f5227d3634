//! The simulator's space handlers.

use super::routes::Call;
use super::store::{Caller, Collection, Scope, State};
use super::wire::{Outgoing, not_found};

impl State {
    pub(super) fn create_space_token(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        if caller.space.is_some() {
            return Outgoing::error(
                403,
                "You do not have permission to perform this action: only an account token \
                 can create space tokens.",
            );
        }
        let space = call
            .segment
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|id| {
                self.spaces
                    .get(id)
                    .is_some_and(|s| s.account == caller.account)
            });
        let Some(space) = space else {
            return not_found();
        };
        let scope = Scope {
            collection: Collection::Api,
            account: caller.account,
            space: Some(space),
        };
        self.create_in(scope, call.req)
    }
}

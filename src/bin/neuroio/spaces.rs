//! `neuroio spaces`: list, show, create, rename and delete spaces, and
//! create space tokens.

use neuroio::TokenRef;

use crate::args::{ApiArgs, Group, SpacesCommand};
use crate::context::{Api, deliver, print_all};
use crate::failure::Failure;
use crate::output::{Done, Printer};

/// `neuroio spaces ...`.
pub fn spaces(group: Group<SpacesCommand>, top: ApiArgs) -> Result<(), Failure> {
    let api = Api::new(group.api.0, top)?;
    let spaces = api.client.spaces();
    let out = &api.out;
    // A 404 about one space names it, and where it was looked for.
    let about = |id: u64| {
        let url = api.client.iam_url();
        move |err| {
            Failure::about(
                err,
                || format!("space {id}"),
                url,
                "the space's id (`neuroio spaces list` shows them), and the base URL (--iam-url)",
            )
        }
    };
    match group.command {
        SpacesCommand::List { query, page } => {
            let query = query.as_deref();
            if page.all {
                let walk = spaces.iter(query);
                print_all(walk, page.walk_page_size(), "space", out, Printer::spaces)
            } else {
                Ok(out.spaces(&spaces.list(query, page.limit(), page.offset)?)?)
            }
        }
        SpacesCommand::Get { id } => Ok(out.space(&spaces.get(id).map_err(about(id))?)?),
        SpacesCommand::Create { name } => Ok(out.space(&spaces.create(&name)?)?),
        SpacesCommand::Rename { id, name } => {
            Ok(out.space(&spaces.update(id, &name).map_err(about(id))?)?)
        }
        SpacesCommand::Delete { id, yes } => {
            if !yes {
                return Err(Failure::usage(format!(
                    "refusing to delete space {id} without --yes (every token of the space \
                     is deleted with it)"
                )));
            }
            spaces.delete(id).map_err(about(id))?;
            Ok(out.done(&Done::Deleted {
                collection: "spaces",
                id: Some(id),
            })?)
        }
        SpacesCommand::CreateToken {
            space_id,
            permanent,
        } => {
            let token = spaces
                .create_token(space_id, permanent)
                .map_err(about(space_id))?;
            // Only a token of the space sees it: delete it with itself.
            let retry = format!(
                "neuroio tokens delete {} (with a token of space {space_id})",
                token.id
            );
            deliver(token.id, out.new_token(&token), &retry, |id| {
                api.client
                    .with_api_token(&token.key)?
                    .tokens()
                    .delete(TokenRef::from(id))
            })
        }
    }
}

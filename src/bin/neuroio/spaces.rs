//! `neuroio spaces`: list, show, create, rename and delete spaces, and
//! create space tokens.

use clap::{Args, Subcommand};
use neuroio::{Space, TokenRef};
use serde_json::json;

use crate::context::{Api, deliver, print_all};
use crate::failure::Failure;
use crate::input::confirmed;
use crate::options::{ApiOptions, Page, SEE_TOP_HELP, Yes};
use crate::output::{Printer, Render, View, WriteError, json_value};

/// `neuroio spaces`.
#[derive(Debug, Args)]
pub struct SpacesArgs {
    #[command(flatten)]
    api: ApiOptions,
    #[command(subcommand)]
    command: SpacesCommand,
}

#[derive(Debug, Subcommand)]
enum SpacesCommand {
    /// List spaces, newest first.
    #[command(after_help = SEE_TOP_HELP)]
    List {
        /// Only spaces whose name contains this text (any case).
        #[arg(long, value_name = "Q")]
        query: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Show one space.
    #[command(after_help = SEE_TOP_HELP)]
    Get {
        /// The space's id.
        id: u64,
    },
    /// Create a space (its name: 1 to 255 characters, unique in the
    /// account) and print it.
    #[command(after_help = SEE_TOP_HELP)]
    Create {
        /// The new space's name.
        name: String,
    },
    /// Rename a space and print it.
    #[command(after_help = SEE_TOP_HELP)]
    Rename {
        /// The space's id.
        id: u64,
        /// The new name (1 to 255 characters, unique in the account).
        name: String,
    },
    /// Delete a space and every token of it. The account's default space
    /// cannot be deleted. On a terminal it asks first, unless --yes.
    #[command(after_help = SEE_TOP_HELP)]
    Delete {
        /// The space's id.
        id: u64,
        #[command(flatten)]
        yes: Yes,
    },
    /// Create a token restricted to one space, with an account token, and
    /// print it with its key: temporary (24 hours) unless --permanent.
    #[command(after_help = SEE_TOP_HELP)]
    CreateToken {
        /// The space's id (see `neuroio spaces list`).
        space_id: u64,
        /// Create a permanent token (at most 5 per space).
        #[arg(long)]
        permanent: bool,
    },
}

/// A space: every field the server sent in JSON; its id and name in a
/// table (escaped, as every cell is).
impl Render for Space {
    fn header(_: &View) -> Vec<&'static str> {
        vec!["ID", "NAME"]
    }

    fn row(&self, _: &View) -> Vec<String> {
        vec![self.id.to_string(), self.name.clone()]
    }

    fn json(&self, _: &View) -> Result<serde_json::Value, WriteError> {
        json_value(self)
    }
}

impl SpacesArgs {
    /// `neuroio spaces ...`.
    pub fn run(self) -> Result<(), Failure> {
        let api = Api::new(self.api.settings())?;
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
        match self.command {
            SpacesCommand::List { query, page } => {
                let query = query.as_deref();
                if page.all {
                    let walk = spaces.iter(query);
                    print_all(walk, page.walk_page_size(), "space", out, Printer::list)
                } else {
                    Ok(out.list(&spaces.list(query, page.limit(), page.offset)?)?)
                }
            }
            SpacesCommand::Get { id } => Ok(out.one(&spaces.get(id).map_err(about(id))?)?),
            SpacesCommand::Create { name } => Ok(out.one(&spaces.create(&name)?)?),
            SpacesCommand::Rename { id, name } => {
                Ok(out.one(&spaces.update(id, &name).map_err(about(id))?)?)
            }
            SpacesCommand::Delete { id, yes } => {
                confirmed(
                    yes.yes,
                    &format!("This deletes space {id} and every token of it."),
                    &id.to_string(),
                    &format!(
                        "refusing to delete space {id} without --yes (every token of the space \
                         is deleted with it)"
                    ),
                )?;
                spaces.delete(id).map_err(about(id))?;
                Ok(out.done(
                    &json!({"deleted": {"collection": "spaces", "id": id}}),
                    &format!("deleted space {id}"),
                )?)
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
}

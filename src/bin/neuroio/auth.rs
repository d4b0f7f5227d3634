//! `neuroio auth`: the profiles of the credentials file. Who you are
//! (`status`), the token for `$(...)` (`token`), `logout` and `list`. No
//! command here prints a key but `token`.

use neuroio::{Profile, Profiles, TokenRef};
use serde_json::json;
use time::OffsetDateTime;

use crate::args::{ApiArgs, AuthCommand, Group};
use crate::context::{Source, builder, credentials, printer, profile_failure, profiles};
use crate::failure::Failure;
use crate::output::{kind, rfc3339, token_value, write_stdout};
use crate::store;

pub fn auth(group: Group<AuthCommand>, top: ApiArgs) -> Result<(), Failure> {
    let args = group.api.0.or(top);
    match group.command {
        AuthCommand::Status => status(args),
        AuthCommand::Token => token(&args),
        AuthCommand::Logout => logout(&args),
        AuthCommand::List => list(&args),
    }
}

/// The profile's name as it is to be shown.
fn selected(args: &ApiArgs) -> Result<String, Failure> {
    Profiles::selected(args.profile.as_deref()).map_err(profile_failure)
}

/// `auth status`: asks the API who the token belongs to, and what it is.
fn status(args: ApiArgs) -> Result<(), Failure> {
    let name = selected(&args)?;
    let credentials = credentials(&args)?;
    let client = builder(&args, credentials.profile.as_ref())?
        .api_token(credentials.token.as_str())
        .build()?;
    // Where to get a working token depends on where this one came from:
    // only a profile's is replaced by logging in to it.
    let again = match &credentials.source {
        Source::Profile { name, .. } => {
            format!("log in again: neuroio login --username USER --profile {name}")
        }
        Source::Environment => "it came from NEUROIO_API_TOKEN: set that to a working token, \
             or unset it to use the profile `neuroio login` stores"
            .to_owned(),
        Source::TokenFile(path) => format!(
            "it came from --token-file {}: put a working token there, or leave the option out \
             to use the profile `neuroio login` stores",
            path.display()
        ),
    };
    let hint = |mut failure: Failure| {
        if failure.code == 4 {
            failure
                .message
                .push_str(&format!("\nthe API token was refused; {again}"));
        }
        failure
    };
    let me = client.whoami().map_err(|e| hint(e.into()))?;
    let stored_id = match &credentials.source {
        Source::Profile { stored, .. } => stored.token_id,
        _ => None,
    };
    // The id when the profile knows it, so the key stays out of the path.
    let which = match stored_id {
        Some(id) => TokenRef::from(id),
        None => TokenRef::from(credentials.token.as_str()),
    };
    let token = client.tokens().get(which).map_err(|e| hint(e.into()))?;
    let (from, file) = match &credentials.source {
        Source::TokenFile(path) => (
            format!("--token-file {}", path.display()),
            Some(path.display().to_string()),
        ),
        Source::Environment => ("NEUROIO_API_TOKEN".to_owned(), None),
        Source::Profile { name, path, .. } => (
            format!("profile {name} in {}", path.display()),
            Some(path.display().to_string()),
        ),
    };
    let now = OffsetDateTime::now_utc();
    // The one shape of a token (without its key), and the time it has left.
    let mut shown_token = token_value(&token, false)?;
    if let Some(object) = shown_token.as_object_mut() {
        object.insert(
            "seconds_left".to_owned(),
            json!(token.expires_in_at(now).map(|left| left.as_secs())),
        );
    }
    let shown = json!({
        "profile": name,
        "source": credentials.source.kind(),
        "file": file,
        // The one shape of a user, as `login` prints it; none for a space
        // token.
        "user": me.username().map(|username| json!({"username": username})),
        "space": me.space(),
        "token": shown_token,
    });
    let row = vec![
        name.clone(),
        from,
        me.username().unwrap_or("-").to_owned(),
        token.id.to_string(),
        kind(&token).to_owned(),
        time_left(token.expires, true, now),
    ];
    Ok(printer(&args).record(
        &shown,
        &[(
            &["PROFILE", "SOURCE", "USER", "TOKEN_ID", "KIND", "TIME_LEFT"],
            vec![row],
        )],
    )?)
}

/// `auth token`: the key alone and a newline, from the same place every
/// command takes it.
fn token(args: &ApiArgs) -> Result<(), Failure> {
    let credentials = credentials(args)?;
    if let Source::Profile { name, stored, .. } = &credentials.source
        && let Some(expires) = stored.expires
        && expires <= OffsetDateTime::now_utc()
    {
        return Err(Failure {
            code: 4,
            message: format!(
                "the token of profile {name} expired at {}; log in again: \
                 neuroio login --username USER --profile {name}",
                rfc3339(expires)
            ),
        });
    }
    Ok(write_stdout(format!("{}\n", credentials.token).as_bytes())?)
}

/// `auth logout`: deletes the profile's token on the server, then removes
/// it from the file. The profile keeps its user and URLs.
fn logout(args: &ApiArgs) -> Result<(), Failure> {
    let (name, profiles) = profiles(args)?;
    let profile = profiles.require(&name).map_err(profile_failure)?.clone();
    let out = printer(args);
    let shown = |logged_out: bool| json!({"profile": name, "logged_out": logged_out, "token_id": profile.token_id});
    if profile.token.is_none() {
        return Ok(out.record(
            &shown(false),
            &[(
                &["PROFILE", "LOGGED_OUT"],
                vec![vec![name.clone(), "already".to_owned()]],
            )],
        )?);
    }
    // Checked first: a token deleted on the server must leave the file too.
    store::check_writable(profiles.path())?;
    store::revoke(args, &profile).map_err(|mut failure| {
        failure.message.push_str(&format!(
            "\nthe token was not deleted, and stays in profile {name}; try again"
        ));
        failure
    })?;
    let key = profile.token.clone();
    store::update(profiles.path(), |profiles| {
        // Only the token logged out: another process may have logged in
        // again meanwhile.
        if let Some(current) = profiles.get(&name)
            && current.token == key
        {
            let mut kept = current.clone();
            kept.token = None;
            kept.token_id = None;
            kept.expires = None;
            let _ = profiles.insert(&name, kept);
        }
    })?;
    Ok(out.record(
        &shown(true),
        &[(
            &["PROFILE", "LOGGED_OUT"],
            vec![vec![name.clone(), "yes".to_owned()]],
        )],
    )?)
}

/// `auth list`: every profile, without keys.
fn list(args: &ApiArgs) -> Result<(), Failure> {
    let path = Profiles::default_path().map_err(profile_failure)?;
    let profiles = store::load_or_empty(&path).map_err(profile_failure)?;
    let now = OffsetDateTime::now_utc();
    let entries: Vec<(&str, &Profile)> = profiles.iter().collect();
    let shown: Vec<serde_json::Value> = entries
        .iter()
        .map(|(name, p)| {
            json!({
                "profile": name,
                "username": p.username,
                "iam_url": p.iam_url,
                "api_url": p.api_url,
                "logged_in": p.token.is_some(),
                "token_id": p.token_id,
                "expires": p.expires.map(rfc3339),
            })
        })
        .collect();
    let rows = entries
        .iter()
        .map(|(name, p)| {
            vec![
                (*name).to_owned(),
                p.username.as_deref().unwrap_or("-").to_owned(),
                p.iam_url
                    .as_deref()
                    .unwrap_or(neuroio::DEFAULT_IAM_URL)
                    .to_owned(),
                time_left(p.expires, p.token.is_some(), now),
            ]
        })
        .collect();
    Ok(printer(args).record(
        &json!(shown),
        &[(&["PROFILE", "USER", "IAM_URL", "TIME_LEFT"], rows)],
    )?)
}

/// How long a token has left, for a person: "logged out", "permanent",
/// "expired", or hours and minutes.
fn time_left(expires: Option<OffsetDateTime>, has_token: bool, now: OffsetDateTime) -> String {
    if !has_token {
        return "logged out".to_owned();
    }
    let Some(expires) = expires else {
        return "permanent".to_owned();
    };
    let left = (expires - now).whole_minutes();
    if left <= 0 {
        "expired".to_owned()
    } else {
        format!("{}h{:02}m", left / 60, left % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_for_a_person() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let later = |minutes| Some(now + time::Duration::minutes(minutes));
        assert_eq!(time_left(later(90), true, now), "1h30m");
        assert_eq!(time_left(later(24 * 60), true, now), "24h00m");
        assert_eq!(time_left(later(0), true, now), "expired");
        assert_eq!(time_left(None, true, now), "permanent");
        assert_eq!(time_left(later(5), false, now), "logged out");
    }
}

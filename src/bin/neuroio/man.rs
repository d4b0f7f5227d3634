//! `neuroio man`: one man page for the whole tool, generated from the clap
//! definitions, so it cannot drift from the real options.

use std::io::{self, Write};

use clap::Args;

use crate::options::{ApiOptions, EXIT_CODES, ShowKeys};

/// The page as roff. clap_mangen renders the top-level sections; the
/// commands get one section here instead of clap_mangen's references to
/// per-command pages (`neuroio-tokens(1)`) that would not exist.
pub fn render(mut cmd: clap::Command, files_and_environment: &str) -> io::Result<Vec<u8>> {
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    // The options many commands share, once: each command below names
    // only its own.
    let shared = ShowKeys::augment_args(ApiOptions::augment_args(clap::Command::new("api")));
    writeln!(out, ".SH \"API OPTIONS\"")?;
    writeln!(
        out,
        "The commands that call the API take these (each lists the ones it takes in its \\-\\-help), \
         after the command family or after the command; \\-\\-show\\-keys only where existing \
         tokens are shown."
    )?;
    let mut ids = Vec::new();
    for arg in shared.get_arguments() {
        ids.push(arg.get_id().clone());
        argument(&mut out, arg)?;
    }
    writeln!(out, ".SH COMMANDS")?;
    commands(&mut out, &cmd, "neuroio", &ids)?;
    section(&mut out, "EXIT STATUS", EXIT_CODES)?;
    for part in files_and_environment.split("\n\n") {
        let title = part
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches(':');
        section(&mut out, &title.to_uppercase(), part)?;
    }
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// A section whose text (all but its first line, the title) is kept as it
/// is written.
fn section(out: &mut Vec<u8>, title: &str, text: &str) -> io::Result<()> {
    writeln!(out, ".SH \"{}\"", escape(title))?;
    writeln!(out, ".nf")?;
    for line in text.lines().skip(1) {
        writeln!(out, "{}", escape(line))?;
    }
    writeln!(out, ".fi")
}

/// One subsection per command that does something (not `help`, not a
/// group), with its own arguments: not those in `shared`, which have a
/// section of their own.
fn commands(
    out: &mut Vec<u8>,
    cmd: &clap::Command,
    path: &str,
    shared: &[clap::Id],
) -> io::Result<()> {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let path = format!("{path} {}", sub.get_name());
        if sub.has_subcommands() {
            commands(out, sub, &path, shared)?;
            continue;
        }
        writeln!(out, ".SS \"{}\"", escape(&path))?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(out, "{}", escape(&about.to_string()))?;
        }
        for arg in sub.get_arguments() {
            let id = arg.get_id().as_str();
            if shared.contains(arg.get_id())
                || arg.is_hide_long_help_set()
                || id == "help"
                || id == "version"
            {
                continue;
            }
            argument(out, arg)?;
        }
    }
    Ok(())
}

/// One option or argument, with its help, possible values and default.
fn argument(out: &mut Vec<u8>, arg: &clap::Arg) -> io::Result<()> {
    let id = arg.get_id().as_str();
    let takes_values = arg.get_action().takes_values();
    let value = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map_or_else(|| id.to_uppercase(), ToString::to_string);
    let value = format!("\\fI<{}>\\fR", escape(&value));
    let name = match arg.get_long() {
        Some(long) if takes_values => format!("\\fB\\-\\-{}\\fR {value}", escape(long)),
        Some(long) => format!("\\fB\\-\\-{}\\fR", escape(long)),
        None => value,
    };
    writeln!(out, ".TP")?;
    writeln!(out, "{name}")?;
    let mut text = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .map(|v| v.get_name().to_owned())
        .collect();
    if takes_values && !values.is_empty() {
        text.push_str(&format!(" [possible values: {}]", values.join(", ")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes_values && !defaults.is_empty() {
        text.push_str(&format!(" [default: {}]", defaults.join(", ")));
    }
    writeln!(out, "{}", escape(&text))
}

/// Text that roff prints as it is.
fn escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e").replace('-', "\\-");
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

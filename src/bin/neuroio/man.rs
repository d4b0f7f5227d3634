//! `neuroio man`: one man page for the whole tool, generated from the clap
//! definitions, so it cannot drift from the real options.

use std::io::{self, Write};

use crate::args::EXIT_CODES;

/// The page as roff. clap_mangen renders the top-level sections; the
/// commands get one section here instead of clap_mangen's references to
/// per-command pages (`neuroio-tokens(1)`) that would not exist.
pub fn render(mut cmd: clap::Command) -> io::Result<Vec<u8>> {
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    writeln!(out, ".SH COMMANDS")?;
    writeln!(
        out,
        "The API options above are accepted before the command and after it."
    )?;
    commands(&mut out, &cmd, "neuroio")?;
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    writeln!(out, ".nf")?;
    for line in EXIT_CODES.lines().skip(1) {
        writeln!(out, "{}", escape(line))?;
    }
    writeln!(out, ".fi")?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// One subsection per command that does something (not `help`, not a
/// group), with its own arguments.
fn commands(out: &mut Vec<u8>, cmd: &clap::Command, path: &str) -> io::Result<()> {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let path = format!("{path} {}", sub.get_name());
        if sub.has_subcommands() {
            commands(out, sub, &path)?;
            continue;
        }
        writeln!(out, ".SS \"{}\"", escape(&path))?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(out, "{}", escape(&about.to_string()))?;
        }
        for arg in sub.get_arguments() {
            let id = arg.get_id().as_str();
            // The API options are in the OPTIONS section, once.
            if arg.is_global_set() || arg.is_hide_long_help_set() || id == "help" || id == "version"
            {
                continue;
            }
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
            writeln!(out, "{}", escape(&text))?;
        }
    }
    Ok(())
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

//! Shell completions and the man page, generated from the clap definitions.

use super::*;

/// Runs the binary with no API token and no IAM URL: these commands need
/// neither.
fn run_bare(args: &[&str]) -> Output {
    neuroio()
        .args(args)
        .env_remove("NEUROIO_API_TOKEN")
        .env_remove("NEUROIO_IAM_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn every_shell_gets_completions_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = run_bare(&["completions", shell]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{shell}: {}",
            stderr(&output)
        );
        assert_eq!(stderr(&output), "", "{shell}");
        let script = stdout(&output);
        // Every command, read off the binary's help, and two options.
        let words = command_tree()
            .iter()
            .filter_map(|path| path.last().cloned())
            .chain(["key-file".to_owned(), "allow-insecure-http".to_owned()]);
        for word in words {
            assert!(script.contains(word.as_str()), "{shell} lacks {word}");
        }
    }
}

#[test]
fn bash_completions_load_in_bash() {
    let output = run_bare(&["completions", "bash"]);
    let file =
        std::env::temp_dir().join(format!("neuroio-completions-{}.bash", std::process::id()));
    std::fs::write(&file, &output.stdout).unwrap();

    let loaded = Command::new("bash")
        .args([
            "--norc",
            "--noprofile",
            "-c",
            "source \"$1\" && complete -p neuroio",
            "bash",
        ])
        .arg(&file)
        .output()
        .unwrap();
    // And it completes: `neuroio tokens del<TAB>`.
    let completed = Command::new("bash")
        .args([
            "--norc",
            "--noprofile",
            "-c",
            "source \"$1\"; COMP_WORDS=(neuroio tokens del); COMP_CWORD=2; \
             COMP_LINE='neuroio tokens del'; COMP_POINT=${#COMP_LINE}; \
             _neuroio neuroio del tokens; echo \"${COMPREPLY[@]}\"",
            "bash",
        ])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();

    assert_eq!(
        stdout(&completed),
        "delete delete-all\n",
        "{}",
        stderr(&completed)
    );
    assert_eq!(loaded.status.code(), Some(0), "{}", stderr(&loaded));
    assert_eq!(stderr(&loaded), "");
    let spec = stdout(&loaded);
    assert!(spec.starts_with("complete "), "{spec}");
    assert!(spec.contains(" -F _neuroio "), "{spec}");
    assert!(spec.trim_end().ends_with(" neuroio"), "{spec}");
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let output = run_bare(&["completions", "tcsh"]);

    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).starts_with("error: invalid value 'tcsh' for '<SHELL>'"));
}

#[test]
fn man_page_is_roff_with_every_command_and_the_exit_codes() {
    let output = run_bare(&["man"]);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let page = stdout(&output);
    assert!(page.contains("\n.TH neuroio 1 "), "{page}");
    for section in [
        "\n.SH NAME\n",
        "\n.SH SYNOPSIS\n",
        "\n.SH COMMANDS\n",
        "\n.SH \"EXIT STATUS\"\n",
    ] {
        assert!(page.contains(section), "lacks {section:?}");
    }
    // Every command that does something, read off the binary's help.
    for command in leaf_commands() {
        let name = command.join(" ").replace('-', "\\-");
        assert!(
            page.contains(&format!("\n.SS \"neuroio {name}\"\n")),
            "lacks {name}"
        );
    }
    assert!(page.contains("\\fB\\-\\-allow\\-insecure\\-http\\fR"));
    assert!(
        page.contains(
            "\n  4  authentication failed (401 or 403), or a wrong user name or password\n"
        )
    );
    // No references to per-command pages that are not generated.
    assert!(!page.contains("neuroio\\-tokens(1)"));
}

#[test]
fn man_renders_with_man_when_it_is_installed() {
    let Ok(probe) = Command::new("man").arg("--version").output() else {
        return; // no man(1) here; the roff itself is checked above
    };
    if !probe.status.success() {
        return;
    }
    let page = run_bare(&["man"]).stdout;
    let file = std::env::temp_dir().join(format!("neuroio-{}.1", std::process::id()));
    std::fs::write(&file, page).unwrap();
    let shown = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("neuroio tokens delete-all"), "{text}");
}

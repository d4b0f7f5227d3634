//! The README (the repository's page) is generated from its template and
//! the manual (the crate's documentation, docs/manual.md): its examples are
//! the manual's, compiled as the manual's doctests are, with one source.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path))
        .unwrap_or_else(|err| panic!("cannot read {path}: {err}"))
}

/// A fenced code block: the heading it is under, its info string, its body.
#[derive(Debug)]
struct Block {
    heading: String,
    info: String,
    body: String,
}

/// The fenced blocks of a markdown page, in order.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut heading = String::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for line in markdown.lines() {
        match open.take() {
            None if line.starts_with("```") => {
                open = Some((line.trim_start_matches('`').to_owned(), Vec::new()));
            }
            None => {
                if line.starts_with('#') {
                    heading = line.trim_start_matches('#').trim().to_owned();
                }
            }
            Some((info, body)) if line == "```" => found.push(Block {
                heading: heading.clone(),
                info,
                body: body.join("\n"),
            }),
            Some((info, mut body)) => {
                body.push(line);
                open = Some((info, body));
            }
        }
    }
    assert!(open.is_none(), "a code block is never closed");
    found
}

/// The language of a block: `rust` for `rust,no_run`.
fn language(info: &str) -> &str {
    info.split(',').next().unwrap_or_default()
}

/// The README as generated: `docs/README.in.md` with each line
/// `<!-- example: NAME -->` replaced by the code block that follows the
/// same line in the manual (its info string without rustdoc's attributes,
/// which GitHub does not know).
fn generated_readme() -> String {
    let template = read("docs/README.in.md");
    let manual = read("docs/manual.md");
    let mut out = String::new();
    for line in template.split_inclusive('\n') {
        let Some(name) = line
            .trim_end()
            .strip_prefix("<!-- example: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            out.push_str(line);
            continue;
        };
        let marker = format!("<!-- example: {name} -->\n");
        let at = manual
            .find(&marker)
            .unwrap_or_else(|| panic!("docs/manual.md has no example {name:?}"));
        let after = &manual[at + marker.len()..];
        let fence_end = after.find('\n').expect("a fence line");
        let fence = &after[..fence_end];
        assert!(
            fence.starts_with("```"),
            "example {name:?} is not a code block"
        );
        let close = after[fence_end..]
            .find("\n```\n")
            .unwrap_or_else(|| panic!("example {name:?} is never closed"));
        let body = &after[fence_end + 1..fence_end + close + 1];
        out.push_str(&format!("```{}\n{body}```\n", language(&fence[3..])));
    }
    out
}

#[test]
fn the_readme_is_generated_from_its_template_and_the_manuals_examples() {
    let generated = generated_readme();
    if std::env::var_os("NEUROIO_WRITE_README").is_some() {
        std::fs::write(Path::new(ROOT).join("README.md"), &generated).unwrap();
    }
    let readme = read("README.md");
    assert!(
        readme == generated,
        "README.md is not what docs/README.in.md and docs/manual.md make; run \
         NEUROIO_WRITE_README=1 cargo test --test readme"
    );
    // Every example a reader of the README sees is one of the manual's
    // compiled doctests, and there are as many as the template names.
    let shared = blocks(&readme)
        .into_iter()
        .filter(|block| block.heading != "Development")
        .count();
    assert_eq!(shared, 10);
}

#[test]
fn readme_examples_have_no_hidden_lines_and_are_whole_programs() {
    for block in blocks(&read("README.md")) {
        if language(&block.info) != "rust" {
            continue;
        }
        // GitHub shows rustdoc's hidden lines as they are, and a pasted
        // block with them does not compile.
        for line in block.body.lines() {
            let trimmed = line.trim_start();
            assert!(
                !(trimmed == "#" || trimmed.starts_with("# ")),
                "hidden line {line:?} in:\n{}",
                block.body
            );
        }
        assert!(block.body.contains("fn main()"), "{}", block.body);
    }
}

#[test]
fn the_first_command_is_alone_in_its_block_and_runs_the_examples_package() {
    let package = read("examples/Cargo.toml");
    assert!(
        package.contains("name = \"neuroio-examples\"")
            && package.contains("default-run = \"quickstart\""),
        "{package}"
    );
    let root = read("Cargo.toml");
    assert!(root.contains(r#"members = [".", "examples"]"#), "{root}");
    for page in ["README.md", "docs/manual.md"] {
        let all = blocks(&read(page));
        let first = all
            .iter()
            .find(|block| block.heading == "Try it in one command")
            .unwrap_or_else(|| panic!("{page} has no section 'Try it in one command'"));
        assert_eq!(first.info, "sh", "{page}");
        assert_eq!(first.body, "cargo run -p neuroio-examples", "{page}");
    }
    // It is the README's first block: what CI builds and counts.
    assert_eq!(
        blocks(&read("README.md"))[0].body,
        "cargo run -p neuroio-examples"
    );
}

#[test]
fn readme_and_manual_state_the_msrv_of_cargo_toml() {
    let root = read("Cargo.toml");
    let msrv = root
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .map(|value| value.trim_matches('"'))
        .expect("Cargo.toml declares rust-version");
    let sentence = format!("The minimum supported Rust version is {msrv}");
    for page in ["README.md", "docs/manual.md"] {
        assert!(read(page).contains(&sentence), "{page} lacks {sentence:?}");
    }
}

#[test]
fn readme_links_to_files_that_exist() {
    let readme = read("README.md");
    let mut links = 0;
    for (start, _) in readme.match_indices("](") {
        let rest = &readme[start + 2..];
        let target = &rest[..rest.find(')').expect("a link is closed")];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        links += 1;
        assert!(
            Path::new(ROOT).join(target).exists(),
            "README links to a missing {target}"
        );
    }
    assert_eq!(links, 6);
}

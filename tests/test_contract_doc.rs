//! The user-facing contract lives in the repository (issue 12, item 11):
//! `docs/contract.md` exists, README and the architecture page link it, every
//! ref the tool owns is in it, and nothing points at a file the repository
//! does not have.

use std::path::Path;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_contract_is_in_the_repository_and_linked() {
    let contract = read("docs/contract.md");
    for section in [
        "## Refs",
        "## The control fold",
        "## unpause",
        "## Release rules",
        "## Result notes",
    ] {
        assert!(
            contract.contains(section),
            "docs/contract.md has `{section}`"
        );
    }
    let names = read("src/git/names.rs");
    for line in names
        .lines()
        .filter(|l| l.starts_with("pub const") && l.contains("\"refs/"))
    {
        let name = line.split('"').nth(1).expect("a ref name");
        if name.ends_with('/') {
            continue;
        }
        assert!(contract.contains(name), "docs/contract.md names {name}");
    }
    assert!(read("README.md").contains("(docs/contract.md)"));
    assert!(read("docs/architecture.md").contains("(contract.md)"));
    for path in [
        "README.md",
        "docs/architecture.md",
        "docs/concepts.md",
        "docs/install.md",
        "docs/running.md",
        "docs/reference.md",
        "docs/troubleshooting.md",
        "hooks/README.md",
        "src/messages/hook.rs",
    ] {
        assert!(
            !read(path).contains("DESIGN"),
            "{path} refers to DESIGN, which the repository does not have"
        );
    }
}

/// Issue 12, item 1: every install line honours the lock file.
#[test]
fn every_install_line_is_locked() {
    for path in [
        "README.md",
        "docs/install.md",
        "docs/running.md",
        "hooks/README.md",
        "src/ops/doctor.rs",
        "src/demo/mod.rs",
    ] {
        for line in read(path).lines().filter(|l| l.contains("cargo install")) {
            assert!(line.contains("--locked"), "{path}: {line}");
        }
    }
}

//! The GitHub Actions workflows in `.github/workflows/`: actionlint (with shellcheck for the
//! `run:` scripts) finds nothing in them, and they use the secrets the README documents.
//! actionlint is installed by `cargo xtask install`; without it the lint is skipped, except in
//! CI (`CI=true`), where it fails.

use std::path::PathBuf;

fn workflows() -> Vec<PathBuf> {
    let dir = xtask::paths::root().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    files
}

fn read(name: &str) -> String {
    let path = xtask::paths::root().join(".github/workflows").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shell to run actionlint from, or `None` (skip) when it is not installed outside CI.
fn actionlint_shell() -> Option<xshell::Shell> {
    if xtask::actionlint::TOOL.program().is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: actionlint is missing: run `cargo xtask install` (it goes to target/tools/actionlint)"
        );
        eprintln!("skipped: actionlint is not installed (`cargo xtask install` installs it)");
        return None;
    }
    Some(xshell::Shell::new().unwrap())
}

#[test]
fn actionlint_finds_nothing_in_the_workflows() {
    let files = workflows();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["ci.yml", "deploy.yml"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let Some(sh) = actionlint_shell() else {
        return;
    };
    let findings = xtask::actionlint::findings(&sh, &files).unwrap();
    assert!(findings.trim().is_empty(), "actionlint:\n{findings}");
}

#[test]
fn actionlint_does_find_a_broken_workflow() {
    // So that "no finding" above means something: an unknown runner, an untrusted expression
    // in a script, and an unquoted variable (shellcheck).
    let Some(sh) = actionlint_shell() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-lates\n    steps:\n      - run: echo ${{ github.event.pull_request.title }} $HOME\n",
    )
    .unwrap();
    let findings = xtask::actionlint::findings(&sh, &[bad]).unwrap();
    assert!(findings.contains("ubuntu-lates"), "{findings}");
    assert!(findings.contains("potentially untrusted"), "{findings}");
    assert!(findings.contains("SC2086"), "{findings}");
}

#[test]
fn the_workflows_use_the_documented_secrets_and_commands() {
    let ci = read("ci.yml");
    let deploy = read("deploy.yml");
    for secret in ["GATEWAY_REGISTRY_USERNAME", "GATEWAY_REGISTRY_PASSWORD"] {
        let used = format!("secrets.{secret}");
        assert!(ci.contains(&used), "ci.yml does not use {used}");
        assert!(deploy.contains(&used), "deploy.yml does not use {used}");
    }
    assert!(deploy.contains("secrets.AZURE_CREDENTIALS"));
    assert!(ci.contains("cargo xtask install") && ci.contains("cargo xtask test --e2e"));
    assert!(ci.contains("cargo xtask push --registry"));
    assert!(deploy.contains("cargo xtask push --registry"));
    assert!(deploy.contains("cargo xtask services"));
    assert!(deploy.contains("deploy/k8s/overlays/production"));
    assert!(deploy.contains("rollout status"));
    // Two deploys never overlap, and a running one is never cancelled half-way.
    assert!(deploy.contains("concurrency:") && deploy.contains("cancel-in-progress: false"));
    // The README tells a newcomer which secrets to set.
    let readme = std::fs::read_to_string(xtask::paths::root().join("README.md")).unwrap();
    for name in [
        "GATEWAY_REGISTRY_USERNAME",
        "GATEWAY_REGISTRY_PASSWORD",
        "AZURE_CREDENTIALS",
    ] {
        assert!(readme.contains(name), "README.md does not mention {name}");
    }
}

//! Project policy as tests (rust-analyzer's `tidy.rs`): `cargo test --workspace` enforces it.
//!
//! 1. No `.unwrap()` or `.expect(` in the non-test code of `crates/*/src`.
//! 2. Every `crates/*/src/lib.rs` has `#![forbid(unsafe_code)]`.
//! 3. Every workspace package is dual-licensed `MIT OR Apache-2.0` and uses the workspace lints.
//! 4. No `utils.rs`, `util.rs` or `helpers.rs` under `crates/`: name modules after what they hold.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The workspace root.
fn root() -> anyhow::Result<PathBuf> {
    crate::workspace_root()
}

/// Every file under `dir`, recursively, sorted; nothing if `dir` does not exist.
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        if !dir.is_dir() {
            continue;
        }
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The package directories under `crates/`, sorted.
fn crate_dirs(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let crates = root.join("crates");
    let mut dirs = Vec::new();
    for entry in
        std::fs::read_dir(&crates).with_context(|| format!("reading {}", crates.display()))?
    {
        let path = entry?.path();
        if path.join("Cargo.toml").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// `path` relative to the workspace root, for messages.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The `(line number, line)` pairs of `source` that `.unwrap()` / `.expect(` checks look at: everything
/// before the first `#[cfg(test)]` line, without comment lines.
fn non_test_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .take_while(|(_, line)| !line.trim_start().starts_with("#[cfg(test)]"))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

/// The `file:line: text` of every `.unwrap()` / `.expect(` in `source`'s non-test code.
fn panicking_calls(file: &str, source: &str) -> Vec<String> {
    non_test_lines(source)
        .filter(|(_, line)| line.contains(".unwrap()") || line.contains(".expect("))
        .map(|(number, line)| format!("{file}:{number}: {}", line.trim()))
        .collect()
}

#[test]
fn no_unwrap_or_expect_in_library_code() -> anyhow::Result<()> {
    let root = root()?;
    let mut offences = Vec::new();
    for krate in crate_dirs(&root)? {
        for file in files_under(&krate.join("src"))? {
            let is_rust = file.extension().is_some_and(|ext| ext == "rs");
            let is_test = file.file_name().is_some_and(|name| name == "tests.rs")
                || file
                    .strip_prefix(&krate)
                    .is_ok_and(|p| p.components().any(|c| c.as_os_str() == "tests"));
            if !is_rust || is_test {
                continue;
            }
            let source =
                std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
            offences.extend(panicking_calls(&shown(&root, &file), &source));
        }
    }
    assert!(
        offences.is_empty(),
        "`.unwrap()` / `.expect(` in library code (return an error instead; tests go after `#[cfg(test)]` or in tests.rs):\n{}",
        offences.join("\n")
    );
    Ok(())
}

#[test]
fn every_crate_forbids_unsafe_code() -> anyhow::Result<()> {
    let root = root()?;
    let mut offences = Vec::new();
    for krate in crate_dirs(&root)? {
        let lib = krate.join("src/lib.rs");
        if !lib.is_file() {
            continue;
        }
        let source = std::fs::read_to_string(&lib).with_context(|| lib.display().to_string())?;
        if !source
            .lines()
            .any(|line| line.trim() == "#![forbid(unsafe_code)]")
        {
            offences.push(format!(
                "{}:1: no `#![forbid(unsafe_code)]`",
                shown(&root, &lib)
            ));
        }
    }
    assert!(
        offences.is_empty(),
        "crate roots must forbid unsafe code:\n{}",
        offences.join("\n")
    );
    Ok(())
}

/// The package directories of the workspace: `members` of the root `Cargo.toml`, `dir/*` globs expanded.
fn member_dirs(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let start = manifest
        .find("members")
        .context("no `members` in the root Cargo.toml")?;
    let list = &manifest[start..];
    let list = &list[list.find('[').context("`members` is not a list")? + 1..];
    let list = &list[..list.find(']').context("`members` list is not closed")?];
    let mut dirs = Vec::new();
    for member in list
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
    {
        match member.strip_suffix("/*") {
            Some(parent) => {
                let Ok(entries) = std::fs::read_dir(root.join(parent)) else {
                    continue;
                };
                for entry in entries {
                    let path = entry?.path();
                    if path.join("Cargo.toml").is_file() {
                        dirs.push(path);
                    }
                }
            }
            None => dirs.push(root.join(member)),
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// What is wrong with a package manifest: its license and lints settings.
fn manifest_problems(manifest: &str) -> Vec<&'static str> {
    let mut section = String::new();
    let (mut license, mut lints) = (false, false);
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned();
            continue;
        }
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        match section.as_str() {
            // A top-level dotted key, before any table header.
            "" => lints |= compact == "lints.workspace=true" || compact == "lints={workspace=true}",
            "package" => {
                license |= compact == "license.workspace=true"
                    || compact == "license={workspace=true}"
                    || compact == "license=\"MITORApache-2.0\"";
            }
            "lints" => lints |= compact == "workspace=true",
            "package.license" => license |= compact == "workspace=true",
            _ => {}
        }
    }
    let mut problems = Vec::new();
    if !license {
        problems.push("needs `license.workspace = true` (or `license = \"MIT OR Apache-2.0\"`)");
    }
    if !lints {
        problems.push("needs `[lints] workspace = true`");
    }
    problems
}

#[test]
fn every_package_is_dual_licensed_and_uses_workspace_lints() -> anyhow::Result<()> {
    let root = root()?;
    let mut offences = Vec::new();
    for dir in member_dirs(&root)? {
        let path = dir.join("Cargo.toml");
        let manifest =
            std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        for problem in manifest_problems(&manifest) {
            offences.push(format!("{}: {problem}", shown(&root, &path)));
        }
    }
    assert!(
        offences.is_empty(),
        "package manifests:\n{}",
        offences.join("\n")
    );
    Ok(())
}

#[test]
fn no_grab_bag_modules() -> anyhow::Result<()> {
    let root = root()?;
    let offences: Vec<String> = files_under(&root.join("crates"))?
        .into_iter()
        .filter(|file| {
            file.file_name()
                .is_some_and(|name| name == "utils.rs" || name == "util.rs" || name == "helpers.rs")
        })
        .map(|file| shown(&root, &file))
        .collect();
    assert!(
        offences.is_empty(),
        "name modules after what they hold, not utils/util/helpers:\n{}",
        offences.join("\n")
    );
    Ok(())
}

#[test]
fn the_checks_catch_what_they_should() {
    let source = "fn a() { x.unwrap(); }\n/// y.unwrap()\n// z.expect(\"\")\nfn b() { w.expect(\"no\"); }\n\
                  #[cfg(test)]\nmod tests { fn c() { v.unwrap(); } }\n";
    assert_eq!(
        panicking_calls("f.rs", source),
        [
            "f.rs:1: fn a() { x.unwrap(); }",
            "f.rs:4: fn b() { w.expect(\"no\"); }"
        ]
    );
    assert!(panicking_calls("f.rs", "fn a() { x.unwrap_or(1); }").is_empty());
    assert!(
        manifest_problems("[package]\nlicense.workspace = true\n[lints]\nworkspace = true\n")
            .is_empty()
    );
    assert!(
        manifest_problems("lints.workspace = true\n[package]\nlicense = \"MIT OR Apache-2.0\"\n")
            .is_empty()
    );
    assert_eq!(manifest_problems("[package]\nlicense = \"MIT\"\n").len(), 2);
    assert_eq!(
        manifest_problems("[package]\n[dependencies]\nworkspace = true\n").len(),
        2
    );
}

//! `diskless-target vhd …` as a user runs it: real files in a temporary directory.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

mod common;

use common::TempDir;
use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_diskless-target"))
        .current_dir(&dir.0)
        .arg("vhd")
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &TempDir, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|i| {
            // Leave every third 64 KiB zero so that dynamic outputs stay sparse.
            if (i / 65536) % 3 == 0 {
                return 0;
            }
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// `golden.vhd` (dynamic, `size`) and the differencing disk `child` over it.
fn golden_and_child(dir: &TempDir, size: &str, child: &str) {
    ok(dir, &["create", "--type", "dynamic", "golden.vhd", size]);
    let args = [
        "create",
        "--type",
        "differencing",
        "--parent",
        "golden.vhd",
        child,
    ];
    ok(dir, &args);
}

#[test]
fn create_info_and_check_a_differencing_chain() {
    let dir = TempDir::new("vhd-cli", "chain");
    golden_and_child(&dir, "64M", "c1.vhd");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["info", "--json", "c1.vhd"])).unwrap();
    let chain = json.as_array().unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0]["type"], "differencing");
    assert_eq!(chain[0]["virtual_size"], 64 << 20);
    assert_eq!(chain[0]["parent"]["name"], "golden.vhd");
    assert_eq!(chain[0]["parent"]["unique_id"], chain[1]["unique_id"]);
    assert!(
        chain[0]["parent"]["found_at"]
            .as_str()
            .unwrap()
            .ends_with("golden.vhd")
    );
    assert_eq!(chain[1]["type"], "dynamic");
    let text = ok(&dir, &["info", "c1.vhd"]);
    assert!(text.contains("locator W2ru: .\\golden.vhd"), "{text}");
    assert!(ok(&dir, &["check", "c1.vhd"]).contains("no errors found"));
}

#[test]
fn info_names_a_missing_parent_and_where_it_looked() {
    let dir = TempDir::new("vhd-cli", "missing");
    ok(&dir, &["create", "--type", "dynamic", "golden.vhd", "8M"]);
    ok(
        &dir,
        &[
            "create",
            "--type",
            "differencing",
            "--parent",
            "golden.vhd",
            "c1.vhd",
        ],
    );
    std::fs::rename(dir.path("golden.vhd"), dir.path("moved.vhd")).unwrap();
    let text = ok(&dir, &["info", "c1.vhd"]);
    assert!(text.contains("NOT FOUND"), "{text}");
    assert!(text.contains("golden.vhd"), "{text}");
}

#[test]
fn check_reports_corruption_and_repair_fixes_it() {
    let dir = TempDir::new("vhd-cli", "check");
    ok(&dir, &["create", "--type", "dynamic", "d.vhd", "8M"]);
    // Damage the trailing footer's checksum: the copy at offset 0 is still good.
    let path = dir.path("d.vhd");
    let mut bytes = std::fs::read(&path).unwrap();
    let footer = bytes.len() - 512;
    bytes[footer + 64] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let out = run(&dir, &["check", "d.vhd"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("d.vhd"), "{text}");
    let out = run(&dir, &["check", "--repair", "--json", "d.vhd"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["clean"], true);
    assert!(!json["repairs"].as_array().unwrap().is_empty());
    assert!(ok(&dir, &["check", "d.vhd"]).contains("no errors found"));
}

#[test]
fn convert_round_trips_and_differencing_output_stores_only_changes() {
    let dir = TempDir::new("vhd-cli", "convert");
    let base = pattern(16 << 20, 7);
    std::fs::write(dir.path("base.raw"), &base).unwrap();
    ok(
        &dir,
        &["convert", "base.raw", "golden.vhd", "--type", "dynamic"],
    );
    ok(
        &dir,
        &["convert", "golden.vhd", "fixed.vhd", "--type", "fixed"],
    );
    ok(&dir, &["convert", "fixed.vhd", "back.raw", "--type", "raw"]);
    assert!(std::fs::read(dir.path("back.raw")).unwrap() == base);

    // A modified copy, converted as a child of the golden image: only the change is stored.
    let mut changed = base.clone();
    changed[5 << 20..(5 << 20) + 1000].fill(0xee);
    std::fs::write(dir.path("changed.raw"), &changed).unwrap();
    ok(
        &dir,
        &[
            "convert",
            "changed.raw",
            "child.vhd",
            "--type",
            "differencing",
            "--parent",
            "golden.vhd",
        ],
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["info", "--json", "child.vhd"])).unwrap();
    assert_eq!(json[0]["allocated_blocks"], 1);
    ok(
        &dir,
        &["convert", "child.vhd", "child.raw", "--type", "raw"],
    );
    assert!(std::fs::read(dir.path("child.raw")).unwrap() == changed);
}

#[test]
fn merge_commits_a_child_into_its_parent() {
    let dir = TempDir::new("vhd-cli", "merge");
    let base = pattern(8 << 20, 3);
    std::fs::write(dir.path("base.raw"), &base).unwrap();
    ok(
        &dir,
        &["convert", "base.raw", "golden.vhd", "--type", "dynamic"],
    );
    let mut changed = base.clone();
    changed[100..5000].fill(0x42);
    std::fs::write(dir.path("changed.raw"), &changed).unwrap();
    ok(
        &dir,
        &[
            "convert",
            "changed.raw",
            "child.vhd",
            "--type",
            "differencing",
            "--parent",
            "golden.vhd",
        ],
    );
    let out = run(&dir, &["merge", "child.vhd"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("recreate"));
    ok(
        &dir,
        &["convert", "golden.vhd", "merged.raw", "--type", "raw"],
    );
    assert!(std::fs::read(dir.path("merged.raw")).unwrap() == changed);
}

#[test]
fn failures_name_the_file_and_leave_nothing_behind() {
    let dir = TempDir::new("vhd-cli", "errors");
    let before = files(&dir.0);
    for (args, needle) in [
        (
            &["create", "--type", "dynamic", "odd.vhd", "1000"][..],
            "odd.vhd",
        ),
        (&["create", "--type", "fixed", "x.vhd"][..], "SIZE"),
        (&["info", "nothere.vhd"][..], "nothere.vhd"),
        (
            &["convert", "nothere.raw", "out.vhd", "--type", "dynamic"][..],
            "nothere.raw",
        ),
        (
            &[
                "create",
                "--type",
                "differencing",
                "--parent",
                "nothere.vhd",
                "c.vhd",
            ][..],
            "nothere.vhd",
        ),
    ] {
        let out = run(&dir, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert_eq!(files(&dir.0), before, "a failed command left files behind");
    // An existing file is never overwritten.
    ok(&dir, &["create", "--type", "dynamic", "d.vhd", "1M"]);
    let out = run(&dir, &["create", "--type", "fixed", "d.vhd", "1M"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

/// A disk held open for writing by another process (here this test, as a server holds a
/// client's disk) can be looked at, with a warning, but not repaired; and a parent that
/// another process holds open (as a server holds the golden image) cannot be merged into.
#[test]
fn disks_in_use_elsewhere_are_inspected_but_never_written() {
    let dir = TempDir::new("vhd-cli", "locks");
    golden_and_child(&dir, "16M", "client.vhd");

    let held = vhd::FileStorage::open_writable(dir.0.join("client.vhd")).unwrap();
    for args in [&["info", "client.vhd"][..], &["check", "client.vhd"]] {
        let out = run(&dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains("client.vhd is open for writing elsewhere"),
            "{args:?}: {stderr}"
        );
    }
    let out = run(&dir, &["check", "--repair", "client.vhd"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("client.vhd") && stderr.contains("locked"),
        "{stderr}"
    );
    drop(held);

    let golden_before = std::fs::read(dir.0.join("golden.vhd")).unwrap();
    let shared = vhd::FileStorage::open_read_only(dir.0.join("golden.vhd")).unwrap();
    let out = run(&dir, &["merge", "client.vhd"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "merged into a golden image in use");
    assert!(
        stderr.contains("golden.vhd") && stderr.contains("locked"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.0.join("golden.vhd")).unwrap(),
        golden_before
    );
    drop(shared);
    ok(&dir, &["merge", "client.vhd"]);
}

//! `diskless-target ibft build` and `ibft dump` as a user runs them: real files in a temporary
//! directory, and iPXE's own tables from crates/ibft/tests/data.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

mod common;

use common::TempDir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_diskless-target"))
        .arg("ibft")
        .args(args)
        .output()
        .unwrap()
}

fn ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn dump_json(file: &Path) -> Value {
    serde_json::from_str(&ok(&["dump".as_ref(), "--json".as_ref(), file.as_os_str()])).unwrap()
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/ibft/tests/data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "the four iPXE fixtures: {files:?}");
    files
}

#[test]
fn build_from_flags_then_dump_round_trips() {
    let dir = TempDir::new("ibft-cli", "flags");
    let table = dir.path("c1.ibft");
    let args = [
        "build",
        "--initiator",
        "iqn.2010-04.org.ipxe:c1",
        "--target",
        "iqn.2025-01.org.example:c1",
        "--target-ip",
        "10.0.2.2",
        "--port",
        "3261",
        "--lun",
        "5",
        "--mac",
        "52-54-00-12-34-99",
        "--ip",
        "10.0.2.15/24",
        "--gateway",
        "10.0.2.2",
        "--dns",
        "10.0.2.3",
        "--dns",
        "1.1.1.1",
        "--dhcp-server",
        "10.0.2.2",
        "--hostname",
        "c1",
        "--chap",
        "user:secretsecret",
        "-o",
    ];
    let mut argv: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    argv.push(table.as_os_str());
    ok(&argv);
    let bytes = std::fs::read(&table).unwrap();
    assert_eq!(&bytes[..4], b"iBFT");
    // Nothing left over from the atomic write.
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);

    let text = ok(&["dump".as_ref(), table.as_os_str()]);
    for needle in [
        "iBFT (BIOS memory)",
        "table sums to 0: ok",
        "\"iqn.2010-04.org.ipxe:c1\"",
        "52:54:00:12:34:99",
        "10.0.2.15",
        "3 (DHCP)",
        "1.1.1.1",
        "port                     3261",
        "LUN                      5 (bytes 0005000000000000)",
        "1 (one-way CHAP)",
        "\"secretsecret\"",
        "Lint: no problems",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let json = dump_json(&table);
    assert_eq!(json["errors"], 0);
    let t = &json["table"];
    assert_eq!(t["nics"][0]["secondary_dns"], "1.1.1.1");
    assert_eq!(t["nics"][0]["hostname"], "c1");
    assert_eq!(t["targets"][0]["lun_number"], 5);
    assert_eq!(t["targets"][0]["chap_name"], "user");
    assert_eq!(t["targets"][1], Value::Null);

    // The output is never overwritten.
    let out = run(&argv);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn build_from_json_with_mutual_chap_for_acpi() {
    let dir = TempDir::new("ibft-cli", "json");
    let params = dir.path("p.json");
    std::fs::write(
        &params,
        r#"{
            "initiator": "iqn.2010-04.org.ipxe:c2",
            "target": "iqn.2025-01.org.example:c2",
            "target_ip": "192.168.1.10",
            "lun": 300,
            "mac": "02:00:00:00:00:02",
            "ip": "192.168.1.50/16",
            "origin": "manual",
            "vlan": 12,
            "pci": "01:00.1",
            "chap": "init:initsecret12",
            "mutual_chap": "tgt:targetsecret1",
            "acpi": true
        }"#,
    )
    .unwrap();
    let table = dir.path("c2.ibft");
    // A flag overrides the JSON file's value.
    ok(&[
        "build".as_ref(),
        "--json".as_ref(),
        params.as_os_str(),
        "--port".as_ref(),
        "3262".as_ref(),
        "-o".as_ref(),
        table.as_os_str(),
    ]);
    assert_eq!(&std::fs::read(&table).unwrap()[..4], b"IBFT");
    let json = dump_json(&table);
    assert_eq!(json["errors"], 0, "{json}");
    let t = &json["table"];
    assert_eq!(t["header"]["signature"], "IBFT");
    assert_eq!(t["nics"][0]["origin"], "manual");
    assert_eq!(t["nics"][0]["prefix_len"], 16);
    assert_eq!(t["nics"][0]["vlan"], 12);
    assert_eq!(t["nics"][0]["pci"], "01:00.1");
    let target = &t["targets"][0];
    assert_eq!(target["port"], 3262);
    assert_eq!(target["lun_number"], 300);
    assert_eq!(target["chap_type"], 2);
    assert_eq!(target["reverse_chap_name"], "tgt");
    assert_eq!(target["reverse_chap_secret"], "targetsecret1");
}

#[test]
fn build_refuses_bad_parameters_and_writes_nothing() {
    let dir = TempDir::new("ibft-cli", "bad");
    let table = dir.path("x.ibft");
    let base = [
        "build",
        "--initiator",
        "iqn.2010-04.org.ipxe:c",
        "--target",
        "iqn.2025-01.org.example:c",
        "--target-ip",
        "10.0.0.1",
        "--mac",
        "02:00:00:00:00:01",
        "--ip",
        "10.0.0.2/8",
    ];
    for (extra, message) in [
        (&["--mutual-chap", "t:targetsecret1"][..], "--chap"),
        (&["--chap", "nosecret"], "USER:SECRET"),
        (
            &[
                "--dns", "10.0.0.1", "--dns", "10.0.0.2", "--dns", "10.0.0.3",
            ],
            "at most two DNS",
        ),
        (&["--pci", "00:20.0"], "device must be at most 31"),
        (&["--lun", "16384"], "16383"),
        (&["--origin", "bogus"], "origin"),
    ] {
        let mut argv: Vec<&std::ffi::OsStr> = base.iter().map(|a| a.as_ref()).collect();
        argv.extend(extra.iter().map(std::ffi::OsStr::new));
        argv.extend(["-o".as_ref(), table.as_os_str()]);
        let out = run(&argv);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        assert!(!table.exists());
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
    }
    // A short CHAP secret is only a warning: the table is written, and the warning shown.
    let mut argv: Vec<&std::ffi::OsStr> = base.iter().map(|a| a.as_ref()).collect();
    argv.extend([
        "--chap".as_ref(),
        "u:short".as_ref(),
        "-o".as_ref(),
        table.as_os_str(),
    ]);
    let out = run(&argv);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warning: target 0"), "{stderr}");
    assert!(table.exists());
}

#[test]
fn dumps_ipxe_tables_cleanly() {
    for file in fixtures() {
        let text = ok(&["dump".as_ref(), file.as_os_str()]);
        assert!(text.contains("iBFT (BIOS memory)"), "{text}");
        assert!(text.contains("Lint: no problems"), "{text}");
        assert!(text.contains("\"FENSYS\""), "{text}");
        let json = dump_json(&file);
        assert_eq!(json["errors"], 0);
        assert_eq!(json["raw"]["checksum_ok"], true);
        assert!(
            json["table"]["initiator"]["name"]
                .as_str()
                .unwrap()
                .starts_with("iqn.")
        );
    }
}

/// The `ibft build` flags that describe the table in `json` (a dump of an iPXE table).
fn flags_for(json: &Value) -> Vec<String> {
    let t = &json["table"];
    let nic = &t["nics"][0];
    let target = &t["targets"][0];
    let s = |v: &Value| v.as_str().unwrap().to_owned();
    let mut flags = vec![
        "--initiator".into(),
        s(&t["initiator"]["name"]),
        "--target".into(),
        s(&target["name"]),
        "--target-ip".into(),
        s(&target["ip"]),
        "--port".into(),
        target["port"].to_string(),
        "--lun".into(),
        target["lun_number"].to_string(),
        "--mac".into(),
        s(&nic["mac"]),
        "--ip".into(),
        format!("{}/{}", s(&nic["ip"]), nic["prefix_len"]),
        "--origin".into(),
        s(&nic["origin"]),
        "--pci".into(),
        s(&nic["pci"]),
        "--vlan".into(),
        nic["vlan"].to_string(),
    ];
    for (flag, field) in [
        ("--gateway", "gateway"),
        ("--dns", "primary_dns"),
        ("--dns", "secondary_dns"),
        ("--dhcp-server", "dhcp_server"),
    ] {
        if let Some(v) = nic[field].as_str() {
            flags.extend([flag.into(), v.into()]);
        }
    }
    if !s(&nic["hostname"]).is_empty() {
        flags.extend(["--hostname".into(), s(&nic["hostname"])]);
    }
    if !s(&target["chap_name"]).is_empty() {
        let chap = format!("{}:{}", s(&target["chap_name"]), s(&target["chap_secret"]));
        flags.extend(["--chap".into(), chap]);
    }
    if !s(&target["reverse_chap_name"]).is_empty() {
        let chap = format!(
            "{}:{}",
            s(&target["reverse_chap_name"]),
            s(&target["reverse_chap_secret"])
        );
        flags.extend(["--mutual-chap".into(), chap]);
    }
    flags
}

#[test]
fn build_reproduces_ipxe_tables_from_their_parameters() {
    let dir = TempDir::new("ibft-cli", "ipxe");
    for (n, file) in fixtures().into_iter().enumerate() {
        let theirs = dump_json(&file);
        let table = dir.path(&format!("{n}.ibft"));
        let mut argv: Vec<std::ffi::OsString> = vec!["build".into()];
        argv.extend(flags_for(&theirs).into_iter().map(Into::into));
        argv.extend(["-o".into(), table.clone().into_os_string()]);
        ok(&argv);
        let ours = dump_json(&table);
        assert_eq!(ours["errors"], 0);
        // Every field of the structures matches; the header's OEM IDs and the layout may differ.
        for part in ["control", "initiator", "nics", "targets"] {
            assert_eq!(
                ours["table"][part],
                theirs["table"][part],
                "{}: {part}",
                file.display()
            );
        }
    }
}

#[test]
fn dump_lints_broken_tables_with_exit_code_2() {
    let dir = TempDir::new("ibft-cli", "broken");
    let fixture = &fixtures()[0];
    let mut bytes = std::fs::read(fixture).unwrap();
    // A wrong checksum: unreadable for Linux, an error for the lint.
    bytes[9] = bytes[9].wrapping_add(1);
    let broken = dir.path("checksum.bin");
    std::fs::write(&broken, &bytes).unwrap();
    let out = run(&["dump".as_ref(), broken.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("does NOT sum to 0"), "{text}");
    assert!(text.contains("error:"), "{text}");
    let out = run(&["dump".as_ref(), "--json".as_ref(), broken.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["errors"].as_u64().unwrap() >= 1);
    assert_eq!(json["table"], Value::Null);
    assert!(json["parse_error"].is_string());

    // Truncated and garbage files are explained too, never a crash.
    for (name, content) in [
        ("short.bin", &bytes[..60]),
        ("junk.bin", b"hello".as_slice()),
    ] {
        let path = dir.path(name);
        std::fs::write(&path, content).unwrap();
        let out = run(&["dump".as_ref(), path.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
    }

    // A missing file is a usage error (1), not a lint result.
    let out = run(&["dump".as_ref(), dir.path("missing").as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
}

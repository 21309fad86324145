//! `interop-ipxe-scripts`: every script of [`ipxe_script::catalogue`] runs in real iPXE.
//!
//! A golden image holding the probe boot sector (see [`crate::probe`]) gets one differencing child
//! per guest; `diskless-target serve` on 127.0.0.1 serves one target per guest. The catalogue is
//! rendered once against a [`TestTarget`] whose target and initiator IQNs hold `${net0/mac}`
//! templates, so each guest (its own MAC) logs in to its own target as its own initiator: the target
//! config holds the names the guest's MAC expands to, which proves the templates expand as intended.
//! The CHAP scripts' targets require one-way CHAP and also hold mutual CHAP credentials (the
//! initiator chooses).
//!
//! Every script must boot the probe (QEMU exit 33: golden data read, stamp written and read back,
//! iBFT found), and the stamp must land in that guest's own disk. Three more guests prove that CHAP
//! is really negotiated, and must NOT boot: the mutual-CHAP script with a wrong reverse secret, the
//! one-way script with a wrong secret, and the seed-shape script (no CHAP) against a CHAP target.
//! Their disks must still read the golden data afterwards.

use std::fmt::Write as _;
use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use ipxe_script::{Chap as ScriptChap, IscsiName, Lun as ScriptLun, Server as ScriptServer};
use ipxe_script::{NamedScript, TestTarget, catalogue};

use crate::Ctx;
use crate::lab::{Chap, Lun, LunFile, Server, ServerKind, Setup, TargetNode};
use crate::probe::{self, EXIT_OK, GOLDEN_DATA, SECTOR};
use crate::qemu_boot::{self, BootSpec};
use crate::report::Outcome;
use crate::testcu::{report_path, tail, write_report};
use crate::vhd_files;

/// Size of the golden image.
const GOLDEN_BYTES: usize = 64 << 20;
/// The host as QEMU's user network shows it to the guests (used only inside their scripts).
const GUEST_HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The target IQN template of the rendered scripts (the seed's `${net0/mac}` form, with colons).
const TARGET_TEMPLATE: &str = "iqn.2026-12.test.scripts:disk-${net0/mac}";
/// The initiator IQN template of the rendered scripts.
const INITIATOR_TEMPLATE: &str = "iqn.2026-12.test.scripts.initiator:${net0/mac:hexhyp}";
/// Longest a guest that must boot may take (up to ten TCG guests share two cores in CI).
const BOOT_TIMEOUT: Duration = Duration::from_secs(240);
/// Longest a guest that must not boot is watched (it normally stops at once on a failure message).
const REFUSE_TIMEOUT: Duration = Duration::from_secs(120);

/// iPXE's message when it rejects the target's mutual-CHAP response (EACCES).
const INITIATOR_REFUSED: &str = "Permission denied";
/// iPXE's message when the target rejects its login (an authentication failure: EPERM).
const TARGET_REFUSED: &str = "Operation not permitted";

/// The CHAP credentials the scripts use and the CHAP targets hold.
struct Creds {
    user: &'static str,
    secret: &'static str,
    target_user: &'static str,
    target_secret: &'static str,
}

/// The right credentials.
const CREDS: Creds = Creds {
    user: "scripts-user",
    secret: "scripts-secret-01",
    target_user: "scripts-target",
    target_secret: "target-secret-234",
};

/// The test target of the catalogue, with `chap`/`mutual_chap` built from the given secrets.
fn test_target(port: u16, secret: &str, target_secret: &str) -> Result<TestTarget> {
    Ok(TestTarget {
        server: ScriptServer::Ipv4(GUEST_HOST),
        port,
        lun: ScriptLun::ZERO,
        target: IscsiName::new(TARGET_TEMPLATE)?,
        initiator: IscsiName::new(INITIATOR_TEMPLATE)?,
        chap: ScriptChap::one_way(CREDS.user, secret)?,
        mutual_chap: ScriptChap::mutual(CREDS.user, secret, CREDS.target_user, target_secret)?,
    })
}

/// One guest of the step.
#[derive(Debug, Clone)]
struct Case {
    /// The guest's name (files, messages).
    guest: String,
    /// The catalogue script it runs.
    script: &'static str,
    /// The script's description, or why this guest must not boot.
    what: String,
    /// The rendered script.
    text: String,
    /// The guest's MAC.
    mac: String,
    /// Its target requires CHAP (and holds mutual credentials).
    chap_target: bool,
    /// It must boot the probe.
    must_boot: bool,
    /// For a guest that must not boot: the iPXE error that says why (`Permission denied`: iPXE
    /// rejected the target's CHAP response; `Operation not permitted`: the target refused the login).
    refusal: Option<&'static str>,
}

/// `${net0/mac}` and `${net0/mac:hexhyp}` as iPXE expands them for `mac` (lower-case hex).
fn expand(template: &str, mac: &str) -> Result<String> {
    let mac = mac.to_ascii_lowercase();
    let out = template
        .replace("${net0/mac:hexhyp}", &mac.replace(':', "-"))
        .replace("${net0/mac}", &mac);
    ensure!(
        !out.contains("${"),
        "`{template}` has a template this step cannot expand"
    );
    Ok(out)
}

/// The value of the script's `set NAME VALUE` line.
fn setting(text: &str, name: &str) -> Option<String> {
    let prefix = format!("set {name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::to_owned)
}

/// Finds `name` in a rendered catalogue.
fn pick(all: &[NamedScript], name: &str) -> Result<NamedScript> {
    all.iter()
        .find(|s| s.name == name)
        .cloned()
        .with_context(|| format!("the catalogue has no `{name}` script any more"))
}

/// The guests: every catalogue script, then the ones that must be refused.
fn cases(port: u16) -> Result<Vec<Case>> {
    let good = catalogue(&test_target(port, CREDS.secret, CREDS.target_secret)?)?;
    let wrong_reverse = catalogue(&test_target(port, CREDS.secret, "wrong-target-99")?)?;
    let wrong_secret = catalogue(&test_target(port, "wrong-secret-99", CREDS.target_secret)?)?;
    let mut out = Vec::new();
    let mut push =
        |script: &NamedScript, what: String, chap_target: bool, refusal: Option<&'static str>| {
            let i = out.len() + 1;
            let must_boot = refusal.is_none();
            out.push(Case {
                guest: if must_boot {
                    script.name.to_owned()
                } else {
                    format!("refused{i}-{}", script.name)
                },
                script: script.name,
                what,
                text: script.script.to_string(),
                mac: format!("52:54:00:00:03:{i:02x}"),
                chap_target,
                must_boot,
                refusal,
            });
        };
    for script in &good {
        let text = script.script.to_string();
        // A script that sends CHAP credentials goes to a target that requires them.
        let chap = setting(&text, "username").is_some();
        push(script, script.description.to_owned(), chap, None);
    }
    push(
        &pick(&wrong_reverse, "mutual-chap")?,
        "mutual-chap with a wrong reverse-password: iPXE must reject the target's CHAP response"
            .into(),
        true,
        Some(INITIATOR_REFUSED),
    );
    push(
        &pick(&wrong_secret, "one-way-chap")?,
        "one-way-chap with a wrong password: the target must refuse the login".into(),
        true,
        Some(TARGET_REFUSED),
    );
    push(
        &pick(&good, "seed-shape")?,
        "seed-shape (no CHAP) against a target that requires CHAP: the target must refuse".into(),
        true,
        Some(TARGET_REFUSED),
    );
    Ok(out)
}

/// What happened to one guest, and whether that is what had to happen.
struct Verdict {
    good: bool,
    lines: String,
}

/// `interop-ipxe-scripts`: see the module documentation.
pub(crate) fn step(ctx: &Ctx) -> Result<Outcome> {
    let started = Instant::now();
    let kind = ServerKind::Ours;
    let tmp = ctx.sh.create_temp_dir()?;
    let work = tmp.path();
    let mbr = probe::assemble(ctx, work)?;
    let golden_raw = probe::golden_disk(&mbr, GOLDEN_BYTES)?;
    let raw = work.join("golden.img");
    fs::write(&raw, &golden_raw)?;
    let golden = work.join("golden.vhd");
    vhd_files::convert_raw(ctx, &raw, &golden)?;
    let golden_before = fs::read(&golden)?;

    // The cases are rendered with the server's port, known only once it runs: the port is taken
    // first, the targets are named by MAC, which does not depend on it.
    let probe_cases = cases(ipxe_script::DEFAULT_ISCSI_PORT)?;
    let mut children = Vec::new();
    let mut targets = Vec::new();
    for case in &probe_cases {
        let child = work.join(format!("{}.vhd", case.guest));
        vhd_files::create_child(ctx, &golden, &child)?;
        let initiator = setting(&case.text, "initiator-iqn")
            .with_context(|| format!("{}: the script sets no initiator-iqn", case.script))?;
        let chap = case.chap_target.then(|| Chap {
            user: CREDS.user.into(),
            secret: CREDS.secret.into(),
        });
        let mutual_chap = case.chap_target.then(|| Chap {
            user: CREDS.target_user.into(),
            secret: CREDS.target_secret.into(),
        });
        targets.push(TargetNode {
            name: case.guest.clone(),
            iqn: expand(TARGET_TEMPLATE, &case.mac)?,
            initiators: vec![expand(&initiator, &case.mac)?],
            chap,
            mutual_chap,
            lun: Lun {
                path: child.clone(),
                file: LunFile::Vhd,
                read_only: false,
            },
        });
        children.push(child);
    }
    let setup = Setup {
        golden: Some(golden.clone()),
        targets,
    };
    let server = Server::start(ctx, kind, work, &setup)?;
    let cases = cases(server.port)?;
    ensure!(
        cases.len() == probe_cases.len(),
        "the catalogue changed between two renderings"
    );
    let specs: Vec<BootSpec> = cases
        .iter()
        .zip(&setup.targets)
        .map(|(case, target)| BootSpec {
            name: case.guest.clone(),
            target_iqn: target.iqn.clone(),
            lun: kind.data_lun(),
            port: server.port,
            initiator: target.initiators[0].clone(),
            mac: case.mac.clone(),
            chap: None,
            timeout: if case.must_boot {
                BOOT_TIMEOUT
            } else {
                REFUSE_TIMEOUT
            },
        })
        .collect();
    let texts: Vec<String> = cases.iter().map(|c| c.text.clone()).collect();
    let results = qemu_boot::boot_all_scripts(&specs, &texts, work);
    let server_log = server.daemon.log_text();
    let stopped = server.stop()?;
    let results = results?;

    let mut problems = Vec::new();
    let mut report = format!(
        "Every ipxe-script catalogue script booted by real iPXE in QEMU from {} on 127.0.0.1 \
         (10.0.2.2 in the guests); {} guests at once\n\
         target IQN template {TARGET_TEMPLATE}, initiator IQN template {INITIATOR_TEMPLATE}\n\
         CHAP targets: chap user {}, mutual_chap user {}\n",
        kind.name(),
        cases.len(),
        CREDS.user,
        CREDS.target_user,
    );
    for ((case, result), (child, target)) in cases
        .iter()
        .zip(&results)
        .zip(children.iter().zip(&setup.targets))
    {
        let verdict = judge(case, result, child, &golden)?;
        let _ = writeln!(
            report,
            "\n{} {} ({}; must {}): {}\n  MAC {}, target {}{}, admits {}\n{}\n  script:\n{}",
            if verdict.good { "ok  " } else { "FAIL" },
            case.guest,
            case.script,
            if case.must_boot { "boot" } else { "NOT boot" },
            case.what,
            case.mac,
            target.iqn,
            if case.chap_target {
                " (CHAP + mutual CHAP credentials)"
            } else {
                " (no CHAP)"
            },
            target.initiators.join(", "),
            verdict.lines,
            case.text
                .lines()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        if !verdict.good {
            problems.push(format!("{} ({})", case.guest, case.script));
        }
    }
    if fs::read(&golden)? != golden_before {
        problems.push("the golden image changed".into());
    } else {
        let _ = writeln!(report, "\ngolden image: byte-identical after every boot");
    }
    if server_log.contains("panicked") {
        problems.push(format!("the server panicked:\n{}", tail(&server_log, 20)));
    }
    if stopped != Some(0) {
        problems.push(format!(
            "the server did not exit cleanly on SIGTERM (status {stopped:?})"
        ));
    }
    let _ = writeln!(
        report,
        "\nstep runtime: {:.0} s; result: {}",
        started.elapsed().as_secs_f64(),
        if problems.is_empty() {
            "PASS".to_owned()
        } else {
            format!("FAIL: {}", problems.join("; "))
        }
    );
    write_report(&report_path(ctx, "ipxe-scripts-latest.txt"), &report);
    eprintln!("{report}");
    if problems.is_empty() {
        Ok(Outcome::Pass)
    } else {
        Ok(Outcome::Fail(problems.join("; ")))
    }
}

/// Checks one guest's boot: a script that must boot ran the probe to the end and its stamp is in
/// its own disk; one that must not boot never reached the disk, which still reads golden data.
fn judge(
    case: &Case,
    result: &qemu_boot::BootResult,
    child: &Path,
    golden: &Path,
) -> Result<Verdict> {
    let out = probe::parse_serial(&result.serial);
    let want = probe::stamp_for(&case.mac);
    let lba2 = vhd_files::libvhdi_read(child, golden, 2 * SECTOR as u64, SECTOR)?;
    let mut lines = format!(
        "  qemu exit {:?}: {}\n  progress: {}\n  stamp: {}\n  iBFT: {} bytes",
        result.status,
        probe::explain_exit(result.status),
        if out.progress.is_empty() {
            "-".to_owned()
        } else {
            out.progress.join(" ")
        },
        out.stamp.as_deref().unwrap_or("-"),
        out.ibft.as_ref().map_or(0, Vec::len),
    );
    let mut bad = Vec::new();
    if case.must_boot {
        if result.status != Some(EXIT_OK) {
            bad.push("the probe did not finish (exit 33)".to_owned());
        }
        for word in ["MBR-OK", "READ-OK", "WRITE-OK"] {
            if !out.progress.iter().any(|w| w == word) {
                bad.push(format!("no {word}"));
            }
        }
        if out.stamp.as_deref() != Some(want.as_str()) {
            bad.push(format!("stamp {:?}, expected {want}", out.stamp));
        }
        if !lba2.starts_with(want.as_bytes()) {
            bad.push("LBA 2 of its own disk does not hold its stamp".into());
        }
        if result.serial.contains("boot failed:") {
            bad.push("the script reached its failure label".into());
        }
    } else {
        if result.status == Some(EXIT_OK) || result.serial.contains("MBR-OK") {
            bad.push("the disk booted".into());
        }
        if let Some(refusal) = case.refusal
            && !result
                .serial
                .contains(&format!("Could not open SAN device: {refusal}"))
        {
            bad.push(format!(
                "no \"Could not open SAN device: {refusal}\" on the console"
            ));
        }
        if !lba2.starts_with(GOLDEN_DATA) {
            bad.push("LBA 2 of its disk is no longer the golden data".into());
        }
    }
    let good = bad.is_empty();
    if !good {
        let _ = write!(lines, "\n  problems: {}", bad.join("; "));
    }
    if !good || !case.must_boot {
        let console = qemu_boot::interesting_lines(&result.serial);
        let _ = write!(
            lines,
            "\n  console:\n{}",
            tail(&console, 12)
                .lines()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(Verdict { good, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_mac_templates_like_ipxe() {
        assert_eq!(
            expand(TARGET_TEMPLATE, "52:54:00:00:03:0A").unwrap(),
            "iqn.2026-12.test.scripts:disk-52:54:00:00:03:0a"
        );
        assert_eq!(
            expand(INITIATOR_TEMPLATE, "52:54:00:00:03:01").unwrap(),
            "iqn.2026-12.test.scripts.initiator:52-54-00-00-03-01"
        );
        assert!(expand("iqn.x:${net0/ip}", "52:54:00:00:03:01").is_err());
    }

    #[test]
    fn every_catalogue_script_gets_a_guest_and_three_are_refused() {
        let all = cases(3261).unwrap();
        let names = catalogue(&test_target(3261, CREDS.secret, CREDS.target_secret).unwrap())
            .unwrap()
            .len();
        assert_eq!(all.iter().filter(|c| c.must_boot).count(), names);
        assert_eq!(all.iter().filter(|c| !c.must_boot).count(), 3);
        assert!(all.iter().all(|c| c.must_boot == c.refusal.is_none()));
        let mut macs: Vec<&str> = all.iter().map(|c| c.mac.as_str()).collect();
        macs.sort_unstable();
        macs.dedup();
        assert_eq!(macs.len(), all.len());
        let chap: Vec<&str> = all
            .iter()
            .filter(|c| c.must_boot && c.chap_target)
            .map(|c| c.script)
            .collect();
        assert_eq!(chap, ["one-way-chap", "mutual-chap"]);
        let per_mac = all
            .iter()
            .find(|c| c.script == "per-mac-initiator")
            .unwrap();
        assert_eq!(
            setting(&per_mac.text, "initiator-iqn").as_deref(),
            Some("iqn.2010-04.org.ipxe:${net0/mac:hexhyp}")
        );
        for case in &all {
            assert!(case.text.contains("10.0.2.2"), "{}", case.text);
            assert!(case.text.contains(":3261:"), "{}", case.text);
        }
    }
}

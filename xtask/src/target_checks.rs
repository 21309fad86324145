//! The target checks with real clients: `interop-ipxe` (two iPXE clients in QEMU sanboot at once),
//! `interop-acl` (wrong initiator IQN, wrong CHAP secret, SendTargets filtering) and `interop-qemu-io`
//! (qemu-io writes patterns over `iscsi://`, libvhdi reads them back from the files after the target
//! stopped).
//!
//! Each step starts its own server on a free loopback port in a temporary directory. `XTASK_TARGET=tgt`
//! runs the same checks against tgt on raw files, which proves the checks themselves.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::Ctx;
use crate::lab::{Chap, Lun, LunFile, Server, ServerKind, Setup, TargetNode};
use crate::probe::{self, EXIT_OK, SECTOR};
use crate::qemu_boot::{self, BootSpec};
use crate::report::Outcome;
use crate::testcu::{report_path, tail, write_report};
use crate::vhd_files;

/// Size of the golden image of the boot and qemu-io checks.
const GOLDEN_BYTES: usize = 64 << 20;

/// A client of a check: its name, target IQN, initiator IQN and MAC.
struct Client {
    name: &'static str,
    mac: &'static str,
}

/// The clients of the boot checks.
const CLIENTS: [Client; 2] = [
    Client {
        name: "client1",
        mac: "52:54:00:00:00:01",
    },
    Client {
        name: "client2",
        mac: "52:54:00:00:00:02",
    },
];

impl Client {
    fn target_iqn(&self) -> String {
        format!("iqn.2026-11.test.target:{}", self.name)
    }
    fn initiator(&self) -> String {
        format!("iqn.2026-11.test.initiator:{}", self.name)
    }
    /// Its target serving `child` (stored as `file`), admitting its initiator, without CHAP.
    fn node(&self, child: &Path, file: LunFile) -> TargetNode {
        TargetNode {
            name: self.name.to_owned(),
            iqn: self.target_iqn(),
            initiators: vec![self.initiator()],
            chap: None,
            mutual_chap: None,
            lun: Lun {
                path: child.to_path_buf(),
                file,
                read_only: false,
            },
        }
    }
}

/// The golden image and one child per client: a VHD chain for ours, raw copies for tgt. Returns
/// `(golden path, child paths, lun file kind)`.
fn make_disks(
    ctx: &Ctx,
    kind: ServerKind,
    work: &Path,
    golden_raw: &[u8],
    names: &[&str],
) -> Result<(PathBuf, Vec<PathBuf>, LunFile)> {
    let raw = work.join("golden.img");
    fs::write(&raw, golden_raw)?;
    match kind {
        ServerKind::Tgt => {
            let mut children = Vec::new();
            for name in names {
                let child = work.join(format!("{name}.img"));
                fs::copy(&raw, &child)?;
                children.push(child);
            }
            Ok((raw, children, LunFile::Raw))
        }
        ServerKind::Ours => {
            let golden = work.join("golden.vhd");
            vhd_files::convert_raw(ctx, &raw, &golden)?;
            let mut children = Vec::new();
            for name in names {
                let child = work.join(format!("{name}.vhd"));
                vhd_files::create_child(ctx, &golden, &child)?;
                children.push(child);
            }
            Ok((golden, children, LunFile::Vhd))
        }
    }
}

/// Reads `len` bytes at `offset` of a client's disk after the server stopped: libvhdi over the chain
/// for ours, the raw file for tgt.
fn read_child(
    kind: ServerKind,
    child: &Path,
    golden: &Path,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>> {
    match kind {
        ServerKind::Ours => vhd_files::libvhdi_read(child, golden, offset, len),
        ServerKind::Tgt => {
            let bytes = fs::read(child)?;
            let start = usize::try_from(offset)?;
            bytes
                .get(start..start + len)
                .map(<[u8]>::to_vec)
                .context("read past the end of the raw file")
        }
    }
}

/// `interop-ipxe`: two clients sanboot the probe at the same time from their own targets.
pub(crate) fn ipxe(ctx: &Ctx) -> Result<Outcome> {
    let kind = ServerKind::from_env()?;
    let tmp = ctx.sh.create_temp_dir()?;
    let work = tmp.path();
    let mbr = probe::assemble(ctx, work)?;
    let golden_raw = probe::golden_disk(&mbr, GOLDEN_BYTES)?;
    let names: Vec<&str> = CLIENTS.iter().map(|c| c.name).collect();
    let (golden, children, file) = make_disks(ctx, kind, work, &golden_raw, &names)?;
    let golden_before = fs::read(&golden)?;
    let setup = Setup {
        golden: (kind == ServerKind::Ours).then(|| golden.clone()),
        targets: CLIENTS
            .iter()
            .zip(&children)
            .map(|(client, child)| client.node(child, file))
            .collect(),
    };
    let server = Server::start(ctx, kind, work, &setup)?;
    let specs: Vec<BootSpec> = CLIENTS
        .iter()
        .map(|client| BootSpec {
            name: client.name.to_owned(),
            target_iqn: client.target_iqn(),
            lun: kind.data_lun(),
            port: server.port,
            initiator: client.initiator(),
            mac: client.mac.to_owned(),
            chap: None,
            timeout: Duration::from_secs(120),
        })
        .collect();
    let results = qemu_boot::boot_all(&specs, work);
    let server_log = server.daemon.log_text();
    server.stop()?;
    let results = results?;

    let mut problems = Vec::new();
    let mut report = format!(
        "iPXE sanboot of the probe from {} (two clients at once)\n",
        kind.name()
    );
    for (result, (client, child)) in results.iter().zip(CLIENTS.iter().zip(&children)) {
        let out = probe::parse_serial(&result.serial);
        let want = probe::stamp_for(client.mac);
        let _ = writeln!(
            report,
            "\n{}: qemu exit {:?}: {}\n  progress: {}\n  stamp: {}\n  iBFT ({} bytes): {}",
            client.name,
            result.status,
            probe::explain_exit(result.status),
            out.progress.join(" "),
            out.stamp.as_deref().unwrap_or("-"),
            out.ibft.as_ref().map_or(0, Vec::len),
            out.ibft.as_ref().map_or(String::from("-"), |b| hex(b)),
        );
        if result.status != Some(EXIT_OK) {
            let _ = writeln!(
                report,
                "  console:\n{}",
                qemu_boot::interesting_lines(&result.serial)
            );
            problems.push(format!(
                "{}: {}",
                client.name,
                probe::explain_exit(result.status)
            ));
            continue;
        }
        if out.stamp.as_deref() != Some(want.as_str()) {
            problems.push(format!(
                "{}: stamp {:?}, expected {want}",
                client.name, out.stamp
            ));
        }
        // The write landed in this client's disk, and only there.
        let lba2 = read_child(kind, child, &golden, 2 * SECTOR as u64, SECTOR)?;
        if !lba2.starts_with(want.as_bytes()) {
            problems.push(format!(
                "{}: LBA 2 of its disk does not hold its stamp after the target stopped",
                client.name
            ));
        }
        // Reads through the child still reach the golden data.
        let lba5 = read_child(kind, child, &golden, 5 * SECTOR as u64, SECTOR)?;
        if lba5 != golden_raw[5 * SECTOR..6 * SECTOR] {
            problems.push(format!(
                "{}: LBA 5 of its disk is not the golden data",
                client.name
            ));
        }
    }
    if fs::read(&golden)? != golden_before {
        problems.push("the golden image changed".into());
    } else {
        let _ = writeln!(report, "\ngolden image: byte-identical after both boots");
    }
    if server_log.contains("panicked") {
        problems.push(format!("the server panicked:\n{}", tail(&server_log, 20)));
    }
    write_report(&report_path(ctx, "ipxe-latest.txt"), &report);
    eprintln!("{report}");
    if problems.is_empty() {
        Ok(Outcome::Pass)
    } else {
        Ok(Outcome::Fail(problems.join("; ")))
    }
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Runs a libiscsi tool; returns (success, stdout + stderr).
fn libiscsi(program: &str, args: &[&str]) -> Result<(bool, String)> {
    crate::report::output_within(30, program, args)
}

/// `interop-acl`: only the assigned initiator with the right CHAP secret logs in, and discovery shows an
/// initiator only its own targets; with libiscsi's tools and with iPXE.
pub(crate) fn acl(ctx: &Ctx) -> Result<Outcome> {
    let kind = ServerKind::from_env()?;
    let tmp = ctx.sh.create_temp_dir()?;
    let work = tmp.path();
    let mbr = probe::assemble(ctx, work)?;
    let golden_raw = probe::golden_disk(&mbr, GOLDEN_BYTES)?;
    let names: Vec<&str> = CLIENTS.iter().map(|c| c.name).collect();
    let (golden, children, file) = make_disks(ctx, kind, work, &golden_raw, &names)?;
    let chap = Chap {
        user: "client1-user".into(),
        secret: "client1-secret".into(),
    };
    let wrong = Chap {
        user: chap.user.clone(),
        secret: "wrong-secret12".into(),
    };
    let setup = Setup {
        golden: (kind == ServerKind::Ours).then(|| golden.clone()),
        targets: CLIENTS
            .iter()
            .zip(&children)
            .map(|(client, child)| TargetNode {
                // client1's target wants CHAP; client2's does not.
                chap: (client.name == "client1").then(|| chap.clone()),
                ..client.node(child, file)
            })
            .collect(),
    };
    let server = Server::start(ctx, kind, work, &setup)?;
    let (c1, c2) = (&CLIENTS[0], &CLIENTS[1]);
    let mut problems = Vec::new();
    let mut report = format!("ACL and CHAP checks against {}\n", kind.name());
    let mut expect = |what: &str,
                      program: &str,
                      args: &[&str],
                      ok: bool,
                      must_list: &[String],
                      must_not: &[String]|
     -> Result<()> {
        let (success, text) = libiscsi(program, args)?;
        let listed_ok = must_list.iter().all(|t| text.contains(t.as_str()));
        let hidden_ok = must_not.iter().all(|t| !text.contains(t.as_str()));
        let good = success == ok && (!ok || (listed_ok && hidden_ok));
        let _ = writeln!(
            report,
            "{} {what}: {program} {} -> {}",
            if good { "ok  " } else { "FAIL" },
            args.join(" "),
            if success { "logged in" } else { "refused" }
        );
        if !good {
            let _ = writeln!(
                report,
                "      output: {}",
                text.trim().replace('\n', "\n      ")
            );
            problems.push(what.to_owned());
        }
        Ok(())
    };
    let i1 = c1.initiator();
    let i2 = c2.initiator();
    let good_url = server.url(&c1.target_iqn(), Some(&chap));
    let wrong_url = server.url(&c1.target_iqn(), Some(&wrong));
    let bare_url = server.url(&c1.target_iqn(), None);
    let url2 = server.url(&c2.target_iqn(), None);
    let portal = server.portal_url();
    let t1 = vec![c1.target_iqn()];
    let t2 = vec![c2.target_iqn()];
    expect(
        "the assigned initiator with the right CHAP secret logs in",
        "iscsi-inq",
        &["-i", &i1, &good_url],
        true,
        &[],
        &[],
    )?;
    expect(
        "a wrong CHAP secret is refused",
        "iscsi-inq",
        &["-i", &i1, &wrong_url],
        false,
        &[],
        &[],
    )?;
    expect(
        "no CHAP where CHAP is required is refused",
        "iscsi-inq",
        &["-i", &i1, &bare_url],
        false,
        &[],
        &[],
    )?;
    expect(
        "another client's initiator IQN is refused (with the right secret)",
        "iscsi-inq",
        &["-i", &i2, &good_url],
        false,
        &[],
        &[],
    )?;
    expect(
        "client2 logs in to its own target",
        "iscsi-inq",
        &["-i", &i2, &url2],
        true,
        &[],
        &[],
    )?;
    expect(
        "client1 is refused by client2's target",
        "iscsi-inq",
        &["-i", &i1, &url2],
        false,
        &[],
        &[],
    )?;
    expect(
        "SendTargets for client1 lists only client1's target",
        "iscsi-ls",
        &["-i", &i1, &portal],
        true,
        &t1,
        &t2,
    )?;
    expect(
        "SendTargets for client2 lists only client2's target",
        "iscsi-ls",
        &["-i", &i2, &portal],
        true,
        &t2,
        &t1,
    )?;

    // iPXE: right secret boots; a wrong secret and a wrong IQN do not.
    let spec = |name: &str, initiator: String, chap: Option<Chap>, timeout: u64| BootSpec {
        name: name.to_owned(),
        target_iqn: c1.target_iqn(),
        lun: kind.data_lun(),
        port: server.port,
        initiator,
        mac: c1.mac.to_owned(),
        chap,
        timeout: Duration::from_secs(timeout),
    };
    let boots = vec![
        spec("ipxe-right-chap", i1.clone(), Some(chap.clone()), 120),
        spec("ipxe-wrong-secret", i1.clone(), Some(wrong.clone()), 40),
        spec("ipxe-wrong-iqn", i2.clone(), Some(chap.clone()), 40),
    ];
    let results = qemu_boot::boot_all(&boots, work);
    let server_log = server.daemon.log_text();
    server.stop()?;
    for result in results? {
        let want_ok = result.spec.name == "ipxe-right-chap";
        let booted = result.status == Some(EXIT_OK);
        let probe_ran = result.serial.contains("MBR-OK");
        let good = if want_ok { booted } else { !probe_ran };
        let _ = writeln!(
            report,
            "{} {}: qemu exit {:?} ({})",
            if good { "ok  " } else { "FAIL" },
            result.spec.name,
            result.status,
            if probe_ran {
                "the disk booted"
            } else {
                "no boot"
            }
        );
        if !good {
            let _ = writeln!(
                report,
                "      console:\n{}",
                qemu_boot::interesting_lines(&result.serial)
            );
            problems.push(result.spec.name.clone());
        }
    }
    if server_log.contains("panicked") {
        problems.push(format!("the server panicked:\n{}", tail(&server_log, 20)));
    }
    eprintln!("{report}");
    write_report(&report_path(ctx, "acl-latest.txt"), &report);
    if problems.is_empty() {
        Ok(Outcome::Pass)
    } else {
        Ok(Outcome::Fail(problems.join("; ")))
    }
}

/// A small deterministic generator (xorshift64*) for the write pattern offsets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One pattern write: offset, length, byte.
#[derive(Debug, Clone, Copy)]
struct PatternWrite {
    offset: u64,
    len: u64,
    byte: u8,
}

/// Non-overlapping sector-aligned writes at random offsets of a disk of `size` bytes.
fn pattern_writes(seed: u64, size: u64, count: usize) -> Vec<PatternWrite> {
    let mut rng = Rng(seed | 1);
    let mut writes: Vec<PatternWrite> = Vec::new();
    while writes.len() < count {
        let len = (1 + rng.next() % 256) * SECTOR as u64;
        // Keep clear of the probe's first sectors.
        let offset =
            (16 + rng.next() % (size / SECTOR as u64 - 16 - len / SECTOR as u64)) * SECTOR as u64;
        let overlaps = writes
            .iter()
            .any(|w| offset < w.offset + w.len && w.offset < offset + len);
        if !overlaps {
            let byte = 0x10 + (writes.len() as u8) * 7;
            writes.push(PatternWrite { offset, len, byte });
        }
    }
    writes
}

/// Runs qemu-io on `url` with one `-c` per command.
fn qemu_io(url: &str, commands: &[String]) -> Result<String> {
    let mut cmd = Command::new("timeout");
    cmd.args(["300", "qemu-io", "-f", "raw"]);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    cmd.arg(url);
    let out = cmd.output().context("running qemu-io")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(out.status.success(), "qemu-io failed: {}", tail(&text, 20));
    Ok(text)
}

/// `interop-qemu-io`: qemu-io writes patterns at random offsets over `iscsi://`, reads them back on a new
/// connection, `qemu-img info` sees the size; after the target stops, libvhdi finds the same bytes in the
/// differencing VHD with its parent, and the golden data where nothing was written.
pub(crate) fn qemu_io_step(ctx: &Ctx) -> Result<Outcome> {
    let kind = ServerKind::from_env()?;
    let tmp = ctx.sh.create_temp_dir()?;
    let work = tmp.path();
    let mut mbr = vec![0u8; SECTOR];
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    let golden_raw = probe::golden_disk(&mbr, GOLDEN_BYTES)?;
    let (golden, children, file) = make_disks(ctx, kind, work, &golden_raw, &["client1"])?;
    let golden_before = fs::read(&golden)?;
    let client = &CLIENTS[0];
    let setup = Setup {
        golden: (kind == ServerKind::Ours).then(|| golden.clone()),
        targets: vec![TargetNode {
            // qemu's iSCSI driver names itself iqn.2008-11.org.linux-kvm[:<vm name>].
            initiators: vec!["iqn.2008-11.org.linux-kvm".into()],
            ..client.node(&children[0], file)
        }],
    };
    let server = Server::start(ctx, kind, work, &setup)?;
    let url = server.url(&client.target_iqn(), None);
    let writes = pattern_writes(0x5eed_1234, GOLDEN_BYTES as u64, 24);
    let run = || -> Result<()> {
        let info = Command::new("qemu-img")
            .args(["info", "-f", "raw", &url])
            .output()?;
        let info_text = String::from_utf8_lossy(&info.stdout);
        ensure!(
            info.status.success() && info_text.contains(&format!("{GOLDEN_BYTES} bytes")),
            "qemu-img info: {info_text}{}",
            String::from_utf8_lossy(&info.stderr)
        );
        let cmds: Vec<String> = writes
            .iter()
            .map(|w| format!("write -P {:#x} {} {}", w.byte, w.offset, w.len))
            .collect();
        qemu_io(&url, &cmds)?;
        let mut cmds: Vec<String> = writes
            .iter()
            .map(|w| format!("read -P {:#x} {} {}", w.byte, w.offset, w.len))
            .collect();
        cmds.push(format!("read -v {} 16", SECTOR));
        let text = qemu_io(&url, &cmds)?;
        ensure!(
            !text.contains("Pattern verification failed"),
            "read-back: {}",
            tail(&text, 20)
        );
        // qemu-io's hex dump of "GOLDEN-IMAGE".
        ensure!(
            text.contains("47 4f 4c 44 45 4e 2d 49 4d 41 47 45"),
            "LBA 1 through the target is not the golden magic:\n{}",
            tail(&text, 5)
        );
        Ok(())
    };
    let result = run();
    let server_log = server.daemon.log_text();
    let stopped = server.stop()?;
    result?;
    if kind == ServerKind::Ours && stopped != Some(0) {
        bail!(
            "the server did not exit cleanly on SIGTERM (status {stopped:?}):\n{}",
            tail(&server_log, 20)
        );
    }
    let mut problems = Vec::new();
    for w in &writes {
        let got = read_child(
            kind,
            &children[0],
            &golden,
            w.offset,
            usize::try_from(w.len)?,
        )?;
        if got.iter().any(|b| *b != w.byte) {
            problems.push(format!(
                "{} bytes at {} do not hold {:#x} after the stop",
                w.len, w.offset, w.byte
            ));
        }
        // The sector before each write (when not itself written) is still golden.
        let before = w.offset - SECTOR as u64;
        if !writes
            .iter()
            .any(|o| before >= o.offset && before < o.offset + o.len)
        {
            let got = read_child(kind, &children[0], &golden, before, SECTOR)?;
            let start = usize::try_from(before)?;
            if got != golden_raw[start..start + SECTOR] {
                problems.push(format!("the unwritten sector at {before} is not golden"));
            }
        }
    }
    if fs::read(&golden)? != golden_before {
        problems.push("the golden image changed".into());
    }
    let report = format!(
        "qemu-io against {}: {} pattern writes read back over iSCSI; after the stop: {}\n",
        kind.name(),
        writes.len(),
        if problems.is_empty() {
            "libvhdi/raw read every pattern, golden unchanged".to_owned()
        } else {
            problems.join("; ")
        }
    );
    write_report(&report_path(ctx, "qemu-io-latest.txt"), &report);
    eprint!("{report}");
    if problems.is_empty() {
        Ok(Outcome::Pass)
    } else {
        Ok(Outcome::Fail(problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_writes_are_aligned_disjoint_and_in_range() {
        let size = 64 << 20;
        let writes = pattern_writes(7, size, 24);
        assert_eq!(writes.len(), 24);
        for (i, a) in writes.iter().enumerate() {
            assert_eq!(a.offset % SECTOR as u64, 0);
            assert!(a.offset >= 16 * SECTOR as u64 && a.offset + a.len <= size);
            for b in &writes[i + 1..] {
                assert!(a.offset + a.len <= b.offset || b.offset + b.len <= a.offset);
            }
        }
    }
}

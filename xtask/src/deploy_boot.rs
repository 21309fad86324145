//! `interop-deploy`: the seed scenario end to end, with the binary's own deployment commands.
//!
//! A golden image holding the probe boot sector (see [`crate::probe`]) is recorded with `golden set`;
//! eight clients are added with `client add` (plain, one-way CHAP, mutual CHAP, a custom initiator IQN),
//! which writes their differencing disks, targets and iPXE scripts; `serve --state --tftp` serves the
//! targets and the scripts. Eight QEMU guests, each with its own MAC, boot at once: QEMU's DHCP hands
//! iPXE `tftp://10.0.2.2:PORT/boot.ipxe`, which our TFTP server answers with the dispatcher script, which
//! chains the client's own script, which sanboots the client's target. Each probe reads the golden data,
//! writes its stamp and prints the iBFT, which must parse with the `ibft` crate and name that client.
//! After the server stopped, libvhdi finds each stamp in its own disk only, the golden file is unchanged,
//! and a `client reset` gives a client a disk that reads golden data again.

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use ibft::{ChapType, Ibft, Severity};

use crate::Ctx;
use crate::lab::{Chap, Daemon, HOST, build_ours, free_port};
use crate::probe::{self, EXIT_OK, SECTOR};
use crate::qemu_boot::{self, BootResult, BootSpec};
use crate::report::Outcome;
use crate::testcu::{report_path, tail, write_report};
use crate::vhd_files;

/// Size of the golden image.
const GOLDEN_BYTES: usize = 64 << 20;
/// How many clients boot at once.
const CLIENTS: u8 = 8;
/// Longest a boot may take: eight TCG guests share two cores in CI.
const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
/// The host as QEMU's user network shows it to the guests (used only inside their scripts).
const GUEST_HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The client whose disk `client reset` replaces at the end.
const RESET_CLIENT: &str = "pc1";

/// How a client is added: its name, MAC and `client add` options.
#[derive(Debug, Clone)]
struct ClientPlan {
    name: String,
    mac: String,
    chap: Option<Chap>,
    mutual: Option<Chap>,
    initiator: Option<String>,
}

/// The eight clients: pc2 with one-way CHAP, pc3 with mutual CHAP, pc4 with its own initiator IQN,
/// the others plain, so that every kind of script the crate writes runs in real iPXE.
fn plans() -> Vec<ClientPlan> {
    (1..=CLIENTS)
        .map(|i| {
            let name = format!("pc{i}");
            let chap = (i == 2 || i == 3).then(|| Chap {
                user: format!("{name}-user"),
                secret: format!("{name}-secret-0123"),
            });
            let mutual = (i == 3).then(|| Chap {
                user: format!("{name}-target"),
                secret: format!("{name}-mutual-4567"),
            });
            let initiator = (i == 4).then(|| format!("iqn.2026-12.test.initiator:{name}"));
            ClientPlan {
                mac: format!("52:54:00:00:01:{i:02x}"),
                name,
                chap,
                mutual,
                initiator,
            }
        })
        .collect()
}

/// One client as `client list --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    name: String,
    mac: String,
    initiator: String,
    target: String,
    chap: String,
    port: u16,
    disk: PathBuf,
    golden: PathBuf,
}

/// Parses `client list --json`: the clients and the current golden image.
fn parse_client_list(json: &str) -> Result<(Vec<Listed>, PathBuf)> {
    let value: serde_json::Value =
        serde_json::from_str(json).context("`client list --json` is not JSON")?;
    let text = |v: &serde_json::Value, key: &str| -> Result<String> {
        v.get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("`client list --json`: no string `{key}` in {v}"))
    };
    let golden = PathBuf::from(text(&value, "golden")?);
    let clients = value
        .get("clients")
        .and_then(serde_json::Value::as_array)
        .context("`client list --json`: no `clients` array")?
        .iter()
        .map(|c| {
            let port = c
                .get("port")
                .and_then(serde_json::Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .with_context(|| format!("`client list --json`: no port in {c}"))?;
            Ok(Listed {
                name: text(c, "name")?,
                mac: text(c, "mac")?,
                initiator: text(c, "initiator")?,
                target: text(c, "target")?,
                chap: text(c, "chap")?,
                port,
                disk: PathBuf::from(text(c, "disk")?),
                golden: PathBuf::from(text(c, "golden")?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((clients, golden))
}

/// What a client's iBFT must say.
#[derive(Debug)]
struct Expected<'a> {
    initiator: &'a str,
    target: &'a str,
    mac: &'a str,
    port: u16,
    chap: Option<&'a Chap>,
    mutual: Option<&'a Chap>,
}

/// Parses and lints an iBFT with the `ibft` crate and checks it names `want`'s client. Returns a one-line
/// summary and the problems found.
fn check_ibft(bytes: &[u8], want: &Expected<'_>) -> (String, Vec<String>) {
    let mut problems = Vec::new();
    let ibft = match Ibft::parse(bytes) {
        Ok(ibft) => ibft,
        Err(err) => return (String::from("unparsable"), vec![format!("iBFT: {err}")]),
    };
    for problem in Ibft::lint(bytes) {
        if problem.severity() == Severity::Error {
            problems.push(format!("iBFT lint: {problem}"));
        }
    }
    let initiator = ibft.initiator.as_ref().map_or("", |i| i.name.as_str());
    if initiator != want.initiator {
        problems.push(format!(
            "iBFT initiator {initiator:?}, expected {}",
            want.initiator
        ));
    }
    let mac = ibft.nics[0]
        .as_ref()
        .map_or(String::new(), |n| n.mac.to_string());
    if !mac.eq_ignore_ascii_case(want.mac) {
        problems.push(format!("iBFT NIC 0 MAC {mac:?}, expected {}", want.mac));
    }
    let Some(target) = ibft.targets[0].as_ref() else {
        problems.push("iBFT has no target 0".into());
        return (
            format!("initiator {initiator}, MAC {mac}, no target"),
            problems,
        );
    };
    if target.name != want.target {
        problems.push(format!(
            "iBFT target {:?}, expected {}",
            target.name, want.target
        ));
    }
    if target.ip != Some(IpAddr::V4(GUEST_HOST)) || target.port != want.port {
        problems.push(format!(
            "iBFT target address {:?}:{}, expected {GUEST_HOST}:{}",
            target.ip, target.port, want.port
        ));
    }
    let chap_type = match (want.chap, want.mutual) {
        (None, _) => ChapType::None,
        (Some(_), None) => ChapType::OneWay,
        (Some(_), Some(_)) => ChapType::Mutual,
    };
    if target.chap_type != chap_type {
        problems.push(format!(
            "iBFT CHAP type {}, expected {chap_type}",
            target.chap_type
        ));
    }
    let chap_name = want.chap.map_or("", |c| c.user.as_str());
    if target.chap_name != chap_name {
        problems.push(format!(
            "iBFT CHAP name {:?}, expected {chap_name:?}",
            target.chap_name
        ));
    }
    let reverse_name = want.mutual.map_or("", |c| c.user.as_str());
    if target.reverse_chap_name != reverse_name {
        problems.push(format!(
            "iBFT reverse CHAP name {:?}, expected {reverse_name:?}",
            target.reverse_chap_name
        ));
    }
    let summary = format!(
        "initiator {initiator}, MAC {mac}, target {} at {}:{}, CHAP {}{}{}",
        target.name,
        target.ip.map_or(String::from("-"), |ip| ip.to_string()),
        target.port,
        target.chap_type,
        if target.chap_name.is_empty() {
            String::new()
        } else {
            format!(" as {}", target.chap_name)
        },
        if target.reverse_chap_name.is_empty() {
            String::new()
        } else {
            format!(", target proves itself as {}", target.reverse_chap_name)
        },
    );
    (summary, problems)
}

/// The sector the probe writes for a client with `mac`: its stamp, zero-padded.
fn stamp_sector(mac: &str) -> Vec<u8> {
    let mut sector = probe::stamp_for(mac).into_bytes();
    sector.resize(SECTOR, 0);
    sector
}

/// A MAC as iPXE's `${net0/mac:hexhyp}` writes it (`52-54-00-00-01-0a`): the name of the client's script.
fn hexhyp(mac: &str) -> String {
    mac.to_ascii_lowercase().replace(':', "-")
}

/// How a client's scripts reached it: the console shows iPXE fetching the dispatcher and then, through
/// its relative `./` URI, the client's own script, and the server's log shows our TFTP sending that
/// script. Returns the problems.
fn check_tftp_chain(mac: &str, serial: &str, server_log: &str) -> Vec<String> {
    let own = format!("{}.ipxe", hexhyp(mac));
    let mut problems = Vec::new();
    if !serial.contains("/boot.ipxe... ok") {
        problems.push("the console does not show the dispatcher boot.ipxe fetched".to_owned());
    }
    if !serial.contains(&format!("{own}... ok")) {
        problems.push(format!(
            "the console does not show the dispatcher chaining {own}"
        ));
    }
    if !server_log.contains(&format!("sent \"{own}\"")) {
        problems.push(format!("our TFTP server's log does not show {own} sent"));
    }
    problems
}

/// A UDP port on [`HOST`] that was free a moment ago.
fn free_udp_port() -> Result<u16> {
    let socket = UdpSocket::bind((HOST, 0)).context("looking for a free UDP port")?;
    Ok(socket.local_addr()?.port())
}

/// `sha256sum PATH`.
fn sha256(path: &Path) -> Result<String> {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .context("running sha256sum")?;
    ensure!(
        out.status.success(),
        "sha256sum {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(str::to_owned)
        .context("sha256sum printed nothing")
}

/// Runs `diskless-target ARGS` and returns its stdout; fails with its output on a non-zero exit.
fn dt(bin: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(bin)
        .args(args)
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    ensure!(
        out.status.success(),
        "diskless-target {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `client list --json`.
fn client_list(bin: &Path, state: &str) -> Result<(Vec<Listed>, PathBuf)> {
    parse_client_list(&dt(bin, &["client", "list", "--json", "--state", state])?)
}

/// Starts `serve --state` on `port` with TFTP on `tftp_port`, and waits until the iSCSI port accepts.
fn start_server(bin: &Path, work: &Path, state: &str, port: u16, tftp_port: u16) -> Result<Daemon> {
    let mut command = Command::new(bin);
    command
        .args(["serve", "--state", state, "--listen"])
        .arg(format!("{HOST}:{port}"))
        .arg("--tftp")
        .arg(format!("{HOST}:{tftp_port}"))
        .env("RUST_BACKTRACE", "1");
    let mut daemon = Daemon::spawn(
        "diskless-target serve --state",
        command,
        work.join("serve.log"),
        "TERM",
    )?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        daemon.ensure_running()?;
        if TcpStream::connect((HOST, port)).is_ok() {
            return Ok(daemon);
        }
        if Instant::now() > deadline {
            bail!(
                "serve did not listen on {HOST}:{port} within 20 s:\n{}",
                daemon.log_text()
            );
        }
        sleep(Duration::from_millis(50));
    }
}

/// The last `n` interesting console lines of a boot, on one line (for a summary line).
fn console_summary(serial: &str, n: usize) -> String {
    let lines = qemu_boot::interesting_lines(serial);
    tail(&lines, n).replace('\n', " | ")
}

/// `interop-deploy`: eight clients deployed with `golden set` and `client add` boot at once through our
/// TFTP server's dispatcher script; see the module documentation.
pub(crate) fn step(ctx: &Ctx) -> Result<Outcome> {
    let started = Instant::now();
    let bin = build_ours(ctx, false)?;
    let tmp = ctx.sh.create_temp_dir()?;
    let work = tmp.path();
    let state_dir = work.join("state");
    let state = state_dir.to_str().context("temp dir is not UTF-8")?;

    // 1. The golden image, recorded with `golden set`.
    let mbr = probe::assemble(ctx, work)?;
    let golden_raw = probe::golden_disk(&mbr, GOLDEN_BYTES)?;
    let raw = work.join("golden.img");
    fs::write(&raw, &golden_raw)?;
    let source = work.join("golden.vhd");
    vhd_files::convert_raw(ctx, &raw, &source)?;
    let source_str = source.to_str().context("temp dir is not UTF-8")?;
    dt(&bin, &["golden", "set", source_str, "--state", state])?;

    // 2. Eight clients.
    let port = free_port()?;
    let tftp_port = free_udp_port()?;
    let port_arg = port.to_string();
    let server_arg = GUEST_HOST.to_string();
    let plans = plans();
    for plan in &plans {
        let mut args = vec![
            "client",
            "add",
            plan.name.as_str(),
            "--mac",
            plan.mac.as_str(),
            "--server",
            server_arg.as_str(),
            "--port",
            port_arg.as_str(),
            "--state",
            state,
        ];
        let chap = plan
            .chap
            .as_ref()
            .map(|c| format!("{}:{}", c.user, c.secret));
        let mutual = plan
            .mutual
            .as_ref()
            .map(|c| format!("{}:{}", c.user, c.secret));
        if let Some(chap) = &chap {
            args.extend(["--chap", chap.as_str()]);
        }
        if let Some(mutual) = &mutual {
            args.extend(["--mutual-chap", mutual.as_str()]);
        }
        if let Some(initiator) = &plan.initiator {
            args.extend(["--initiator-iqn", initiator.as_str()]);
        }
        dt(&bin, &args)?;
    }
    let (listed, golden) = client_list(&bin, state)?;
    ensure!(
        listed.len() == plans.len(),
        "`client list` shows {} clients, not {}",
        listed.len(),
        plans.len()
    );
    let golden_hash = sha256(&golden)?;
    let source_hash = sha256(&source)?;
    let mut clients = Vec::new();
    for plan in &plans {
        let entry = listed
            .iter()
            .find(|l| l.name == plan.name)
            .with_context(|| format!("`client list` does not show {}", plan.name))?
            .clone();
        clients.push((plan, entry));
    }

    // 3. The server, with its TFTP.
    let mut server = start_server(&bin, work, state, port, tftp_port)?;

    // 4. Eight guests at once, from our TFTP server.
    let specs: Vec<BootSpec> = clients
        .iter()
        .map(|(plan, entry)| BootSpec {
            name: plan.name.clone(),
            target_iqn: entry.target.clone(),
            lun: 0,
            port,
            initiator: entry.initiator.clone(),
            mac: plan.mac.clone(),
            chap: plan.chap.clone(),
            timeout: BOOT_TIMEOUT,
        })
        .collect();
    let url = format!("tftp://{GUEST_HOST}:{tftp_port}/boot.ipxe");
    let boot_started = Instant::now();
    let results = qemu_boot::boot_all_from_url(&specs, work, &url);
    let boot_secs = boot_started.elapsed().as_secs_f64();

    // 5. Stop the server (it flushes on SIGTERM).
    let server_log = server.log_text();
    let stopped = server.stop(Duration::from_secs(20))?;
    let results = results?;

    let mut problems = Vec::new();
    let mut report = format!(
        "interop-deploy: {} clients deployed with `golden set` + `client add`, booted at once by iPXE in \
         QEMU from {url} (our TFTP, dispatcher script) against `serve --state` on {HOST}:{port}\n\
         boots took {boot_secs:.1} s\n",
        clients.len()
    );
    if stopped != Some(0) {
        problems.push(format!(
            "the server did not exit cleanly on SIGTERM (status {stopped:?})"
        ));
    }
    for ((plan, entry), result) in clients.iter().zip(&results) {
        let boot = Boot {
            plan,
            entry,
            result,
            server_log: &server_log,
        };
        check_client(&boot, &golden_raw, &clients, &mut report, &mut problems)?;
    }
    let golden_after = sha256(&golden)?;
    if golden_after == golden_hash && sha256(&source)? == source_hash {
        let _ = writeln!(
            report,
            "\ngolden image {}: sha256 {golden_hash} before and after (byte-identical)",
            golden.display()
        );
    } else {
        problems.push(format!(
            "the golden image changed: sha256 {golden_hash} -> {golden_after}"
        ));
    }

    // 6. `client reset` gives a fresh disk that reads golden data.
    check_reset(&bin, state, &golden_raw, &mut report, &mut problems)?;

    if server_log.contains("panicked") {
        problems.push(format!("the server panicked:\n{}", tail(&server_log, 20)));
    }
    let _ = writeln!(
        report,
        "\nstep time {:.1} s; {}",
        started.elapsed().as_secs_f64(),
        if problems.is_empty() {
            "all checks passed".to_owned()
        } else {
            format!("{} problem(s)", problems.len())
        }
    );
    write_report(&report_path(ctx, "deploy-latest.txt"), &report);
    eprintln!("{report}");
    if problems.is_empty() {
        Ok(Outcome::Pass)
    } else {
        Ok(Outcome::Fail(problems.join("; ")))
    }
}

/// One client's boot, for [`check_client`].
struct Boot<'a> {
    plan: &'a ClientPlan,
    entry: &'a Listed,
    result: &'a BootResult,
    /// The server's whole log (its TFTP lines).
    server_log: &'a str,
}

/// Checks one client's boot and, after the server stopped, its disk.
fn check_client(
    boot: &Boot<'_>,
    golden_raw: &[u8],
    all: &[(&ClientPlan, Listed)],
    report: &mut String,
    problems: &mut Vec<String>,
) -> Result<()> {
    let (plan, entry, result) = (boot.plan, boot.entry, boot.result);
    let out = probe::parse_serial(&result.serial);
    let want = probe::stamp_for(&plan.mac);
    let _ = writeln!(
        report,
        "\n{} (MAC {}, CHAP {}): qemu exit {:?}: {}\n  progress: {}\n  stamp: {}",
        plan.name,
        plan.mac,
        entry.chap,
        result.status,
        probe::explain_exit(result.status),
        out.progress.join(" "),
        out.stamp.as_deref().unwrap_or("-"),
    );
    let mut mine = Vec::new();
    if result.status != Some(EXIT_OK) {
        let _ = writeln!(
            report,
            "  console:\n{}",
            qemu_boot::interesting_lines(&result.serial)
        );
        mine.push(format!(
            "{}: {} [console: {}]",
            plan.name,
            probe::explain_exit(result.status),
            console_summary(&result.serial, 8)
        ));
    } else {
        let chain = check_tftp_chain(&plan.mac, &result.serial, boot.server_log);
        if chain.is_empty() {
            let _ = writeln!(
                report,
                "  scripts: boot.ipxe, then ./{}.ipxe, both from our TFTP",
                hexhyp(&plan.mac)
            );
        }
        mine.extend(chain.into_iter().map(|p| format!("{}: {p}", plan.name)));
        for word in ["MBR-OK", "READ-OK", "WRITE-OK"] {
            if !out.progress.iter().any(|w| w == word) {
                mine.push(format!("{}: no {word} on the console", plan.name));
            }
        }
        if out.stamp.as_deref() != Some(want.as_str()) {
            mine.push(format!(
                "{}: stamp {:?}, expected {want}",
                plan.name, out.stamp
            ));
        }
        match &out.ibft {
            None => mine.push(format!("{}: no iBFT on the console", plan.name)),
            Some(bytes) => {
                let expected = Expected {
                    initiator: &entry.initiator,
                    target: &entry.target,
                    mac: &plan.mac,
                    port: entry.port,
                    chap: plan.chap.as_ref(),
                    mutual: plan.mutual.as_ref(),
                };
                let (summary, found) = check_ibft(bytes, &expected);
                let _ = writeln!(report, "  iBFT ({} bytes): {summary}", bytes.len());
                mine.extend(found.into_iter().map(|p| format!("{}: {p}", plan.name)));
            }
        }
    }
    // The disk, read by libvhdi after the server stopped: its own stamp at LBA 2, nobody else's.
    let lba2 = vhd_files::libvhdi_read(&entry.disk, &entry.golden, 2 * SECTOR as u64, SECTOR)?;
    let holder = all
        .iter()
        .find(|(p, _)| lba2 == stamp_sector(&p.mac))
        .map(|(p, _)| p.name.as_str());
    let golden_lba2 = &golden_raw[2 * SECTOR..3 * SECTOR];
    let disk_state = match holder {
        Some(name) if name == plan.name => "its own stamp".to_owned(),
        Some(name) => format!("{name}'s stamp"),
        None if lba2 == golden_lba2 => "the golden data".to_owned(),
        None => "something else".to_owned(),
    };
    let _ = writeln!(
        report,
        "  disk {}: LBA 2 holds {disk_state}",
        entry.disk.display()
    );
    if holder != Some(plan.name.as_str()) {
        mine.push(format!(
            "{}: LBA 2 of its disk holds {disk_state}, not its own stamp",
            plan.name
        ));
    }
    let lba5 = vhd_files::libvhdi_read(&entry.disk, &entry.golden, 5 * SECTOR as u64, SECTOR)?;
    if lba5 != golden_raw[5 * SECTOR..6 * SECTOR] {
        mine.push(format!(
            "{}: LBA 5 of its disk is not the golden data",
            plan.name
        ));
    }
    if mine.is_empty() {
        let _ = writeln!(report, "  ok");
    }
    problems.extend(mine);
    Ok(())
}

/// `client reset RESET_CLIENT`, then libvhdi reads the golden data at LBA 2 of its new disk.
fn check_reset(
    bin: &Path,
    state: &str,
    golden_raw: &[u8],
    report: &mut String,
    problems: &mut Vec<String>,
) -> Result<()> {
    let (before, _) = client_list(bin, state)?;
    let old = before
        .iter()
        .find(|c| c.name == RESET_CLIENT)
        .context("the reset client is not listed")?
        .disk
        .clone();
    if let Err(err) = dt(bin, &["client", "reset", RESET_CLIENT, "--state", state]) {
        problems.push(format!("client reset {RESET_CLIENT}: {err:#}"));
        return Ok(());
    }
    let (after, _) = client_list(bin, state)?;
    let new = after
        .iter()
        .find(|c| c.name == RESET_CLIENT)
        .context("the reset client is no longer listed")?;
    let lba2 = vhd_files::libvhdi_read(&new.disk, &new.golden, 2 * SECTOR as u64, SECTOR)?;
    let golden_lba2 = &golden_raw[2 * SECTOR..3 * SECTOR];
    let _ = writeln!(
        report,
        "\nclient reset {RESET_CLIENT}: disk {} -> {}; LBA 2 of the new disk {}",
        old.display(),
        new.disk.display(),
        if lba2 == golden_lba2 {
            "is the golden data again"
        } else {
            "is NOT the golden data"
        }
    );
    if new.disk == old {
        problems.push(format!(
            "client reset {RESET_CLIENT} kept the same disk path {}",
            old.display()
        ));
    }
    if lba2 != golden_lba2 {
        problems.push(format!(
            "after client reset {RESET_CLIENT}, LBA 2 of its disk is not the golden data"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ibft::{IbftBuilder, Initiator, MacAddr, Nic, Target};

    const LIST: &str = r#"{
  "clients": [
    {
      "chap": "mutual",
      "disk": "/s/disks/pc3-r0.vhd",
      "golden": "/s/golden/g.vhd",
      "initiator": "iqn.1991-05.com.microsoft:iscsiboot-52-54-00-00-01-03",
      "mac": "52:54:00:00:01:03",
      "name": "pc3",
      "port": 4000,
      "revision": 0,
      "server": "10.0.2.2",
      "sessions": 0,
      "target": "iqn.2026-12.org.diskless-target:pc3"
    }
  ],
  "golden": "/s/golden/g.vhd",
  "state": "/s"
}"#;

    #[test]
    fn parses_the_client_list() {
        let (clients, golden) = parse_client_list(LIST).unwrap();
        assert_eq!(golden, PathBuf::from("/s/golden/g.vhd"));
        assert_eq!(
            clients,
            [Listed {
                name: "pc3".into(),
                mac: "52:54:00:00:01:03".into(),
                initiator: "iqn.1991-05.com.microsoft:iscsiboot-52-54-00-00-01-03".into(),
                target: "iqn.2026-12.org.diskless-target:pc3".into(),
                chap: "mutual".into(),
                port: 4000,
                disk: "/s/disks/pc3-r0.vhd".into(),
                golden: "/s/golden/g.vhd".into(),
            }]
        );
        assert!(parse_client_list("{}").is_err());
        assert!(parse_client_list(&LIST.replace("4000", "70000")).is_err());
        assert!(parse_client_list("not json").is_err());
    }

    #[test]
    fn finds_the_dispatcher_chain_on_the_console_and_in_the_server_log() {
        assert_eq!(hexhyp("52:54:00:00:01:0A"), "52-54-00-00-01-0a");
        let serial = "Filename: tftp://10.0.2.2:41235/boot.ipxe\n\
                      tftp://10.0.2.2:41235/boot.ipxe... ok\nboot.ipxe : 130 bytes [script]\n\
                      ./52-54-00-00-01-03.ipxe... ok\n";
        let log = "diskless-target: tftp: 127.0.0.1:1: sent \"boot.ipxe\" (130 bytes)\n\
                   diskless-target: tftp: 127.0.0.1:2: sent \"52-54-00-00-01-03.ipxe\" (300 bytes)\n";
        assert!(check_tftp_chain("52:54:00:00:01:03", serial, log).is_empty());
        // Another client's script, and a dispatcher that failed.
        assert_eq!(check_tftp_chain("52:54:00:00:01:04", serial, log).len(), 2);
        let failed = "tftp://10.0.2.2:41235/boot.ipxe... No such file or directory\n";
        assert_eq!(check_tftp_chain("52:54:00:00:01:03", failed, log).len(), 2);
    }

    #[test]
    fn plans_cover_every_script_variant() {
        let plans = plans();
        assert_eq!(plans.len(), 8);
        assert_eq!(plans[0].mac, "52:54:00:00:01:01");
        assert_eq!(plans[7].mac, "52:54:00:00:01:08");
        assert!(plans.iter().any(|p| p.chap.is_some() && p.mutual.is_none()));
        assert!(plans.iter().any(|p| p.mutual.is_some() && p.chap.is_some()));
        assert!(plans.iter().any(|p| p.initiator.is_some()));
        assert!(plans.iter().filter(|p| p.chap.is_none()).count() >= 5);
        // CHAP secrets must be 12 bytes or more for `client add`.
        for chap in plans.iter().flat_map(|p| p.chap.iter().chain(&p.mutual)) {
            assert!(chap.secret.len() >= 12);
        }
        assert_eq!(stamp_sector("52:54:00:00:01:0a").len(), SECTOR);
        assert!(stamp_sector("52:54:00:00:01:0a").starts_with(b"CLIENT-WRT:52540000010A\0"));
    }

    fn table(chap: ChapType, chap_name: &str, reverse: &str) -> Vec<u8> {
        IbftBuilder::new()
            .initiator(Initiator {
                name: "iqn.2026-12.test:init".into(),
                ..Initiator::default()
            })
            .nic(Nic {
                ip: Some([10, 0, 2, 15].into()),
                prefix_len: 24,
                mac: MacAddr([0x52, 0x54, 0, 0, 1, 3]),
                ..Nic::default()
            })
            .target(Target {
                ip: Some([10, 0, 2, 2].into()),
                port: 4000,
                name: "iqn.2026-12.test:tgt".into(),
                chap_type: chap,
                chap_name: chap_name.into(),
                chap_secret: if chap_name.is_empty() {
                    String::new()
                } else {
                    "secretsecret".into()
                },
                reverse_chap_name: reverse.into(),
                reverse_chap_secret: if reverse.is_empty() {
                    String::new()
                } else {
                    "mutualsecret".into()
                },
                ..Target::default()
            })
            .build()
            .unwrap()
    }

    #[test]
    fn checks_the_ibft_against_the_client() {
        let chap = Chap {
            user: "u".into(),
            secret: "secretsecret".into(),
        };
        let mutual = Chap {
            user: "t".into(),
            secret: "mutualsecret".into(),
        };
        let want = Expected {
            initiator: "iqn.2026-12.test:init",
            target: "iqn.2026-12.test:tgt",
            mac: "52:54:00:00:01:03",
            port: 4000,
            chap: Some(&chap),
            mutual: Some(&mutual),
        };
        let good = table(ChapType::Mutual, "u", "t");
        let (summary, problems) = check_ibft(&good, &want);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(summary.contains("MAC 52:54:00:00:01:03"), "{summary}");
        assert!(summary.contains("CHAP"), "{summary}");

        // One-way CHAP where mutual was configured, another MAC, a broken checksum.
        let (_, problems) = check_ibft(&table(ChapType::OneWay, "u", ""), &want);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let other = Expected {
            mac: "52:54:00:00:01:04",
            ..want
        };
        let (_, problems) = check_ibft(&good, &other);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let mut broken = good.clone();
        broken[9] ^= 1;
        let (_, problems) = check_ibft(&broken, &want);
        assert!(!problems.is_empty());
        let (summary, problems) = check_ibft(b"iBFT", &want);
        assert_eq!(summary, "unparsable");
        assert_eq!(problems.len(), 1);
    }
}

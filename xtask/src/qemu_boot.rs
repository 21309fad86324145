//! A diskless client in QEMU: its NIC's iPXE ROM gets an address and a boot script from QEMU's user-mode
//! network (DHCP + TFTP), the script runs `sanboot` against a target on this machine's loopback (10.0.2.2
//! seen from the guest), and the disk's MBR runs. With the probe on the disk (see [`crate::probe`]) QEMU
//! exits through `isa-debug-exit` with the probe's status.
//!
//! Needs Debian's qemu-system-x86, ipxe-qemu and seabios. Several clients boot at once with [`boot_all`].

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::lab::{Chap, Daemon};

/// One client's boot.
#[derive(Debug, Clone)]
pub(crate) struct BootSpec {
    /// A short name for files and messages.
    pub(crate) name: String,
    /// The iSCSI target to sanboot.
    pub(crate) target_iqn: String,
    /// Its LUN (decimal; iPXE's URI takes hexadecimal).
    pub(crate) lun: u32,
    /// The target's port on the host's loopback.
    pub(crate) port: u16,
    /// The client's initiator IQN (`set initiator-iqn`).
    pub(crate) initiator: String,
    /// The NIC's MAC address.
    pub(crate) mac: String,
    /// CHAP credentials (`set username` / `set password`).
    pub(crate) chap: Option<Chap>,
    /// Longest the boot may take.
    pub(crate) timeout: Duration,
}

/// How a boot ended.
#[derive(Debug)]
pub(crate) struct BootResult {
    /// The spec it ran.
    pub(crate) spec: BootSpec,
    /// QEMU's exit status (`None`: stopped by us, on a timeout or a failure message).
    pub(crate) status: Option<i32>,
    /// The serial console output.
    pub(crate) serial: String,
}

/// Console text that means the boot cannot succeed any more (QEMU is then stopped early).
const FAILURE_MARKERS: &[&str] = &[
    "SANBOOT-FAILED",
    "PROBE-FAIL",
    "Operation not permitted",
    "Permission denied",
    "No bootable device",
    "Boot failed",
];

/// The iPXE script of `spec`.
pub(crate) fn script(spec: &BootSpec) -> String {
    let mut s = String::from("#!ipxe\ndhcp\n");
    let _ = writeln!(s, "set initiator-iqn {}", spec.initiator);
    if let Some(chap) = &spec.chap {
        let _ = writeln!(s, "set username {}", chap.user);
        let _ = writeln!(s, "set password {}", chap.secret);
    }
    let _ = writeln!(s, "set keep-san 1");
    let _ = writeln!(
        s,
        "sanboot iscsi:10.0.2.2::{}:{:x}:{} || goto failed",
        spec.port, spec.lun, spec.target_iqn
    );
    s.push_str(":failed\necho SANBOOT-FAILED ${errno}\n");
    s
}

/// Where a guest's iPXE gets its first script from.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    /// [`script`] of the spec, served by QEMU's own TFTP from `work/<name>/`.
    Script,
    /// This boot file URL in QEMU's DHCP reply (e.g. `tftp://10.0.2.2:PORT/boot.ipxe`); no QEMU TFTP.
    Url(&'a str),
    /// This script text, served by QEMU's own TFTP from `work/<name>/`.
    Text(&'a str),
}

/// Starts QEMU for `spec` in `work/<name>/`.
fn start(spec: &BootSpec, work: &Path, source: Source<'_>) -> Result<(Daemon, PathBuf)> {
    let dir = work.join(&spec.name);
    fs::create_dir_all(&dir)?;
    let netdev = match source {
        Source::Script => {
            fs::write(dir.join("boot.ipxe"), script(spec))?;
            format!("user,id=n0,tftp={},bootfile=boot.ipxe", dir.display())
        }
        Source::Text(text) => {
            fs::write(dir.join("boot.ipxe"), text)?;
            format!("user,id=n0,tftp={},bootfile=boot.ipxe", dir.display())
        }
        Source::Url(url) => format!("user,id=n0,bootfile={url}"),
    };
    let serial = dir.join("serial.log");
    let mut command = Command::new("qemu-system-x86_64");
    command
        .args(["-nographic", "-no-reboot", "-m", "128"])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        .arg("-netdev")
        .arg(netdev)
        .arg("-device")
        .arg(format!("e1000,netdev=n0,mac={}", spec.mac))
        .args(["-boot", "n", "-serial", "stdio", "-monitor", "none"])
        .args(["-display", "none"]);
    let daemon = Daemon::spawn(
        &format!("qemu {}", spec.name),
        command,
        serial.clone(),
        "KILL",
    )?;
    Ok((daemon, serial))
}

/// Boots every spec at once, each with its own [`script`] from QEMU's TFTP, and waits for all of them.
pub(crate) fn boot_all(specs: &[BootSpec], work: &Path) -> Result<Vec<BootResult>> {
    boot(specs, work, |_| Source::Script)
}

/// Boots every spec at once, each with its own given script text (`scripts[i]` for `specs[i]`) from
/// QEMU's TFTP, and waits for all of them. The spec's target fields are then only descriptive.
pub(crate) fn boot_all_scripts(
    specs: &[BootSpec],
    scripts: &[String],
    work: &Path,
) -> Result<Vec<BootResult>> {
    anyhow::ensure!(specs.len() == scripts.len(), "one script per boot");
    boot(specs, work, |i| Source::Text(&scripts[i]))
}

/// Boots every spec at once, each iPXE fetching `url` (the DHCP boot file, e.g. a TFTP server's
/// dispatcher script) instead of a script written here, and waits for all of them. Only the specs' names,
/// MACs and timeouts are used; the script decides what is sanbooted.
pub(crate) fn boot_all_from_url(
    specs: &[BootSpec],
    work: &Path,
    url: &str,
) -> Result<Vec<BootResult>> {
    boot(specs, work, |_| Source::Url(url))
}

/// Starts every spec, then waits until each has exited, failed or timed out.
fn boot<'a>(
    specs: &[BootSpec],
    work: &Path,
    source_of: impl Fn(usize) -> Source<'a>,
) -> Result<Vec<BootResult>> {
    let mut running = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let source = source_of(i);
        match source {
            Source::Script => eprintln!(
                "xtask: booting {} ({} as {}, MAC {}) from iscsi:127.0.0.1:{}:{}",
                spec.name, spec.target_iqn, spec.initiator, spec.mac, spec.port, spec.lun
            ),
            Source::Url(url) => eprintln!(
                "xtask: booting {} (MAC {}, expecting {} as {}) from {url}",
                spec.name, spec.mac, spec.target_iqn, spec.initiator
            ),
            Source::Text(_) => eprintln!(
                "xtask: booting {} (MAC {}) with its own script ({} as {} on port {})",
                spec.name, spec.mac, spec.target_iqn, spec.initiator, spec.port
            ),
        }
        running.push((spec.clone(), start(spec, work, source)?, Instant::now()));
    }
    let mut results: Vec<Option<BootResult>> = specs.iter().map(|_| None).collect();
    while results.iter().any(Option::is_none) {
        for (i, (spec, (daemon, serial), started)) in running.iter_mut().enumerate() {
            if results[i].is_some() {
                continue;
            }
            let text = clean(&fs::read(&*serial).unwrap_or_default());
            let exited = daemon.ensure_running().is_err();
            let failed = FAILURE_MARKERS.iter().any(|m| text.contains(m));
            if exited || failed || started.elapsed() > spec.timeout {
                if failed && !exited {
                    // Let the last lines reach the log.
                    sleep(Duration::from_millis(300));
                }
                let status = daemon.stop(Duration::from_millis(100))?;
                let text = clean(&fs::read(&*serial).unwrap_or_default());
                results[i] = Some(BootResult {
                    spec: spec.clone(),
                    status,
                    serial: text,
                });
            }
        }
        sleep(Duration::from_millis(200));
    }
    Ok(results.into_iter().flatten().collect())
}

/// Serial output as text, without ANSI escape sequences and carriage returns.
pub(crate) fn clean(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params final-byte; other escapes: drop the next char.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The lines of a boot log worth showing when something went wrong.
pub(crate) fn interesting_lines(serial: &str) -> String {
    serial
        .lines()
        .filter(|l| {
            [
                "MBR-OK",
                "STAMP:",
                "PROBE",
                "SANBOOT",
                "iSCSI",
                "Could not",
                "Connection",
                "Permission",
                "permitted",
                "rror",
                "Boot",
                ".ipxe",
            ]
            .iter()
            .any(|w| l.contains(w))
        })
        .map(|l| if l.len() > 200 { &l[..200] } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_sanboot_script_with_hex_lun_and_chap() {
        let spec = BootSpec {
            name: "c1".into(),
            target_iqn: "iqn.2026-11.test:c1".into(),
            lun: 10,
            port: 3260,
            initiator: "iqn.2026-11.test:pc1".into(),
            mac: "52:54:00:00:00:01".into(),
            chap: Some(Chap {
                user: "u".into(),
                secret: "secretsecret".into(),
            }),
            timeout: Duration::from_secs(1),
        };
        let s = script(&spec);
        assert!(s.starts_with("#!ipxe\ndhcp\nset initiator-iqn iqn.2026-11.test:pc1\n"));
        assert!(s.contains("set username u\nset password secretsecret\n"));
        assert!(s.contains("sanboot iscsi:10.0.2.2::3260:a:iqn.2026-11.test:c1 || goto failed\n"));
    }

    #[test]
    fn strips_console_escapes() {
        assert_eq!(clean(b"\x1b[2J\x1b[01;01Hab\r\ncd\x1bcx"), "ab\ncdx");
    }
}

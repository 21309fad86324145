//! `diskless-target demo`: a self-contained diskless boot setup, then `serve`.
//!
//! In a directory (default `./diskless-demo`) it makes, unless they are already there:
//!
//! - `golden.vhd`: a 16 MiB dynamic VHD whose boot sector prints a greeting on the screen and
//!   the serial port (`data/greeting-mbr.asm`);
//! - `client1.vhd`, `client2.vhd`: differencing disks over it;
//! - `tftp/clientN.ipxe`: each client's iPXE script (initiator IQN, root path, keep-san,
//!   sanboot), rendered by the `ipxe-script` crate;
//! - `demo.toml`: the `serve` config (each client's target admits only its own initiator).
//!
//! Then it prints the scripts and the QEMU command that boots a client through iPXE (QEMU's
//! user-mode network gives the guest DHCP, serves the script by TFTP from `tftp/`, and reaches
//! this machine as 10.0.2.2), and serves until SIGINT or SIGTERM.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};
use ipxe_script::{IscsiName as IpxeName, IscsiRootPath, Lun, SanBootScript, Server};
use vhd::{FileStorage, VhdBuilder};

use crate::atomic_file::AtomicFile;
use crate::config::{ClientConfig, LunConfig, LunKind, ServeConfig};

/// The greeting boot sector (assembled from `data/greeting-mbr.asm`).
pub(crate) const GREETING_MBR: &[u8; 512] = include_bytes!("../data/greeting-mbr.bin");

/// The golden image's size.
const GOLDEN_SIZE: u64 = 16 << 20;

/// The address of this machine as QEMU's user-mode network shows it to a guest.
const QEMU_HOST: [u8; 4] = [10, 0, 2, 2];

/// What the demo sets up for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DemoClient {
    /// `client1`, `client2`, ...
    pub(crate) name: String,
    /// The NIC's MAC address.
    pub(crate) mac: String,
    /// The initiator IQN its script sets.
    pub(crate) initiator: String,
    /// Its target's IQN.
    pub(crate) target: String,
}

/// The demo's clients: `count` of them, with MACs 52:54:00:00:00:01, ... and IQNs in the seed's
/// style (`iqn.1991-05.com.microsoft:iscsiboot-<mac>`).
pub(crate) fn clients(count: u8) -> Vec<DemoClient> {
    (1..=count)
        .map(|i| {
            let mac = format!("52:54:00:00:00:{i:02x}");
            let mac_hyphens = mac.replace(':', "-");
            DemoClient {
                name: format!("client{i}"),
                initiator: format!("iqn.1991-05.com.microsoft:iscsiboot-{mac_hyphens}"),
                target: format!("iqn.2026-12.org.diskless-demo:client{i}-target"),
                mac,
            }
        })
        .collect()
}

/// The iPXE script of `client`, for a target at 10.0.2.2:`port`.
pub(crate) fn script(client: &DemoClient, port: u16) -> Result<String> {
    let target = IpxeName::new(&client.target)
        .map_err(|e| anyhow::anyhow!("target name {}: {e}", client.target))?;
    let root_path = IscsiRootPath::new(Server::Ipv4(QEMU_HOST.into()), port, Lun::ZERO, target)
        .map_err(|e| anyhow::anyhow!("root path: {e}"))?;
    let mut plan = SanBootScript::new(root_path);
    plan.initiator = Some(
        IpxeName::new(&client.initiator)
            .map_err(|e| anyhow::anyhow!("initiator name {}: {e}", client.initiator))?,
    );
    let script = plan
        .script()
        .map_err(|e| anyhow::anyhow!("rendering the script: {e}"))?;
    Ok(script.to_string())
}

/// Writes `bytes` to `path` (replacing it) through a temporary file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file = AtomicFile::replacing(path)?;
    std::fs::write(file.path(), bytes).with_context(|| format!("writing {}", path.display()))?;
    file.commit()
}

/// Creates the golden image at `path` with the greeting boot sector.
fn make_golden(path: &Path) -> Result<()> {
    let file = AtomicFile::new(path)?;
    let storage =
        FileStorage::create_new(file.path()).with_context(|| file.path().display().to_string())?;
    let mut disk = VhdBuilder::dynamic(GOLDEN_SIZE)
        .create(storage)
        .with_context(|| format!("creating {}", path.display()))?;
    disk.write_at(GREETING_MBR, 0)
        .and_then(|()| disk.flush())
        .with_context(|| format!("writing the boot sector of {}", path.display()))?;
    drop(disk);
    file.commit()
}

/// Everything `prepare` made, for printing and serving.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The checked serve config.
    pub(crate) config: ServeConfig,
    /// What to print.
    pub(crate) instructions: String,
}

/// Makes (or reuses) the demo's files in `dir` for a server on `listen`.
pub(crate) fn prepare(dir: &Path, listen: SocketAddr, count: u8) -> Result<Prepared> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = std::fs::canonicalize(dir).with_context(|| dir.display().to_string())?;
    let tftp_dir = dir.join("tftp");
    std::fs::create_dir_all(&tftp_dir)
        .with_context(|| format!("creating {}", tftp_dir.display()))?;
    let golden = dir.join("golden.vhd");
    if !golden.exists() {
        make_golden(&golden)?;
    }
    let clients = clients(count);
    let mut configs = Vec::new();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "diskless-target demo in {}\n\n  golden image: {} (read-only, shared)",
        dir.display(),
        golden.display()
    );
    for c in &clients {
        let disk = dir.join(format!("{}.vhd", c.name));
        if !disk.exists() {
            crate::client_cmd::make_child(&golden, &disk)?;
        }
        let text = script(c, listen.port())?;
        write_atomic(&tftp_dir.join(format!("{}.ipxe", c.name)), text.as_bytes())?;
        let _ = writeln!(
            out,
            "\n  {}: MAC {}, disk {}\n  script tftp/{}.ipxe:\n{}",
            c.name,
            c.mac,
            disk.display(),
            c.name,
            text.lines()
                .map(|l| format!("      {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        configs.push(ClientConfig {
            name: c.name.clone(),
            target: iscsi_pdu::IscsiName::parse(&c.target)
                .map_err(|e| anyhow::anyhow!("{}: {e}", c.target))?,
            initiators: vec![
                iscsi_pdu::IscsiName::parse(&c.initiator)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", c.initiator))?,
            ],
            chap: None,
            mutual_chap: None,
            luns: vec![LunConfig {
                id: 0,
                path: disk,
                kind: LunKind::Vhd,
                read_only: false,
            }],
        });
    }
    let first = &clients[0];
    let _ = writeln!(
        out,
        "\nBoot {} in QEMU (its NIC ROM is iPXE; 10.0.2.2 is this machine):\n\n  \
         qemu-system-x86_64 -m 256 -display none -serial stdio -boot n \\\n    \
         -netdev user,id=n0,tftp={},bootfile={}.ipxe \\\n    \
         -device e1000,netdev=n0,mac={}\n\n\
         It prints the golden image's greeting. On a real network, give the scripts the \
         server's address instead of 10.0.2.2.",
        first.name,
        tftp_dir.display(),
        first.name,
        first.mac
    );
    let config = ServeConfig {
        listen,
        golden: Some(golden),
        // The whole golden image fits: every client's reads of it come from memory.
        golden_cache: GOLDEN_SIZE,
        limits: iscsi_target::Limits::default(),
        clients: configs,
    };
    Ok(Prepared {
        config,
        instructions: out,
    })
}

/// Runs `demo`: prepares, prints, serves (unless `no_serve`).
///
/// # Errors
/// A file cannot be made, or serving fails.
pub(crate) fn run(dir: &Path, listen: SocketAddr, count: u8, no_serve: bool) -> Result<()> {
    let prepared = prepare(dir, listen, count)?;
    println!("{}", prepared.instructions);
    if no_serve {
        return Ok(());
    }
    println!("Stop the server with Ctrl-C.");
    crate::serve::run_config(prepared.config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_have_distinct_names_and_seed_style_iqns() {
        let c = clients(2);
        assert_eq!(c[0].mac, "52:54:00:00:00:01");
        assert_eq!(
            c[1].initiator,
            "iqn.1991-05.com.microsoft:iscsiboot-52-54-00-00-00-02"
        );
        assert_ne!(c[0].target, c[1].target);
    }

    #[test]
    fn script_sanboots_the_clients_target() {
        let text = script(&clients(1)[0], 3260).unwrap();
        assert!(text.starts_with("#!ipxe\n"), "{text}");
        assert!(
            text.contains(
                "set initiator-iqn iqn.1991-05.com.microsoft:iscsiboot-52-54-00-00-00-01\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("iscsi:10.0.2.2::::iqn.2026-12.org.diskless-demo:client1-target"),
            "{text}"
        );
        assert!(text.contains("set keep-san 1\n"), "{text}");
        let other_port = script(&clients(1)[0], 3261).unwrap();
        assert!(
            other_port.contains("iscsi:10.0.2.2::3261::"),
            "{other_port}"
        );
    }

    #[test]
    fn greeting_sector_is_a_boot_sector() {
        assert_eq!(&GREETING_MBR[510..], &[0x55, 0xaa]);
    }

    #[test]
    fn prepare_makes_a_golden_image_children_and_scripts() {
        let dir = std::env::temp_dir().join(format!("dt-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = prepare(&dir, "127.0.0.1:3260".parse().unwrap(), 2).unwrap();
        assert_eq!(p.config.clients.len(), 2);
        let golden = vhd::open_file(dir.join("golden.vhd"), vhd::OpenOptions::read_only()).unwrap();
        let mut mbr = [0u8; 512];
        golden.read_at(&mut mbr, 0).unwrap();
        assert_eq!(&mbr, GREETING_MBR);
        let child = vhd::open_file(dir.join("client2.vhd"), vhd::OpenOptions::read_only()).unwrap();
        child.read_at(&mut mbr, 0).unwrap();
        assert_eq!(
            &mbr, GREETING_MBR,
            "the child reads through to the golden image"
        );
        assert!(dir.join("tftp/client1.ipxe").is_file());
        assert!(p.instructions.contains("qemu-system-x86_64"));
        // Running it again reuses the files.
        let again = prepare(&dir, "127.0.0.1:3260".parse().unwrap(), 2).unwrap();
        assert_eq!(again.config, p.config);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

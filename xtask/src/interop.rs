//! Interop steps: the workspace's code against real peers (tgt, libiscsi, qemu, tshark, libvhdi).
//!
//! Each step names the external programs it needs. A missing one prints
//! `MISSING PEER: <tool> (Debian package <pkg>)`; under `CI=true` the step fails, otherwise it is skipped
//! with a warning. `.ci/run` installs every package listed here.

use std::{
    env,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{
    Ctx, capture,
    report::{Outcome, Report, run},
};

/// Something an interop step needs from the machine.
#[derive(Debug)]
pub(crate) struct Peer {
    /// What to look for, and what `MISSING PEER:` calls it.
    tool: &'static str,
    /// How to look for it.
    probe: Probe,
    /// The Debian package that provides it.
    package: &'static str,
}

/// How to tell whether a [`Peer`] is installed.
#[derive(Debug)]
enum Probe {
    /// An executable of this name on `PATH` (what `which` does).
    Program,
    /// A QEMU loadable module `<tool>.so` under `/usr/lib/<triple>/qemu/` or `/usr/lib/qemu/`.
    QemuModule,
    /// A Python module that `import <tool>` finds in Debian's [`DEBIAN_PYTHON`] (a pyenv
    /// `python3` earlier on `PATH` does not see Debian's `python3-*` packages).
    PythonModule,
    /// A file at this absolute path.
    File,
}

/// Debian's Python, which Debian's `python3-*` packages install into.
pub(crate) const DEBIAN_PYTHON: &str = "/usr/bin/python3";

/// One interop step of `cargo xtask test`.
#[derive(Debug)]
pub(crate) struct InteropStep {
    /// The step's name on its summary line.
    pub(crate) name: &'static str,
    /// Everything the step needs installed.
    peers: &'static [Peer],
    /// The step itself, run once every peer is present.
    body: fn(&Ctx) -> anyhow::Result<Outcome>,
}

/// Shorthand for a [`Probe::Program`] peer.
const fn program(tool: &'static str, package: &'static str) -> Peer {
    Peer {
        tool,
        probe: Probe::Program,
        package,
    }
}

/// The interop steps, in the order `cargo xtask test` runs them.
pub(crate) const STEPS: &[InteropStep] = &[
    InteropStep {
        name: "interop-pdu-live",
        peers: &[
            program("tgtd", "tgt"),
            program("tgtadm", "tgt"),
            program("tshark", "tshark"),
            program("iscsi-ls", "libiscsi-bin"),
            program("iscsi-inq", "libiscsi-bin"),
            program("qemu-io", "qemu-utils"),
            Peer {
                tool: "block-iscsi",
                probe: Probe::QemuModule,
                package: "qemu-block-extra",
            },
        ],
        body: pdu_live,
    },
    InteropStep {
        name: "interop-vhd",
        peers: &[
            program("qemu-img", "qemu-utils"),
            program("qemu-io", "qemu-utils"),
            Peer {
                tool: "pyvhdi",
                probe: Probe::PythonModule,
                package: "python3-libvhdi",
            },
        ],
        body: vhd,
    },
    InteropStep {
        name: "interop-testcu",
        peers: &[
            program("iscsi-test-cu", "libiscsi-bin"),
            program("timeout", "coreutils"),
        ],
        body: crate::testcu::step,
    },
    InteropStep {
        name: "interop-ipxe",
        peers: QEMU_BOOT_PEERS,
        body: crate::target_checks::ipxe,
    },
    InteropStep {
        name: "interop-deploy",
        peers: QEMU_BOOT_PEERS,
        body: crate::deploy_boot::step,
    },
    InteropStep {
        name: "interop-ipxe-scripts",
        peers: QEMU_BOOT_PEERS,
        body: crate::script_boots::step,
    },
    InteropStep {
        name: "interop-dhcp",
        peers: &[
            program("dnsmasq", "dnsmasq-base"),
            program("dhcpd", "isc-dhcp-server"),
        ],
        body: crate::dhcp_snippets::step,
    },
    InteropStep {
        name: "interop-acl",
        peers: &[
            program("iscsi-inq", "libiscsi-bin"),
            program("iscsi-ls", "libiscsi-bin"),
            program("qemu-system-x86_64", "qemu-system-x86"),
            program("nasm", "nasm"),
            Peer {
                tool: "/usr/lib/ipxe/qemu/efi-e1000.rom",
                probe: Probe::File,
                package: "ipxe-qemu",
            },
        ],
        body: crate::target_checks::acl,
    },
    InteropStep {
        name: "interop-qemu-io",
        peers: &[
            program("qemu-io", "qemu-utils"),
            program("qemu-img", "qemu-utils"),
            Peer {
                tool: "block-iscsi",
                probe: Probe::QemuModule,
                package: "qemu-block-extra",
            },
            Peer {
                tool: "pyvhdi",
                probe: Probe::PythonModule,
                package: "python3-libvhdi",
            },
        ],
        body: crate::target_checks::qemu_io_step,
    },
];

/// What booting a diskless client in QEMU needs.
const QEMU_BOOT_PEERS: &[Peer] = &[
    program("qemu-system-x86_64", "qemu-system-x86"),
    program("nasm", "nasm"),
    Peer {
        tool: "/usr/lib/ipxe/qemu/efi-e1000.rom",
        probe: Probe::File,
        package: "ipxe-qemu",
    },
    Peer {
        tool: "pyvhdi",
        probe: Probe::PythonModule,
        package: "python3-libvhdi",
    },
];

/// Where `program` is on `PATH`, if anywhere.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is an executable file.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether QEMU's loadable module `<module>.so` is installed.
fn find_qemu_module(module: &str) -> bool {
    let file = format!("{module}.so");
    if Path::new("/usr/lib/qemu").join(&file).is_file() {
        return true;
    }
    std::fs::read_dir("/usr/lib").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.path().join("qemu").join(&file).is_file())
    })
}

impl Peer {
    /// Whether this peer is installed.
    fn is_present(&self) -> bool {
        match self.probe {
            Probe::Program => find_program(self.tool).is_some(),
            Probe::QemuModule => find_qemu_module(self.tool),
            Probe::File => Path::new(self.tool).is_file(),
            Probe::PythonModule => std::process::Command::new(DEBIAN_PYTHON)
                .args(["-c", &format!("import {}", self.tool)])
                .output()
                .is_ok_and(|out| out.status.success()),
        }
    }
}

/// Runs one interop step after checking its peers: missing peers fail it under CI, else skip it.
pub(crate) fn run_step(ctx: &Ctx, step: &InteropStep) -> anyhow::Result<Outcome> {
    let missing: Vec<&Peer> = step
        .peers
        .iter()
        .filter(|peer| !peer.is_present())
        .collect();
    if missing.is_empty() {
        return (step.body)(ctx);
    }
    for peer in &missing {
        eprintln!(
            "MISSING PEER: {} (Debian package {})",
            peer.tool, peer.package
        );
    }
    let tools: Vec<&str> = missing.iter().map(|peer| peer.tool).collect();
    let reason = format!("missing {}", tools.join(", "));
    let mut packages: Vec<&str> = missing.iter().map(|peer| peer.package).collect();
    packages.dedup();
    if ctx.ci {
        eprintln!(
            "xtask: ERROR: {}: peers missing under CI=true; .ci/run installs them",
            step.name
        );
        Ok(Outcome::Fail(reason))
    } else {
        eprintln!(
            "xtask: WARNING: skipping {}; install with: apt-get install {} (this step FAILS under CI=true)",
            step.name,
            packages.join(" ")
        );
        Ok(Outcome::Skip(reason))
    }
}

/// `interop-pdu-live`: captures live PDU streams between tgtd and libiscsi/qemu into a fresh temporary
/// directory, then decodes them with `cargo test -p iscsi-pdu --test fixtures` (`ISCSI_PDU_FIXTURES`).
fn pdu_live(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let test = "crates/iscsi-pdu/tests/fixtures.rs";
    if !ctx.root.join(test).is_file() {
        bail!("{test} is missing: the test that decodes the live captures is not written yet");
    }
    let dir = ctx.sh.create_temp_dir()?;
    let dir = dir.path();
    // The capture gets its own shell, so that directory or environment changes it makes stay there.
    let capture_sh = Shell::new()?;
    capture_sh.change_dir(&ctx.root);
    eprintln!("xtask: capturing live PDU streams into {}", dir.display());
    capture::run(&capture_sh, dir).context("live capture")?;
    let (sh, cargo) = (&ctx.sh, &ctx.cargo);
    run(cmd!(sh, "{cargo} test -p iscsi-pdu --test fixtures").env("ISCSI_PDU_FIXTURES", dir))?;
    Ok(Outcome::Pass)
}

/// `interop-vhd`: qemu-img and libvhdi read VHD files the `vhd` crate wrote, and the crate reads
/// qemu-img's: the `#[ignore]` tests of `crates/vhd/tests/interop.rs`.
fn vhd(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let (sh, cargo) = (&ctx.sh, &ctx.cargo);
    run(cmd!(
        sh,
        "{cargo} test -p vhd --test interop -- --ignored --test-threads=1"
    ))?;
    Ok(Outcome::Pass)
}

/// `cargo xtask interop [STEP]`: only the interop steps, with the usual summary.
pub(crate) fn interop_command(ctx: &Ctx, only: Option<&str>) -> anyhow::Result<ExitCode> {
    if let Some(only) = only
        && !STEPS.iter().any(|step| step.name == only)
    {
        let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
        bail!("no interop step `{only}`; steps: {}", names.join(" "));
    }
    let mut report = Report::default();
    for step in STEPS
        .iter()
        .filter(|step| only.is_none_or(|only| step.name == only))
    {
        report.step(step.name, || run_step(ctx, step));
    }
    Ok(report.finish())
}

//! `cargo xtask capture-fixtures [--out DIR]`: records real iSCSI traffic as test fixtures.
//!
//! The fixtures are conversations between peers that this project did not write: libiscsi's
//! command-line initiators (Debian `libiscsi-bin`, plus `qemu-io`, whose `iscsi://` driver is
//! libiscsi too) talking to the tgt target (`tgtd`, Debian `tgt`) over loopback, recorded by
//! `tshark`. For each scenario this task writes
//!
//! * `<scenario>-<n>.initiator.bin` / `<scenario>-<n>.target.bin`: the exact TCP payload bytes
//!   that each side sent on connection `<n>` (tshark's `tcp.stream` index), and
//! * `<scenario>.fields.tsv`: Wireshark's iSCSI dissector's decoding of every PDU, one row per
//!   PDU, as an independent oracle of the expected header field values,
//!
//! plus a `README.md` describing them (tool versions, port, negotiated digests, PDU counts).
//!
//! Steps: check the tools; make a temporary directory with a 64 MiB backing file filled with a
//! known pattern; start `tgtd` in the foreground on `127.0.0.1:<free port>` with its own control
//! socket (`TGT_IPC_SOCKET` in the temporary directory); create the target and LUN with `tgtadm`; then for each scenario start `tshark` on `lo`,
//! run the initiator commands, stop `tshark`, and split the capture into the files above. Every
//! byte stream is checked before it is written: its PDUs must tile it exactly and their opcodes
//! must match the dissector's rows one for one.
//!
//! Needs root, or at least the right to capture on `lo` and to run tgtd.
//! Only the loopback address is ever used. Background processes are owned by [`Daemon`] guards,
//! so they are stopped on every exit path, errors included; tgtd, which ignores SIGINT and
//! SIGTERM, also runs under a small shell watchdog that kills it if this process dies without
//! unwinding (Ctrl-C).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use xshell::Shell;

use crate::lab::{Daemon, HOST, free_port};

/// The only address anything listens on or connects to.
/// The target that tgtd serves.
const TARGET_IQN: &str = "iqn.2026-11.test.fixtures:disk";
/// tgt's target id for [`TARGET_IQN`].
const TID: &str = "1";
/// The LUN backed by the pattern file (tgt adds its own controller LUN 0).
const LUN: &str = "1";
/// Size of the backing file.
const DISK_BYTES: u32 = 64 << 20;
/// tgtd's control port. Its control socket is `$TGT_IPC_SOCKET.<port>`, and that variable points
/// into our temporary directory, so the number only has to fit tgtd's range (a C `short`).
const CONTROL_PORT: &str = "1";
/// Longest any single initiator command may run (seconds, for `timeout`).
const COMMAND_TIMEOUT_SECS: &str = "120";
/// The iSCSI opcode (low 6 bits of byte 0) of a Login Request.
const OP_LOGIN_REQUEST: u8 = 0x03;
/// The iSCSI opcode of a Login Response.
const OP_LOGIN_RESPONSE: u8 = 0x23;

/// Programs this task runs, with the Debian package that provides each.
const TOOLS: &[(&str, &str)] = &[
    ("tgtd", "tgt"),
    ("tgtadm", "tgt"),
    ("iscsi-ls", "libiscsi-bin"),
    ("iscsi-inq", "libiscsi-bin"),
    ("iscsi-readcapacity16", "libiscsi-bin"),
    ("iscsi-test-cu", "libiscsi-bin"),
    ("qemu-io", "qemu-utils"),
    ("qemu-img", "qemu-utils"),
    ("tshark", "tshark"),
    ("timeout", "coreutils"),
    ("kill", "procps"),
    ("sh", "dash"),
];

/// tgt target parameters that scenarios change, with the value each is restored to afterwards
/// (tgt 1.0.85's defaults).
const TARGET_PARAM_DEFAULTS: &[(&str, &str)] = &[
    ("HeaderDigest", "None"),
    ("DataDigest", "None"),
    ("InitialR2T", "Yes"),
    ("nop_interval", "0"),
    ("nop_count", "0"),
];

/// One capture: what the initiators do while tshark records.
struct Scenario {
    /// File name prefix.
    name: &'static str,
    /// One line for the README.
    about: &'static str,
    /// Target parameters set for this scenario only (see [`TARGET_PARAM_DEFAULTS`]).
    target_params: &'static [(&'static str, &'static str)],
    /// Initiator commands, run in order. `{portal_url}`, `{lun_url}` and `{image_opts}` are
    /// replaced by the discovery URL, the LUN's URL and a qemu `--image-opts` string.
    commands: &'static [&'static [&'static str]],
    /// Opcodes that must occur in the capture (a check that the scenario did its job).
    required_opcodes: &'static [u8],
    /// Every connection must have negotiated `HeaderDigest=CRC32C`.
    header_digest: bool,
}

/// The scenarios, in capture order.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "discovery",
        about: "Discovery session: login, SendTargets Text request/response, logout.",
        target_params: &[],
        commands: &[&["iscsi-ls", "{portal_url}"]],
        required_opcodes: &[0x03, 0x23, 0x04, 0x24, 0x06, 0x26],
        header_digest: false,
    },
    Scenario {
        name: "login-inquiry",
        about: "Normal-session logins with INQUIRY (standard and VPD 0x80), READ CAPACITY(16), \
                and `iscsi-ls -s` (a discovery session, then REPORT LUNS and INQUIRY per LUN).",
        target_params: &[],
        commands: &[
            &["iscsi-inq", "{lun_url}"],
            &["iscsi-inq", "-e", "1", "-c", "0x80", "{lun_url}"],
            &["iscsi-readcapacity16", "{lun_url}"],
            &["iscsi-ls", "-s", "{portal_url}"],
        ],
        required_opcodes: &[0x03, 0x23, 0x01, 0x21, 0x25, 0x04, 0x24],
        header_digest: false,
    },
    Scenario {
        name: "read-write",
        about: "qemu-io over libiscsi: an 8 KiB write carried entirely as immediate data, its \
                read-back, a 40 KiB write (8 KiB immediate data, then an R2T for 32 KiB and \
                four Data-Out PDUs) and a 256.5 KiB read (two Data-In PDUs: 256 KiB + 512 bytes).",
        target_params: &[],
        commands: &[&[
            "qemu-io",
            "-f",
            "raw",
            "-c",
            "write -P 0xab 4096 8192",
            "-c",
            "read -P 0xab 4096 8192",
            "-c",
            "write -P 0xcd 1048576 40960",
            "-c",
            "read 1048576 262656",
            "{lun_url}",
        ]],
        required_opcodes: &[0x01, 0x21, 0x25, 0x31, 0x05],
        header_digest: false,
    },
    Scenario {
        name: "unsolicited-write",
        about: "InitialR2T=No on the target: an 80 KiB write sends immediate data and unsolicited \
                Data-Out up to FirstBurstLength (64 KiB), then the rest after an R2T.",
        target_params: &[("InitialR2T", "No")],
        commands: &[&[
            "qemu-io",
            "-f",
            "raw",
            "-c",
            "write -P 0xef 2097152 81920",
            "-c",
            "read -P 0xef 2097152 8192",
            "{lun_url}",
        ]],
        required_opcodes: &[0x01, 0x21, 0x31, 0x05],
        header_digest: false,
    },
    Scenario {
        name: "digests",
        about: "HeaderDigest=CRC32C: a 16 KiB write (immediate data, R2T, Data-Out) and read with \
                qemu-io asking for CRC32C only, then iscsi-inq offering None,CRC32C. The target \
                also allows DataDigest=CRC32C, but libiscsi 1.19 only ever offers None.",
        target_params: &[("HeaderDigest", "CRC32C"), ("DataDigest", "CRC32C")],
        commands: &[
            &[
                "qemu-io",
                "-c",
                "write -P 0x5a 4096 16384",
                "-c",
                "read -P 0x5a 4096 16384",
                "--image-opts",
                "{image_opts},header-digest=crc32c",
            ],
            &["iscsi-inq", "{lun_url}"],
        ],
        required_opcodes: &[0x01, 0x21, 0x25, 0x31, 0x05],
        header_digest: true,
    },
    Scenario {
        name: "nop",
        about: "NOP-Out/NOP-In both ways: tgt pings every 2 s (nop_interval=2; the initiator \
                answers with TTT echoed), and qemu's iSCSI driver pings every 5 s during a \
                5.5 s idle period.",
        target_params: &[("nop_interval", "2"), ("nop_count", "3")],
        commands: &[&[
            "qemu-io",
            "-f",
            "raw",
            "-c",
            "read 0 512",
            "-c",
            "sleep 5500",
            "-c",
            "read 0 512",
            "{lun_url}",
        ]],
        required_opcodes: &[0x00, 0x20],
        header_digest: false,
    },
    Scenario {
        name: "task-mgmt",
        about: "Task Management Function request/response (ABORT TASK) from libiscsi's \
                iscsi-test-cu test iSCSI.iSCSITMF.AbortTaskSimpleAsync.",
        target_params: &[],
        commands: &[&[
            "iscsi-test-cu",
            "-d",
            "-t",
            "iSCSI.iSCSITMF.AbortTaskSimpleAsync",
            "{lun_url}",
        ]],
        required_opcodes: &[0x02, 0x22],
        header_digest: false,
    },
    Scenario {
        name: "residuals",
        about: "SCSI Response and Data-In PDUs with residual overflow/underflow (O/U bits, \
                ResidualCount) from iscsi-test-cu's iSCSI.iSCSIResiduals.Read10Residuals.",
        target_params: &[],
        commands: &[&[
            "iscsi-test-cu",
            "-t",
            "iSCSI.iSCSIResiduals.Read10Residuals",
            "{lun_url}",
        ]],
        required_opcodes: &[0x01, 0x21, 0x25],
        header_digest: false,
    },
];

/// Pseudo-column of the TSV: the opcode field of whichever SCSI command-set dissector decoded
/// the CDB of a SCSI Command PDU (`scsi_sbc.opcode`, `scsi.spc.opcode`, `scsi_smc.opcode`...).
const CDB_OPCODE_COLUMN: &str = "scsi_*.opcode";

/// TSV columns: Wireshark field names (first occurrence within the PDU), covering every BHS
/// field of every PDU kind in the captures, plus the digests and the login/text key=value pairs.
const COLUMNS: &[&str] = &[
    "frame.number",
    "tcp.stream",
    "tcp.srcport",
    "iscsi.opcode",
    "iscsi.I",
    "iscsi.flags",
    "iscsi.login.T",
    "iscsi.login.C",
    "iscsi.login.csg",
    "iscsi.login.nsg",
    "iscsi.versionmax",
    "iscsi.versionmin",
    "iscsi.versionactive",
    "iscsi.totalahslength",
    "iscsi.datasegmentlength",
    "scsi.lun",
    "iscsi.isid",
    "iscsi.tsih",
    "iscsi.cid",
    "iscsi.initiatortasktag",
    "iscsi.targettransfertag",
    "iscsi.cmdsn",
    "iscsi.expstatsn",
    "iscsi.statsn",
    "iscsi.expcmdsn",
    "iscsi.maxcmdsn",
    "iscsi.datasn",
    "iscsi.expdatasn",
    "iscsi.r2tsn",
    "iscsi.bufferOffset",
    "iscsi.desireddatalength",
    "iscsi.scsicommand.expecteddatatransferlength",
    CDB_OPCODE_COLUMN,
    "iscsi.scsiresponse.response",
    "iscsi.scsiresponse.status",
    "iscsi.scsiresponse.residualcount",
    "iscsi.scsiresponse.bidireadresidualcount",
    "iscsi.scsidata.readresidualcount",
    "iscsi.scsiresponse.senselength",
    "iscsi.login.status",
    "iscsi.taskmanfun.function",
    "iscsi.taskmanfun.referencedtasktag",
    "iscsi.refcmdsn",
    "iscsi.taskmanfun.response",
    "iscsi.logout.reason",
    "iscsi.logout.response",
    "iscsi.time2wait",
    "iscsi.time2retain",
    "iscsi.reject.reason",
    "iscsi.asyncevent",
    "iscsi.headerdigest32",
    "iscsi.datadigest32",
    "iscsi.keyvalue",
];

/// Separator between the key=value pairs of one PDU in the `iscsi.keyvalue` column.
const KEYVALUE_SEPARATOR: char = ';';

/// Records the fixtures into `out_dir` (created if needed; earlier fixture files there are
/// replaced).
pub(crate) fn run(sh: &Shell, out_dir: &Path) -> Result<()> {
    let out_dir = sh.current_dir().join(out_dir);
    let tools = Tools::find()?;
    let work = sh
        .create_temp_dir()
        .context("creating a temporary directory")?;
    let port = free_port()?;
    let lab = Lab {
        sh,
        tools,
        work: work.path().to_path_buf(),
        port,
    };
    let versions = lab.versions();

    let disk = lab.work.join("disk.img");
    fs::write(&disk, disk_pattern()).with_context(|| format!("writing {}", disk.display()))?;

    // Declared after `work`, so the daemon is stopped before the directory is removed.
    let _tgtd = lab.start_tgtd(&disk)?;
    let target_show = lab.tgtadm(&["--op", "show", "--mode", "target", "--tid", TID])?;
    let columns = lab.available_columns()?;

    let mut reports = Vec::new();
    for scenario in SCENARIOS {
        eprintln!("capture-fixtures: scenario `{}`", scenario.name);
        reports.push(lab.capture(scenario, &columns)?);
    }

    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    remove_old_fixtures(&out_dir)?;
    for report in &reports {
        for (name, bytes) in &report.outputs {
            let path = out_dir.join(name);
            fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let readme = render_readme(&lab, &versions, &target_show, &columns, &reports);
    fs::write(out_dir.join("README.md"), readme).context("writing README.md")?;
    eprintln!(
        "capture-fixtures: wrote {} scenarios to {}",
        reports.len(),
        out_dir.display()
    );
    Ok(())
}

/// Absolute paths of the [`TOOLS`].
struct Tools(BTreeMap<&'static str, PathBuf>);

impl Tools {
    /// Finds every tool (also in `/usr/sbin` and `/sbin`, which a non-root `PATH` may lack) and
    /// checks that qemu has its iSCSI driver.
    fn find() -> Result<Self> {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        dirs.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
        let mut found = BTreeMap::new();
        let mut missing = Vec::new();
        for &(program, package) in TOOLS {
            match dirs.iter().map(|d| d.join(program)).find(|p| p.is_file()) {
                Some(path) => {
                    found.insert(program, path);
                }
                None => missing.push(format!("`{program}` (Debian package `{package}`)")),
            }
        }
        if !missing.is_empty() {
            let packages: BTreeSet<&str> = TOOLS
                .iter()
                .filter(|(program, _)| !found.contains_key(program))
                .map(|&(_, package)| package)
                .collect();
            bail!(
                "missing tools: {}\ninstall them with: apt-get install -y --no-install-recommends {}",
                missing.join(", "),
                packages.into_iter().collect::<Vec<_>>().join(" ")
            );
        }
        let tools = Self(found);
        let help = Command::new(tools.path("qemu-img"))
            .arg("--help")
            .output()?;
        let help = String::from_utf8_lossy(&help.stdout);
        let has_iscsi = help
            .lines()
            .filter(|l| l.starts_with("Supported formats:"))
            .any(|l| l.split_whitespace().any(|f| f == "iscsi"));
        ensure!(
            has_iscsi,
            "qemu has no iscsi:// driver: install the Debian package `qemu-block-extra`"
        );
        Ok(tools)
    }

    fn path<'a>(&'a self, program: &'a str) -> &'a Path {
        // Every caller names a program from TOOLS, which `find` has resolved.
        self.0
            .get(program)
            .map_or(Path::new(program), PathBuf::as_path)
    }
}

/// The backing file's contents: every 4-byte big-endian word holds its own byte offset, so any
/// block read back identifies where it came from (LBA L, word i = L * 512 + 4 * i).
fn disk_pattern() -> Vec<u8> {
    (0..DISK_BYTES)
        .step_by(4)
        .flat_map(u32::to_be_bytes)
        .collect()
}

/// Removes fixture files that an earlier run left in `dir`.
fn remove_old_fixtures(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let ours = [".initiator.bin", ".target.bin", ".fields.tsv"]
            .iter()
            .any(|s| name.ends_with(s));
        if ours || name == "README.md" {
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// What the capture needs to know while it runs.
struct Lab<'a> {
    sh: &'a Shell,
    tools: Tools,
    /// Temporary directory: backing file, pcaps, daemon logs.
    work: PathBuf,
    /// iSCSI portal port on 127.0.0.1.
    port: u16,
}

/// What one scenario produced.
struct ScenarioReport {
    scenario: &'static Scenario,
    /// Output files (name, contents), the TSV last.
    outputs: Vec<(String, Vec<u8>)>,
    /// One entry per `.bin` file.
    streams: Vec<StreamReport>,
    /// Negotiated digests per connection: (tcp.stream, header, data).
    digests: Vec<(u32, bool, bool)>,
    tsv_rows: usize,
}

/// The PDUs of one direction of one connection.
struct StreamReport {
    file: String,
    bytes: usize,
    /// Opcode (without the I bit) → count.
    opcodes: BTreeMap<u8, usize>,
}

impl Lab<'_> {
    fn portal(&self) -> String {
        format!("{HOST}:{}", self.port)
    }

    /// Starts tgtd and sets up the target, LUN and ACL.
    fn start_tgtd(&self, disk: &Path) -> Result<Daemon> {
        // tgtd ignores SIGINT and SIGTERM: it runs under the watchdog shell, through `env` for
        // its control socket's path.
        let args = [
            format!("TGT_IPC_SOCKET={}", self.ipc_socket().display()),
            self.tools.path("tgtd").display().to_string(),
            "-f".into(),
            "-C".into(),
            CONTROL_PORT.into(),
            "--iscsi".into(),
            format!("portal={}", self.portal()),
        ];
        let log = self.work.join("tgtd.log");
        let mut tgtd = Daemon::spawn_watched("tgtd", "env", &args, log)?;

        // Ready once its control socket answers.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            tgtd.ensure_running()?;
            let probe = Command::new(self.tools.path("tgtadm"))
                .env("TGT_IPC_SOCKET", self.ipc_socket())
                .args(["-C", CONTROL_PORT, "--lld", "iscsi", "--op", "show"])
                .args(["--mode", "target"])
                .output()?;
            if probe.status.success() {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "tgtd did not come up:\n{}",
                tgtd.log_text()
            );
            sleep(Duration::from_millis(100));
        }

        let disk = disk.to_str().context("temporary path is not UTF-8")?;
        self.tgtadm(&[
            "--op", "new", "--mode", "target", "--tid", TID, "-T", TARGET_IQN,
        ])?;
        self.tgtadm(&[
            "--op",
            "new",
            "--mode",
            "logicalunit",
            "--tid",
            TID,
            "--lun",
            LUN,
            "-b",
            disk,
        ])?;
        self.tgtadm(&[
            "--op", "bind", "--mode", "target", "--tid", TID, "-I", "ALL",
        ])?;
        Ok(tgtd)
    }

    /// Prefix of tgtd's control socket path (private to this run).
    fn ipc_socket(&self) -> PathBuf {
        self.work.join("tgtd-ipc")
    }

    /// Runs `tgtadm -C <control port> --lld iscsi ARGS` and returns its output.
    fn tgtadm(&self, args: &[&str]) -> Result<String> {
        let cmd = self
            .sh
            .cmd(self.tools.path("tgtadm"))
            .env("TGT_IPC_SOCKET", self.ipc_socket());
        run_checked(cmd.args(["-C", CONTROL_PORT, "--lld", "iscsi"]).args(args))
    }

    fn set_target_param(&self, name: &str, value: &str) -> Result<()> {
        let args = [
            "--op", "update", "--mode", "target", "--tid", TID, "--name", name,
        ];
        self.tgtadm(&[&args[..], &["--value", value]].concat())
            .map(drop)
    }

    /// Expands a scenario command's placeholders and resolves its program.
    fn command_line(&self, argv: &[&str]) -> Vec<String> {
        let portal_url = format!("iscsi://{}", self.portal());
        let lun_url = format!("{portal_url}/{TARGET_IQN}/{LUN}");
        let image_opts = format!(
            "driver=iscsi,transport=tcp,portal={},target={TARGET_IQN},lun={LUN}",
            self.portal()
        );
        argv.iter()
            .map(|arg| {
                arg.replace("{portal_url}", &portal_url)
                    .replace("{lun_url}", &lun_url)
                    .replace("{image_opts}", &image_opts)
            })
            .collect()
    }

    /// Starts tshark on `lo` and waits until it is capturing.
    fn start_capture(&self, pcap: &Path) -> Result<Daemon> {
        let mut command = Command::new(self.tools.path("tshark"));
        command.args([
            "-i",
            "lo",
            "-f",
            &format!("tcp port {}", self.port),
            "-F",
            "pcap",
            "-w",
        ]);
        command.arg(pcap);
        let log = pcap.with_extension("tshark.log");
        let mut tshark = Daemon::spawn("tshark", command, log, "INT")?;
        // dumpcap writes the file header once the interface is open and the filter is set.
        let deadline = Instant::now() + Duration::from_secs(15);
        while fs::metadata(pcap).map_or(true, |m| m.len() == 0) {
            tshark.ensure_running()?;
            ensure!(
                Instant::now() < deadline,
                "tshark did not start:\n{}",
                tshark.log_text()
            );
            sleep(Duration::from_millis(50));
        }
        sleep(Duration::from_millis(500));
        tshark.ensure_running()?;
        Ok(tshark)
    }

    /// Records one scenario and turns the capture into fixture files.
    fn capture(&self, scenario: &'static Scenario, columns: &[&str]) -> Result<ScenarioReport> {
        for &(name, value) in scenario.target_params {
            self.set_target_param(name, value)?;
        }
        let pcap = self.work.join(format!("{}.pcap", scenario.name));
        let mut tshark = self.start_capture(&pcap)?;
        for argv in scenario.commands {
            let argv = self.command_line(argv);
            let program = self.tools.path(&argv[0]);
            let cmd =
                self.sh
                    .cmd(self.tools.path("timeout"))
                    .args(["-k", "5", COMMAND_TIMEOUT_SECS]);
            run_checked(cmd.arg(program).args(&argv[1..]))?;
        }
        // Let the last FIN/ACKs through, then make tshark flush and exit.
        sleep(Duration::from_millis(500));
        tshark.ensure_running()?;
        tshark.stop(Duration::from_secs(10))?;
        for &(name, _) in scenario.target_params {
            let default = TARGET_PARAM_DEFAULTS.iter().find(|(n, _)| *n == name);
            let &(_, default) = default.with_context(|| format!("no default for `{name}`"))?;
            self.set_target_param(name, default)?;
        }
        self.extract(scenario, &pcap, columns)
            .with_context(|| format!("scenario `{}` ({})", scenario.name, pcap.display()))
    }

    /// Splits a capture into per-connection byte streams and the dissector's TSV, and checks
    /// that both agree.
    fn extract(
        &self,
        scenario: &'static Scenario,
        pcap: &Path,
        columns: &[&str],
    ) -> Result<ScenarioReport> {
        let pdml = run_checked(self.tshark_read(pcap).args(["-Y", "iscsi", "-T", "pdml"]))?;
        let rows = parse_pdml(&pdml, columns)?;
        let col = |name: &str| columns.iter().position(|c| *c == name);
        let (stream_col, port_col, op_col) =
            match (col("tcp.stream"), col("tcp.srcport"), col("iscsi.opcode")) {
                (Some(s), Some(p), Some(o)) => (s, p, o),
                _ => bail!("tshark lacks tcp.stream, tcp.srcport or iscsi.opcode"),
            };

        let listing =
            run_checked(
                self.tshark_read(pcap)
                    .args(["-T", "fields", "-e", "tcp.stream"]),
            )?;
        let indices: BTreeSet<u32> = listing
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();

        let mut report = ScenarioReport {
            scenario,
            outputs: Vec::new(),
            streams: Vec::new(),
            digests: Vec::new(),
            tsv_rows: rows.len(),
        };
        let mut seen_opcodes = BTreeSet::new();
        for index in indices {
            let follow = format!("follow,tcp,raw,{index}");
            let text = run_checked(
                self.sh
                    .cmd(self.tools.path("tshark"))
                    .args(["-r"])
                    .arg(pcap)
                    .args(["-q", "-z", &follow]),
            )?;
            let (initiator, target) = parse_follow(&text, self.port)?;
            if initiator.is_empty() && target.is_empty() {
                continue;
            }
            let (header_digest, data_digest) = negotiated_digests(&target)?;
            if scenario.header_digest {
                ensure!(
                    header_digest,
                    "connection {index} did not negotiate HeaderDigest=CRC32C"
                );
            }
            report.digests.push((index, header_digest, data_digest));
            for (side, bytes, from_target) in
                [("initiator", initiator, false), ("target", target, true)]
            {
                let file = format!("{}-{index}.{side}.bin", scenario.name);
                let opcodes = split_pdus(&bytes, header_digest, data_digest)
                    .with_context(|| format!("framing {file}"))?;
                // The dissector's rows for this direction, in order.
                let oracle: Vec<u8> = rows
                    .iter()
                    .filter(|r| r[stream_col] == index.to_string())
                    .filter(|r| (r[port_col] == self.port.to_string()) == from_target)
                    .map(|r| parse_hex_u8(&r[op_col]))
                    .collect::<Result<_>>()?;
                ensure!(
                    oracle == opcodes,
                    "{file}: PDU opcodes {opcodes:02x?} but the dissector saw {oracle:02x?}"
                );
                let mut counts = BTreeMap::new();
                for &op in &opcodes {
                    *counts.entry(op).or_insert(0) += 1;
                    seen_opcodes.insert(op);
                }
                report.streams.push(StreamReport {
                    file: file.clone(),
                    bytes: bytes.len(),
                    opcodes: counts,
                });
                report.outputs.push((file, bytes));
            }
        }
        let missing: Vec<_> = scenario
            .required_opcodes
            .iter()
            .filter(|op| !seen_opcodes.contains(op))
            .collect();
        ensure!(
            missing.is_empty(),
            "expected opcodes {missing:02x?} never occurred"
        );
        let tsv = render_tsv(columns, &rows);
        report
            .outputs
            .push((format!("{}.fields.tsv", scenario.name), tsv.into_bytes()));
        Ok(report)
    }

    /// `tshark -r PCAP` with the iSCSI dissector on our port and digest-friendly settings.
    fn tshark_read(&self, pcap: &Path) -> xshell::Cmd<'_> {
        let port = self.port;
        self.sh
            .cmd(self.tools.path("tshark"))
            .arg("-r")
            .arg(pcap)
            .args(["-d", &format!("tcp.port=={port},iscsi")])
            .args(["-o", &format!("iscsi.target_ports:{port}")])
            // Data-In PDUs of 256 KiB are real here, not bogus.
            .args(["-o", "iscsi.bogus_pdu_max_data_len:16777215"])
            .args(["-o", "tcp.desegment_tcp_streams:TRUE"])
    }

    /// [`COLUMNS`] that this tshark knows (any others are dropped, with a warning).
    fn available_columns(&self) -> Result<Vec<&'static str>> {
        let fields = run_checked(
            self.sh
                .cmd(self.tools.path("tshark"))
                .args(["-G", "fields"]),
        )?;
        let known: BTreeSet<&str> = fields
            .lines()
            .filter_map(|l| l.strip_prefix("F\t")?.split('\t').nth(1))
            .collect();
        let (keep, drop): (Vec<_>, Vec<_>) = COLUMNS
            .iter()
            .partition(|c| **c == CDB_OPCODE_COLUMN || known.contains(**c));
        if !drop.is_empty() {
            eprintln!("capture-fixtures: this tshark lacks fields {drop:?}; leaving them out");
        }
        Ok(keep)
    }

    /// Tool versions for the README.
    fn versions(&self) -> Vec<(String, String)> {
        let first_line = |program: &str, arg: &str| {
            let out = Command::new(self.tools.path(program)).arg(arg).output();
            let out = out
                .map(|o| [o.stdout, o.stderr].concat())
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&out);
            text.lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with("Running as"))
                .unwrap_or("unknown")
                .trim()
                .to_owned()
        };
        let package = |name: &str| {
            let out = Command::new("dpkg-query")
                .args(["-W", "-f=${Version}", name])
                .output();
            match out {
                Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
                _ => "unknown (no dpkg)".to_owned(),
            }
        };
        vec![
            ("tgt (Debian package)".into(), package("tgt")),
            ("tgtd -V".into(), first_line("tgtd", "-V")),
            (
                "libiscsi-bin (Debian package)".into(),
                package("libiscsi-bin"),
            ),
            ("libiscsi7 (Debian package)".into(), package("libiscsi7")),
            (
                "qemu-utils / qemu-block-extra".into(),
                format!(
                    "{} / {}",
                    package("qemu-utils"),
                    package("qemu-block-extra")
                ),
            ),
            (
                "qemu-io --version".into(),
                first_line("qemu-io", "--version"),
            ),
            ("tshark --version".into(), first_line("tshark", "--version")),
        ]
    }
}

/// Runs a command, returning its stdout; on failure the error shows stdout and stderr.
fn run_checked(cmd: xshell::Cmd<'_>) -> Result<String> {
    let shown = cmd.to_string();
    let output = cmd.quiet().ignore_status().output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "`{shown}` failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

/// Parses `tshark -q -z follow,tcp,raw,N` output into (initiator→target, target→initiator)
/// bytes. tshark prints node 0's data flush left and node 1's indented by a tab; which node is
/// the target is told by its port.
fn parse_follow(text: &str, target_port: u16) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut ports = [None, None];
    let mut data = [Vec::new(), Vec::new()];
    for line in text.lines() {
        if let Some(node) = line.strip_prefix("Node 0: ") {
            ports[0] = node.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
        } else if let Some(node) = line.strip_prefix("Node 1: ") {
            ports[1] = node.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
        } else if ports[1].is_some() && !line.is_empty() && !line.starts_with('=') {
            let (node, hex) = match line.strip_prefix('\t') {
                Some(hex) => (1, hex),
                None => (0, line),
            };
            decode_hex(hex.trim_end(), &mut data[node])?;
        }
    }
    let [data0, data1] = data;
    match ports {
        [_, Some(p)] if p == target_port => Ok((data0, data1)),
        [Some(p), _] if p == target_port => Ok((data1, data0)),
        // A stream without payload names no nodes.
        _ if data0.is_empty() && data1.is_empty() => Ok((data0, data1)),
        _ => bail!("neither node of the followed stream is port {target_port}:\n{text}"),
    }
}

fn decode_hex(hex: &str, out: &mut Vec<u8>) -> Result<()> {
    ensure!(hex.len().is_multiple_of(2), "odd-length hex line");
    for pair in hex.as_bytes().chunks(2) {
        let pair = std::str::from_utf8(pair)?;
        out.push(u8::from_str_radix(pair, 16).with_context(|| format!("bad hex `{pair}`"))?);
    }
    Ok(())
}

fn parse_hex_u8(text: &str) -> Result<u8> {
    let digits = text
        .strip_prefix("0x")
        .with_context(|| format!("not a hex opcode: `{text}`"))?;
    Ok(u8::from_str_radix(digits, 16)?)
}

/// The digests (header, data) that the target accepted, from the key=value text of the login
/// responses at the start of its byte stream. A later answer overrides an earlier one.
fn negotiated_digests(target: &[u8]) -> Result<(bool, bool)> {
    let (mut header, mut data) = (false, false);
    let mut at = 0;
    while target.len() >= at + 48 && target[at] & 0x3f == OP_LOGIN_RESPONSE {
        let (len, text) = pdu_extent(&target[at..], false, false)?;
        for pair in text.split(|&b| b == 0) {
            let pair = String::from_utf8_lossy(pair);
            if let Some(value) = pair.strip_prefix("HeaderDigest=") {
                header = value == "CRC32C";
            } else if let Some(value) = pair.strip_prefix("DataDigest=") {
                data = value == "CRC32C";
            }
        }
        at += len;
    }
    Ok((header, data))
}

/// Length of the PDU at the start of `bytes` and its data segment (without padding).
fn pdu_extent(bytes: &[u8], header_digest: bool, data_digest: bool) -> Result<(usize, &[u8])> {
    ensure!(
        bytes.len() >= 48,
        "{} bytes left over: less than a BHS",
        bytes.len()
    );
    let ahs = usize::from(bytes[4]) * 4;
    let data_len = usize::from(bytes[5]) << 16 | usize::from(bytes[6]) << 8 | usize::from(bytes[7]);
    let data_start = 48 + ahs + if header_digest { 4 } else { 0 };
    let mut len = data_start + data_len.next_multiple_of(4);
    if data_digest && data_len > 0 {
        len += 4;
    }
    ensure!(
        len <= bytes.len(),
        "PDU of {len} bytes but only {} left",
        bytes.len()
    );
    Ok((len, &bytes[data_start..data_start + data_len]))
}

/// Walks a byte stream PDU by PDU and returns the opcodes (I bit cleared). The stream must end
/// exactly at a PDU boundary. Login PDUs never carry digests; the negotiated ones apply from the
/// first PDU after login.
fn split_pdus(stream: &[u8], header_digest: bool, data_digest: bool) -> Result<Vec<u8>> {
    let mut opcodes = Vec::new();
    let mut at = 0;
    let mut in_login = true;
    while at < stream.len() {
        let opcode = stream[at] & 0x3f;
        in_login &= opcode == OP_LOGIN_REQUEST || opcode == OP_LOGIN_RESPONSE;
        let (hd, dd) = if in_login {
            (false, false)
        } else {
            (header_digest, data_digest)
        };
        let (len, _) = pdu_extent(&stream[at..], hd, dd)
            .with_context(|| format!("PDU #{} at byte {at}", opcodes.len()))?;
        opcodes.push(opcode);
        at += len;
    }
    Ok(opcodes)
}

/// Turns `tshark -T pdml` output into one row per iSCSI PDU (cells in `columns` order).
///
/// Each `<proto name="iscsi">` element is one PDU; a frame holding several PDUs has several.
/// (`-T fields` would give one row per frame with the PDUs' values run together, which is why
/// PDML is used.) A cell is the field's first occurrence inside the PDU's `iscsi` element or the
/// `fake-field-wrapper` element right after it (where Wireshark 4.0 puts some flags); the CDB
/// opcode comes from the `scsi` element "SCSI CDB ..." that follows a SCSI Command.
fn parse_pdml(pdml: &str, columns: &[&str]) -> Result<Vec<Vec<String>>> {
    let col = |name: &str| columns.iter().position(|c| *c == name);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut frame: [Option<String>; 3] = Default::default(); // frame.number, tcp.stream, tcp.srcport
    let mut proto = String::new(); // the element that fields are being read from
    let mut pdu_open = false; // fields may still belong to the last row
    for line in pdml.lines().map(str::trim_start) {
        if line.starts_with("<packet>") {
            frame = Default::default();
            pdu_open = false;
        } else if line.starts_with("<proto ") {
            let name = attr(line, "name").unwrap_or_default();
            let showname = attr(line, "showname").unwrap_or_default();
            match name.as_str() {
                "iscsi" => {
                    let mut row = vec![String::new(); columns.len()];
                    for (name, value) in ["frame.number", "tcp.stream", "tcp.srcport"]
                        .iter()
                        .zip(&frame)
                    {
                        let value = value
                            .clone()
                            .with_context(|| format!("iSCSI PDU before {name}"))?;
                        if let Some(i) = col(name) {
                            row[i] = value;
                        }
                    }
                    rows.push(row);
                    pdu_open = true;
                }
                "fake-field-wrapper" => {}
                "scsi" if showname.starts_with("SCSI CDB") => {}
                _ => pdu_open = false,
            }
            proto = if name == "scsi" {
                format!("scsi:{showname}")
            } else {
                name
            };
        } else if line.starts_with("<field ") {
            let name = attr(line, "name").unwrap_or_default();
            let show = attr(line, "show").unwrap_or_default();
            match proto.as_str() {
                "frame" if name == "frame.number" => frame[0] = Some(show),
                "tcp" if name == "tcp.stream" => frame[1] = Some(show),
                "tcp" if name == "tcp.srcport" => frame[2] = Some(show),
                "iscsi" | "fake-field-wrapper" if pdu_open => {
                    let (Some(i), Some(row)) = (col(&name), rows.last_mut()) else {
                        continue;
                    };
                    if name == "iscsi.keyvalue" {
                        ensure!(
                            !show.contains([KEYVALUE_SEPARATOR, '\t', '\n']),
                            "key=value pair `{show}` contains a separator"
                        );
                        if !row[i].is_empty() {
                            row[i].push(KEYVALUE_SEPARATOR);
                        }
                        row[i].push_str(&show);
                    } else if row[i].is_empty() {
                        // Byte fields: plain hex like `-T fields` prints, not colon-separated.
                        let bytes = name == "iscsi.isid";
                        row[i] = if bytes {
                            attr(line, "value").unwrap_or_default()
                        } else {
                            show
                        };
                    }
                }
                p if pdu_open && p.starts_with("scsi:SCSI CDB") && name.ends_with(".opcode") => {
                    if let (Some(i), Some(row)) = (col(CDB_OPCODE_COLUMN), rows.last_mut())
                        && row[i].is_empty()
                    {
                        row[i] = show;
                    }
                }
                _ => {}
            }
        }
    }
    Ok(rows)
}

/// The value of attribute `key` in one PDML line, XML entities decoded.
fn attr(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!(" {key}=\""))? + key.len() + 3;
    let end = start + line[start..].find('"')?;
    Some(xml_unescape(&line[start..end]))
}

fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn render_tsv(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut tsv = columns.join("\t");
    tsv.push('\n');
    for row in rows {
        tsv.push_str(&row.join("\t"));
        tsv.push('\n');
    }
    tsv
}

/// Name of an iSCSI opcode (RFC 7143, section 11.2.1.2).
fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        0x00 => "NOP-Out",
        0x01 => "SCSI Command",
        0x02 => "Task Management Request",
        0x03 => "Login Request",
        0x04 => "Text Request",
        0x05 => "SCSI Data-Out",
        0x06 => "Logout Request",
        0x10 => "SNACK Request",
        0x20 => "NOP-In",
        0x21 => "SCSI Response",
        0x22 => "Task Management Response",
        0x23 => "Login Response",
        0x24 => "Text Response",
        0x25 => "SCSI Data-In",
        0x26 => "Logout Response",
        0x31 => "R2T",
        0x32 => "Asynchronous Message",
        0x3f => "Reject",
        _ => "unknown",
    }
}

fn render_readme(
    lab: &Lab<'_>,
    versions: &[(String, String)],
    target_show: &str,
    columns: &[&str],
    reports: &[ScenarioReport],
) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# iSCSI fixtures captured from real peers\n");
    let _ = writeln!(
        w,
        "Generated by `cargo xtask capture-fixtures` (xtask/src/capture.rs); do not edit by hand, \
         re-run it (as root) instead. Initiators: libiscsi's command-line tools and qemu-io (whose \
         iscsi:// driver is libiscsi). Target: tgt's `tgtd`. Recorded with tshark on loopback.\n"
    );
    let _ = writeln!(w, "## Setup\n");
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(w, "| portal | `{}` |", lab.portal());
    let _ = writeln!(
        w,
        "| target | `{TARGET_IQN}`, LUN {LUN} (LUN 0 is tgt's controller) |"
    );
    let _ = writeln!(
        w,
        "| backing file | {} MiB; every 4-byte big-endian word holds its own byte offset (LBA L, word i = L*512 + 4*i) before the scenarios write to it |",
        DISK_BYTES >> 20
    );
    for (tool, version) in versions {
        let _ = writeln!(w, "| {tool} | `{version}` |");
    }
    let _ = writeln!(
        w,
        "\nTarget parameters at the start (`tgtadm --op show --mode target --tid {TID}`):\n"
    );
    let params: Vec<&str> = target_show.lines().filter(|l| l.contains('=')).collect();
    let _ = writeln!(w, "```\n{}\n```\n", params.join("\n"));

    let _ = writeln!(w, "## Files\n");
    let _ = writeln!(
        w,
        "* `<scenario>-<n>.initiator.bin` / `<scenario>-<n>.target.bin`: every TCP payload byte \
         that the initiator / target sent on TCP connection `<n>` (tshark's `tcp.stream`), in \
         order, from `tshark -q -z follow,tcp,raw,<n>`. Each file is a whole number of PDUs.\n\
         * `<scenario>.fields.tsv`: Wireshark's iSCSI dissector's decoding, one row per PDU in \
         capture order, all connections of the scenario. Header row = Wireshark field names. A \
         cell is the field's first occurrence within that PDU as printed by tshark (numbers in \
         decimal, or `0x..` where Wireshark shows hex); empty = the dissector does not show that \
         field for that PDU kind. `tcp.srcport` = {port} means target→initiator. \
         `iscsi.opcode` has the I bit cleared (`iscsi.I` holds it where shown). `{CDB_OPCODE_COLUMN}` \
         is the CDB's operation code from whichever SCSI command-set dissector decoded it. \
         `iscsi.keyvalue` lists a Login/Text PDU's key=value pairs joined by `{KEYVALUE_SEPARATOR}`. \
         Rows come from `tshark -T pdml`, since `-T fields` gives one row per TCP segment and \
         several PDUs often share one.\n",
        port = lab.port
    );
    let _ = writeln!(w, "TSV columns: `{}`\n", columns.join("`, `"));
    let _ = writeln!(
        w,
        "Dissector options: `-d tcp.port=={port},iscsi -o iscsi.target_ports:{port} -o \
         iscsi.bogus_pdu_max_data_len:16777215`. Wireshark 4.0 has no digest preferences: it \
         detects CRC32C header/data digests by itself; `iscsi.headerdigest32` / \
         `iscsi.datadigest32` show them.\n",
        port = lab.port
    );

    for report in reports {
        let s = report.scenario;
        let _ = writeln!(w, "## `{}`\n\n{}\n", s.name, s.about);
        if !s.target_params.is_empty() {
            let params: Vec<String> = s
                .target_params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let _ = writeln!(
                w,
                "Target parameters for this scenario: `{}`.\n",
                params.join("`, `")
            );
        }
        let _ = writeln!(w, "Commands:\n");
        for argv in s.commands {
            let line: Vec<String> = lab
                .command_line(argv)
                .iter()
                .map(|a| shell_quote(a))
                .collect();
            let _ = writeln!(w, "    {}", line.join(" "));
        }
        let _ = writeln!(w);
        for &(stream, header, data) in &report.digests {
            let name = |on: bool| if on { "CRC32C" } else { "None" };
            let _ = writeln!(
                w,
                "* connection {stream}: HeaderDigest={}, DataDigest={}",
                name(header),
                name(data)
            );
        }
        let _ = writeln!(w, "\n| file | bytes | PDUs by opcode |\n|---|---:|---|");
        for stream in &report.streams {
            let counts: Vec<String> = stream
                .opcodes
                .iter()
                .map(|(op, n)| format!("{n}× 0x{op:02x} {}", opcode_name(*op)))
                .collect();
            let _ = writeln!(
                w,
                "| `{}` | {} | {} |",
                stream.file,
                stream.bytes,
                counts.join(", ")
            );
        }
        let (tsv_name, tsv) = report
            .outputs
            .last()
            .map(|(n, b)| (n.as_str(), b.len()))
            .unwrap_or_default();
        let _ = writeln!(w, "| `{tsv_name}` | {tsv} | {} rows |\n", report.tsv_rows);
    }

    let _ = writeln!(w, "## Observed behaviour of these versions\n");
    let _ = writeln!(
        w,
        "* tgt does not declare its MaxRecvDataSegmentLength (8192, the RFC default) in its login \
         response, so initiators send Data-Out / immediate data in 8 KiB pieces; libiscsi \
         declares 262144, so tgt sends Data-In PDUs of up to 256 KiB (larger than a loopback TCP \
         segment: such PDUs span several frames).\n\
         * tgt answers `HeaderDigest=None` to an offer of only `CRC32C` unless the target allows \
         CRC32C (it parses every offer as if `None` were in it), and prefers CRC32C whenever both \
         sides allow it, whatever the offer's order.\n\
         * libiscsi 1.19 always offers `DataDigest=None` (it has no data digest support), so no \
         capture has data digests. The utilities (iscsi-inq, iscsi-ls...) set HeaderDigest to \
         `None,CRC32C` after parsing the URL, so a `?header_digest=crc32c` URL argument has no \
         effect on them; qemu's `header-digest=crc32c` option does work.\n\
         * tgt sets the F bit only on the last Data-In PDU of a read, also when the read is \
         longer than MaxBurstLength (262144) and so spans two Data-In sequences: the first, \
         full-burst PDU of the 256.5 KiB read in `read-write` has F=0.\n\
         * `iscsi-ls -s` closes its normal session without a Logout.\n\
         * libiscsi's CmdSN, ITT and ISID start at random values, so a re-run gives different \
         bytes."
    );
    md
}

/// Quotes an argument for display in a POSIX shell command line.
fn shell_quote(arg: &str) -> String {
    let plain = arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain && !arg.is_empty() {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BHS with the given opcode byte and data segment length, followed by padded data.
    fn pdu(opcode: u8, data: &[u8]) -> Vec<u8> {
        let mut pdu = vec![0; 48];
        pdu[0] = opcode;
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes();
        pdu[5..8].copy_from_slice(&len[1..]);
        pdu.extend_from_slice(data);
        pdu.resize(pdu.len().next_multiple_of(4), 0);
        pdu
    }

    #[test]
    fn splits_pdus_with_and_without_digests() -> Result<()> {
        let mut stream = pdu(0x43, b"HeaderDigest=CRC32C\0");
        let mut body = pdu(0x01, b"abcde");
        body.splice(48..48, [0; 4]); // header digest
        body.extend_from_slice(&[0; 4]); // data digest
        stream.extend_from_slice(&body);
        assert_eq!(split_pdus(&stream, true, true)?, [0x03, 0x01]);
        assert!(split_pdus(&stream, false, false).is_err());
        Ok(())
    }

    #[test]
    fn reads_negotiated_digests() -> Result<()> {
        let mut target = pdu(0x23, b"HeaderDigest=None\0");
        target.extend(pdu(0x23, b"HeaderDigest=CRC32C\0DataDigest=None\0"));
        target.extend(pdu(0x21, b""));
        assert_eq!(negotiated_digests(&target)?, (true, false));
        Ok(())
    }

    #[test]
    fn parses_follow_output() -> Result<()> {
        let text = "\n=====\nFollow: tcp,raw\nFilter: tcp.stream eq 0\nNode 0: 127.0.0.1:4000\n\
                    Node 1: 127.0.0.1:3260\n4300\n\tab\n01\n=====\n";
        assert_eq!(
            parse_follow(text, 3260)?,
            (vec![0x43, 0x00, 0x01], vec![0xab])
        );
        Ok(())
    }

    #[test]
    fn parses_pdml_pdus() -> Result<()> {
        let pdml = r#"<packet>
  <proto name="frame">
    <field name="frame.number" show="7"/>
  <proto name="tcp">
    <field name="tcp.srcport" show="3260" value="0cbc"/>
    <field name="tcp.stream" show="2"/>
  <proto name="iscsi" showname="iSCSI (Login Response)">
    <field name="iscsi.opcode" show="0x23" value="23"/>
    <field name="iscsi.isid" show="80:01" value="8001"/>
    <field name="iscsi.keyvalue" show="A=1"/>
    <field name="iscsi.keyvalue" show="B=&quot;2&quot;"/>
  <proto name="iscsi" showname="iSCSI (SCSI Command)">
    <field name="iscsi.opcode" show="0x01" value="1"/>
  <proto name="fake-field-wrapper">
    <field name="iscsi.flags" show="0x81" value="81"/>
  <proto name="scsi" showname="SCSI CDB Inquiry">
    <field name="scsi_sbc.opcode" show="0x12" value="12"/>
  <proto name="scsi" showname="SCSI Payload">
    <field name="scsi.lun" show="0x0001"/>
</packet>"#;
        let columns = [
            "frame.number",
            "tcp.stream",
            "tcp.srcport",
            "iscsi.opcode",
            "iscsi.flags",
        ];
        let columns = [
            &columns[..],
            &[
                "iscsi.isid",
                "scsi.lun",
                CDB_OPCODE_COLUMN,
                "iscsi.keyvalue",
            ],
        ]
        .concat();
        let rows = parse_pdml(pdml, &columns)?;
        assert_eq!(
            rows[0],
            ["7", "2", "3260", "0x23", "", "8001", "", "", "A=1;B=\"2\""]
        );
        assert_eq!(
            rows[1],
            ["7", "2", "3260", "0x01", "0x81", "", "", "0x12", ""]
        );
        Ok(())
    }

    #[test]
    fn disk_pattern_words_hold_offsets() {
        let disk = disk_pattern();
        assert_eq!(disk.len(), DISK_BYTES as usize);
        assert_eq!(
            disk[512 * 3 + 8..512 * 3 + 12],
            (512 * 3 + 8u32).to_be_bytes()
        );
    }
}

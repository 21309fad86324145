//! The test bench of the target interop steps: background processes that are always stopped, free
//! loopback ports, and the two iSCSI targets the steps run against.
//!
//! * [`ServerKind::Ours`] is `diskless-target serve` with a TOML config written from a [`Setup`];
//! * [`ServerKind::Tgt`] is Debian's `tgtd`, set up with `tgtadm` from the same [`Setup`], so every check can
//!   first be proven against a target that this project did not write (`XTASK_TARGET=tgt`).
//!
//! Only 127.0.0.1 is ever used. tgtd ignores SIGINT and SIGTERM, so it runs under a small shell watchdog
//! that kills it when our end of a pipe closes, which also happens when xtask dies without unwinding.

use std::fmt::Write as _;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::Ctx;

/// The only address anything listens on or connects to.
pub(crate) const HOST: &str = "127.0.0.1";

/// A loopback port that was free a moment ago (the server binds it right after).
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((HOST, 0)).context("looking for a free port")?;
    Ok(listener.local_addr()?.port())
}

/// How a [`Daemon`] is asked to finish before it is killed.
enum Stop {
    /// Send this signal with `kill`.
    Signal(&'static str),
    /// The process runs under [`WATCHDOG`], which SIGKILLs it when this pipe closes.
    Watchdog(Option<ChildStdin>),
}

/// `sh -c WATCHDOG sh PROGRAM ARGS...`: runs the program in the background and kills it when stdin
/// reaches end of file.
const WATCHDOG: &str = r#"trap '' INT HUP TERM
exec 3<&0
"$@" </dev/null 3<&- &
pid=$!
{ read -r _ <&3; kill -KILL "$pid" 2>/dev/null; } &
wait "$pid""#;

/// A background process, stopped when the guard is dropped (on error paths too).
pub(crate) struct Daemon {
    /// Its name in messages.
    name: String,
    /// The process.
    child: Child,
    /// Where its stdout and stderr go.
    log: PathBuf,
    /// How to ask it to stop.
    stop: Stop,
}

impl Daemon {
    /// Starts `command` with its output going to `log`; `signal` asks it to stop (`TERM`, `INT`).
    pub(crate) fn spawn(
        name: &str,
        command: Command,
        log: PathBuf,
        signal: &'static str,
    ) -> Result<Self> {
        Self::spawn_with(name, command, log, Stop::Signal(signal))
    }

    /// Starts `program ARGS` under the watchdog shell (for programs that ignore signals).
    pub(crate) fn spawn_watched(
        name: &str,
        program: &str,
        args: &[String],
        log: PathBuf,
    ) -> Result<Self> {
        let mut command = Command::new("sh");
        command.args(["-c", WATCHDOG, "sh", program]).args(args);
        Self::spawn_with(name, command, log, Stop::Watchdog(None))
    }

    /// Starts `command`, its output to `log`.
    fn spawn_with(name: &str, mut command: Command, log: PathBuf, mut stop: Stop) -> Result<Self> {
        let out = fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let stdin = match stop {
            Stop::Signal(_) => Stdio::null(),
            Stop::Watchdog(_) => Stdio::piped(),
        };
        command.stdin(stdin).stdout(out.try_clone()?).stderr(out);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        if let Stop::Watchdog(pipe) = &mut stop {
            *pipe = child.stdin.take();
        }
        Ok(Self {
            name: name.to_owned(),
            child,
            log,
            stop,
        })
    }

    /// Fails, showing the log, if the process has exited.
    pub(crate) fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited unexpectedly ({status}); its output:\n{}",
                self.name,
                self.log_text()
            );
        }
        Ok(())
    }

    /// What the process printed so far.
    pub(crate) fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Asks the process to finish, gives it up to `grace`, then kills it. Returns its exit code when
    /// it exited by itself.
    pub(crate) fn stop(&mut self, grace: Duration) -> Result<Option<i32>> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status.code());
        }
        let asked = match &mut self.stop {
            Stop::Signal(signal) => {
                let pid = self.child.id().to_string();
                Command::new("kill")
                    .args([&format!("-{signal}"), pid.as_str()])
                    .status()
                    .is_ok_and(|s| s.success())
            }
            Stop::Watchdog(pipe) => pipe.take().is_some(),
        };
        if asked {
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Some(status) = self.child.try_wait()? {
                    return Ok(status.code());
                }
                sleep(Duration::from_millis(50));
            }
            eprintln!("xtask: {} did not stop in {grace:?}; killing it", self.name);
        }
        self.child
            .kill()
            .with_context(|| format!("killing {}", self.name))?;
        self.child.wait()?;
        Ok(None)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Err(err) = self.stop(Duration::from_secs(5)) {
            eprintln!("xtask: stopping {}: {err:#}", self.name);
        }
    }
}

/// CHAP credentials (a user name and its secret).
#[derive(Debug, Clone)]
pub(crate) struct Chap {
    /// CHAP_N.
    pub(crate) user: String,
    /// The shared secret (12 to 16 bytes for Windows; any length here).
    pub(crate) secret: String,
}

/// How a LUN's backing file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LunFile {
    /// A raw image (tgt can serve only these).
    Raw,
    /// A VHD (fixed, dynamic or differencing; ours only).
    Vhd,
}

/// One LUN of a [`TargetNode`].
#[derive(Debug, Clone)]
pub(crate) struct Lun {
    /// The backing file.
    pub(crate) path: PathBuf,
    /// Its format.
    pub(crate) file: LunFile,
    /// Served write-protected.
    pub(crate) read_only: bool,
}

/// One target of a [`Setup`]: its IQN, who may log in and its LUN.
#[derive(Debug, Clone)]
pub(crate) struct TargetNode {
    /// A short name (ours: the client's name in the config).
    pub(crate) name: String,
    /// The target IQN.
    pub(crate) iqn: String,
    /// The initiator IQNs admitted.
    pub(crate) initiators: Vec<String>,
    /// One-way CHAP, when required.
    pub(crate) chap: Option<Chap>,
    /// The credentials the target proves when the initiator asks for mutual CHAP (ours only; needs
    /// `chap`).
    pub(crate) mutual_chap: Option<Chap>,
    /// The data LUN (served as [`ServerKind::data_lun`]).
    pub(crate) lun: Lun,
}

/// What a server serves.
#[derive(Debug, Clone, Default)]
pub(crate) struct Setup {
    /// The golden image every differencing LUN is a child of (ours only).
    pub(crate) golden: Option<PathBuf>,
    /// The targets.
    pub(crate) targets: Vec<TargetNode>,
}

/// Which iSCSI target implementation a step runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerKind {
    /// `diskless-target serve`.
    Ours,
    /// tgtd (Debian `tgt`), to validate the checks themselves.
    Tgt,
}

impl ServerKind {
    /// `XTASK_TARGET=tgt` runs the target checks against tgt instead of ours.
    pub(crate) fn from_env() -> Result<Self> {
        match std::env::var("XTASK_TARGET").as_deref() {
            Err(_) | Ok("" | "ours") => Ok(Self::Ours),
            Ok("tgt") => Ok(Self::Tgt),
            Ok(other) => bail!("XTASK_TARGET must be `ours` or `tgt`, not `{other}`"),
        }
    }

    /// The LUN number the data LUN gets (tgt keeps LUN 0 for its controller).
    pub(crate) fn data_lun(self) -> u32 {
        match self {
            Self::Ours => 0,
            Self::Tgt => 1,
        }
    }

    /// A name for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Ours => "diskless-target",
            Self::Tgt => "tgt",
        }
    }
}

/// A running target.
pub(crate) struct Server {
    /// Which implementation it is.
    pub(crate) kind: ServerKind,
    /// Its port on [`HOST`].
    pub(crate) port: u16,
    /// The process.
    pub(crate) daemon: Daemon,
}

/// tgtd's control port (its socket lives in the work directory, so the number only has to fit tgt's range).
const TGT_CONTROL_PORT: &str = "1";

impl Server {
    /// Starts `kind` serving `setup` on a free port; `work` holds its config and log.
    pub(crate) fn start(ctx: &Ctx, kind: ServerKind, work: &Path, setup: &Setup) -> Result<Self> {
        let port = free_port()?;
        let daemon = match kind {
            ServerKind::Ours => start_ours(ctx, work, port, setup, false)?,
            ServerKind::Tgt => start_tgt(work, port, setup)?,
        };
        let mut server = Self { kind, port, daemon };
        server.wait_listening()?;
        Ok(server)
    }

    /// Starts our release build (for benches).
    pub(crate) fn start_release(ctx: &Ctx, work: &Path, setup: &Setup) -> Result<Self> {
        let port = free_port()?;
        let daemon = start_ours(ctx, work, port, setup, true)?;
        let mut server = Self {
            kind: ServerKind::Ours,
            port,
            daemon,
        };
        server.wait_listening()?;
        Ok(server)
    }

    /// Waits until the port accepts connections.
    fn wait_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.daemon.ensure_running()?;
            if TcpStream::connect((HOST, self.port)).is_ok() {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "{} did not listen on port {} within 20 s:\n{}",
                self.kind.name(),
                self.port,
                self.daemon.log_text()
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// `iscsi://127.0.0.1:PORT/IQN/LUN`, with `user%secret@` when given.
    pub(crate) fn url(&self, iqn: &str, chap: Option<&Chap>) -> String {
        let auth = chap.map_or(String::new(), |c| format!("{}%{}@", c.user, c.secret));
        format!(
            "iscsi://{auth}{HOST}:{}/{iqn}/{}",
            self.port,
            self.kind.data_lun()
        )
    }

    /// `iscsi://127.0.0.1:PORT` (discovery).
    pub(crate) fn portal_url(&self) -> String {
        format!("iscsi://{HOST}:{}", self.port)
    }

    /// Stops the server gracefully (ours: SIGTERM, then it flushes; tgt: killed) and returns its exit
    /// code when it exited by itself.
    pub(crate) fn stop(mut self) -> Result<Option<i32>> {
        self.daemon.stop(Duration::from_secs(20))
    }
}

/// The target directory cargo builds into (`CARGO_TARGET_DIR`, else `<root>/target`).
pub(crate) fn target_dir(ctx: &Ctx) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => ctx.root.join(dir),
        None => ctx.root.join("target"),
    }
}

/// Builds `diskless-target` (debug, or release) and returns the binary's path.
pub(crate) fn build_ours(ctx: &Ctx, release: bool) -> Result<PathBuf> {
    let cargo = &ctx.cargo;
    let sh = &ctx.sh;
    let profile: &[&str] = if release { &["--release"] } else { &[] };
    crate::report::run(xshell::cmd!(
        sh,
        "{cargo} build --quiet {profile...} -p diskless-target"
    ))?;
    let dir = if release { "release" } else { "debug" };
    let bin = target_dir(ctx).join(dir).join("diskless-target");
    ensure!(bin.is_file(), "{} was not built", bin.display());
    Ok(bin)
}

/// Renders `setup` as a `diskless-target serve` config listening on `port`.
pub(crate) fn render_config(port: u16, setup: &Setup) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "listen = \"{HOST}:{port}\"");
    if let Some(golden) = &setup.golden {
        let _ = writeln!(out, "golden = {}", toml_str(&golden.display().to_string()));
    }
    for target in &setup.targets {
        let _ = writeln!(out, "\n[[client]]");
        let _ = writeln!(out, "name = {}", toml_str(&target.name));
        let _ = writeln!(out, "target = {}", toml_str(&target.iqn));
        let initiators: Vec<String> = target.initiators.iter().map(|i| toml_str(i)).collect();
        let _ = writeln!(out, "initiators = [{}]", initiators.join(", "));
        if let Some(chap) = &target.chap {
            let _ = writeln!(
                out,
                "chap = {{ user = {}, secret = {} }}",
                toml_str(&chap.user),
                toml_str(&chap.secret)
            );
        }
        if let Some(chap) = &target.mutual_chap {
            let _ = writeln!(
                out,
                "mutual_chap = {{ user = {}, secret = {} }}",
                toml_str(&chap.user),
                toml_str(&chap.secret)
            );
        }
        let _ = writeln!(out, "[[client.lun]]");
        let _ = writeln!(out, "id = 0");
        let _ = writeln!(
            out,
            "path = {}",
            toml_str(&target.lun.path.display().to_string())
        );
        let kind = match target.lun.file {
            LunFile::Raw => "raw",
            LunFile::Vhd => "vhd",
        };
        let _ = writeln!(out, "kind = \"{kind}\"");
        if target.lun.read_only {
            let _ = writeln!(out, "read_only = true");
        }
    }
    out
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes the config and starts `diskless-target serve`.
fn start_ours(ctx: &Ctx, work: &Path, port: u16, setup: &Setup, release: bool) -> Result<Daemon> {
    let bin = build_ours(ctx, release)?;
    let config = work.join(format!("serve-{port}.toml"));
    fs::write(&config, render_config(port, setup))
        .with_context(|| format!("writing {}", config.display()))?;
    let mut command = Command::new(bin);
    command.arg("serve").arg("--config").arg(&config);
    command.env("RUST_BACKTRACE", "1");
    Daemon::spawn(
        "diskless-target serve",
        command,
        work.join(format!("serve-{port}.log")),
        "TERM",
    )
}

/// Where tgtd and tgtadm are (`/usr/sbin` may be missing from a non-root `PATH`).
fn tgt_program(name: &str) -> String {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin"] {
        let path = Path::new(dir).join(name);
        if path.is_file() {
            return path.display().to_string();
        }
    }
    name.to_owned()
}

/// Starts tgtd on `port` with its control socket in `work`, then sets up `setup`'s targets.
fn start_tgt(work: &Path, port: u16, setup: &Setup) -> Result<Daemon> {
    let ipc = work.join(format!("tgtd-ipc-{port}"));
    let args = vec![
        "-f".to_owned(),
        "-C".to_owned(),
        TGT_CONTROL_PORT.to_owned(),
        "--iscsi".to_owned(),
        format!("portal={HOST}:{port}"),
    ];
    // tgtd reads its control socket path from the environment: `env` sets it under the watchdog.
    let mut full = vec![format!("TGT_IPC_SOCKET={}", ipc.display())];
    full.push(tgt_program("tgtd"));
    full.extend(args);
    let mut tgtd =
        Daemon::spawn_watched("tgtd", "env", &full, work.join(format!("tgtd-{port}.log")))?;
    let tgtadm = |args: &[&str]| -> Result<String> {
        let out = Command::new(tgt_program("tgtadm"))
            .env("TGT_IPC_SOCKET", &ipc)
            .args(["-C", TGT_CONTROL_PORT, "--lld", "iscsi"])
            .args(args)
            .output()
            .context("running tgtadm")?;
        ensure!(
            out.status.success(),
            "tgtadm {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while tgtadm(&["--op", "show", "--mode", "target"]).is_err() {
        tgtd.ensure_running()?;
        ensure!(
            Instant::now() < deadline,
            "tgtd did not come up:\n{}",
            tgtd.log_text()
        );
        sleep(Duration::from_millis(100));
    }
    for (index, target) in setup.targets.iter().enumerate() {
        let tid = (index + 1).to_string();
        ensure!(
            target.lun.file == LunFile::Raw,
            "tgt serves raw files only ({})",
            target.lun.path.display()
        );
        ensure!(
            target.mutual_chap.is_none(),
            "mutual CHAP is not set up for tgt here ({})",
            target.iqn
        );
        let path = target.lun.path.display().to_string();
        tgtadm(&[
            "--op",
            "new",
            "--mode",
            "target",
            "--tid",
            &tid,
            "-T",
            &target.iqn,
        ])?;
        let mut lun = vec![
            "--op",
            "new",
            "--mode",
            "logicalunit",
            "--tid",
            &tid,
            "--lun",
            "1",
            "-b",
            &path,
        ];
        if target.lun.read_only {
            lun.extend(["--params", "readonly=1"]);
        }
        tgtadm(&lun)?;
        for initiator in &target.initiators {
            tgtadm(&[
                "--op",
                "bind",
                "--mode",
                "target",
                "--tid",
                &tid,
                "--initiator-name",
                initiator,
            ])?;
        }
        if let Some(chap) = &target.chap {
            tgtadm(&[
                "--op",
                "new",
                "--mode",
                "account",
                "--user",
                &chap.user,
                "--password",
                &chap.secret,
            ])?;
            tgtadm(&[
                "--op", "bind", "--mode", "account", "--tid", &tid, "--user", &chap.user,
            ])?;
        }
    }
    Ok(tgtd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_config_with_chap_and_escapes() {
        let setup = Setup {
            golden: Some("/g/golden.vhd".into()),
            targets: vec![TargetNode {
                name: "c1".into(),
                iqn: "iqn.2026-11.test:c1".into(),
                initiators: vec!["iqn.a".into(), "iqn.b".into()],
                chap: Some(Chap {
                    user: "u\"x".into(),
                    secret: "s\\y".into(),
                }),
                mutual_chap: Some(Chap {
                    user: "t".into(),
                    secret: "0123456789ab".into(),
                }),
                lun: Lun {
                    path: "/d/c1.vhd".into(),
                    file: LunFile::Vhd,
                    read_only: false,
                },
            }],
        };
        let text = render_config(3260, &setup);
        assert!(text.contains("listen = \"127.0.0.1:3260\""));
        assert!(text.contains("golden = \"/g/golden.vhd\""));
        assert!(text.contains("initiators = [\"iqn.a\", \"iqn.b\"]"));
        assert!(text.contains("chap = { user = \"u\\\"x\", secret = \"s\\\\y\" }"));
        assert!(text.contains("mutual_chap = { user = \"t\", secret = \"0123456789ab\" }"));
        assert!(text.contains("kind = \"vhd\""));
        assert!(!text.contains("read_only"));
    }
}

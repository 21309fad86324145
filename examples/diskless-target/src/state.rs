//! The deployment state directory (`--state DIR`, default `./diskless-state`): one
//! human-readable file, `clients.toml`, that the `client` and `golden` commands edit and that
//! `serve --state` serves (and re-reads when it changes).
//!
//! ```text
//! DIR/clients.toml          the state: the current golden image and every client (atomic writes)
//! DIR/golden/NAME.vhd       golden images (copies made by `golden set`, re-bakes by
//!                           `golden merge`), mode 0444: never written by the server
//! DIR/disks/NAME-rN.vhd     each client's differencing disk (N counts its resets)
//! DIR/tftp/boot.ipxe        the dispatcher: chains ${net0/mac:hexhyp}.ipxe
//! DIR/tftp/MAC.ipxe         each client's script (MAC as aa-bb-cc-dd-ee-ff)
//! DIR/run/NAME/conn-N       one marker per logged-in session, made by the running server
//! DIR/.lock                 exists (with its pid) while a command changes the state
//! ```
//!
//! Paths in `clients.toml` are relative to the state directory unless absolute (a golden image
//! recorded with `golden set --reference`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::atomic_file::AtomicFile;
use crate::config::{Chap, ClientConfig, LunConfig, LunKind, ServeConfig};

/// The state file's name inside the state directory.
pub(crate) const STATE_FILE: &str = "clients.toml";

/// The default state directory.
pub(crate) const DEFAULT_STATE_DIR: &str = "diskless-state";

/// The naming authority of target IQNs derived from client names.
pub(crate) const TARGET_PREFIX: &str = "iqn.2026-12.org.diskless-target:";

/// The default port in the clients' root paths.
pub(crate) const DEFAULT_PORT: u16 = 3260;

/// The default server address in the clients' scripts: this machine as QEMU's user-mode
/// network shows it to a guest.
pub(crate) const DEFAULT_SERVER: &str = "10.0.2.2";

/// The state file as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct State {
    /// The golden image new clients (and reset clients) are made over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) golden: Option<PathBuf>,
    /// The clients, in the order they were added.
    #[serde(default, rename = "client")]
    pub(crate) clients: Vec<ClientEntry>,
}

/// CHAP credentials as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChapEntry {
    pub(crate) user: String,
    pub(crate) secret: String,
}

impl std::fmt::Debug for ChapEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChapEntry")
            .field("user", &self.user)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// One client as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientEntry {
    /// Its name: lower-case letters, digits, `-` and `.`.
    pub(crate) name: String,
    /// The NIC's MAC address, `aa:bb:cc:dd:ee:ff`.
    pub(crate) mac: String,
    /// Its target's IQN.
    pub(crate) target: String,
    /// The one initiator IQN the target admits.
    pub(crate) initiator: String,
    /// Its differencing disk.
    pub(crate) disk: PathBuf,
    /// The golden image its disk was made over.
    pub(crate) golden: PathBuf,
    /// The address its script connects to.
    pub(crate) server: String,
    /// The port its script connects to.
    pub(crate) port: u16,
    /// How many times it was reset (names the disk file).
    #[serde(default)]
    pub(crate) revision: u32,
    /// One-way CHAP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) chap: Option<ChapEntry>,
    /// Mutual CHAP: what the target proves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mutual_chap: Option<ChapEntry>,
}

/// A state directory.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state directory at `root` (made absolute; it need not exist yet).
    pub(crate) fn new(root: &Path) -> Self {
        StateDir {
            root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
        }
    }

    /// The directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// `clients.toml`.
    pub(crate) fn state_file(&self) -> PathBuf {
        self.root.join(STATE_FILE)
    }

    /// The TFTP root with the scripts.
    pub(crate) fn tftp_dir(&self) -> PathBuf {
        self.root.join("tftp")
    }

    /// The session markers of the running server.
    pub(crate) fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The session markers of client `name`.
    pub(crate) fn client_run_dir(&self, name: &str) -> PathBuf {
        self.run_dir().join(name)
    }

    /// A stored path made absolute.
    pub(crate) fn resolve(&self, stored: &Path) -> PathBuf {
        self.root.join(stored)
    }

    /// `path` as stored: relative to the state directory when inside it.
    pub(crate) fn store(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root)
            .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
    }

    /// Fails unless the directory exists: only `golden set` makes one, so that a mistyped
    /// `--state` is an error, not an empty state served or a stray directory left behind.
    pub(crate) fn require(&self) -> Result<()> {
        if self.root.is_dir() {
            return Ok(());
        }
        bail!(
            "no state directory at {}: make one with `diskless-target golden set IMAGE --state {}`",
            self.root.display(),
            self.root.display()
        )
    }

    /// Creates the directory and its sub-directories.
    pub(crate) fn create(&self) -> Result<()> {
        for d in [
            self.root.clone(),
            self.root.join("golden"),
            self.root.join("disks"),
            self.tftp_dir(),
        ] {
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
        }
        Ok(())
    }

    /// Takes the directory's lock for a command that changes the state (released when the
    /// returned guard is dropped): `.lock`, created exclusively and holding the owner's pid.
    /// Another command waits for it (up to 30 s); a lock whose process is gone is taken over.
    pub(crate) fn lock(&self) -> Result<StateLock> {
        use std::io::Write as _;
        self.create()?;
        let path = self.root.join(".lock");
        let start = std::time::Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let guard = StateLock(path.clone());
                    write!(f, "{}", std::process::id())
                        .with_context(|| format!("writing {}", path.display()))?;
                    return Ok(guard);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    if let Some(pid) = holder
                        && !Path::new(&format!("/proc/{pid}")).exists()
                    {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if start.elapsed() > std::time::Duration::from_secs(30) {
                        bail!(
                            "{} is held by process {}: another diskless-target command is \
                             changing the state; if none runs, remove the file",
                            path.display(),
                            holder.map_or_else(|| "?".to_string(), |p| p.to_string())
                        );
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
    }

    /// Reads the state (empty when the file does not exist yet).
    pub(crate) fn load(&self) -> Result<State> {
        let path = self.state_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let state: State = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("in the state file {}", path.display()))?;
        state
            .check()
            .with_context(|| format!("in the state file {}", path.display()))?;
        Ok(state)
    }

    /// Writes the state atomically (readers see the old file or the new one).
    pub(crate) fn save(&self, state: &State) -> Result<()> {
        state.check()?;
        let text = format!(
            "# The diskless-target deployment state: change it with `diskless-target client …` \
             and `diskless-target golden …`.\n\n{}",
            toml::to_string(state).context("writing the state as TOML")?
        );
        // Mode 0600: the file holds CHAP secrets.
        write_atomic_mode(&self.state_file(), text.as_bytes(), 0o600)
    }

    /// The live sessions of client `name`, from the running server's markers. Markers of a
    /// server process that no longer runs are ignored.
    pub(crate) fn live_sessions(&self, name: &str) -> Vec<SessionMarker> {
        let Ok(entries) = std::fs::read_dir(self.client_run_dir(name)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            let marker = SessionMarker::parse(&text);
            if marker
                .pid
                .is_none_or(|pid| Path::new(&format!("/proc/{pid}")).exists())
            {
                out.push(marker);
            }
        }
        out
    }

    /// Fails, saying what to do, when client `name` has a live session; with `force`, warns
    /// and goes on.
    pub(crate) fn refuse_if_logged_in(&self, name: &str, what: &str, force: bool) -> Result<()> {
        let live = self.live_sessions(name);
        if live.is_empty() {
            return Ok(());
        }
        let who = live
            .iter()
            .map(SessionMarker::describe)
            .collect::<Vec<_>>()
            .join("; ");
        if force {
            eprintln!(
                "warning: client `{name}` is logged in ({who}); going on (--force): the server \
                 closes the session, and a client still running loses its disk"
            );
            return Ok(());
        }
        bail!(
            "client `{name}` is logged in ({who}): refusing to {what} under a running session. \
             Shut the client down (or log its initiator out) and run the command again; the \
             server removes the session marker in {} when the session ends. A client that \
             crashed or lost power keeps its session until TCP gives up: add --force then",
            self.client_run_dir(name).display()
        )
    }
}

/// The state directory's lock, removed on drop.
#[derive(Debug)]
pub(crate) struct StateLock(PathBuf);

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What the server writes in a session marker (`key=value` lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SessionMarker {
    pub(crate) pid: Option<u32>,
    pub(crate) initiator: String,
    pub(crate) peer: String,
}

impl SessionMarker {
    /// The marker's text.
    pub(crate) fn render(&self) -> String {
        format!(
            "pid={}\ninitiator={}\npeer={}\n",
            self.pid.unwrap_or(0),
            self.initiator,
            self.peer
        )
    }

    /// Reads a marker (unknown lines are ignored).
    pub(crate) fn parse(text: &str) -> Self {
        let mut m = SessionMarker::default();
        for line in text.lines() {
            match line.split_once('=') {
                Some(("pid", v)) => m.pid = v.trim().parse().ok().filter(|&p| p != 0),
                Some(("initiator", v)) => m.initiator = v.to_string(),
                Some(("peer", v)) => m.peer = v.to_string(),
                _ => {}
            }
        }
        m
    }

    fn describe(&self) -> String {
        format!(
            "initiator {} from {} (server pid {})",
            self.initiator,
            self.peer,
            self.pid.map_or_else(|| "?".to_string(), |p| p.to_string())
        )
    }
}

/// Writes `bytes` to `path` (replacing it) through a temporary file, synced before the rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(path, bytes, 0o644)
}

/// [`write_atomic`] with the file mode `mode`.
pub(crate) fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = AtomicFile::replacing(path)?;
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(file.path())
            .with_context(|| format!("writing {}", path.display()))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    file.commit()
}

/// Checks a client name: 1 to 63 lower-case letters, digits, `-` and `.`, starting with a
/// letter or digit (it becomes part of an IQN and of file names).
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !ok {
        bail!(
            "client name `{name}`: use 1 to 63 lower-case letters, digits, `-` and `.`, starting \
             with a letter or digit (the name becomes part of the client's target IQN, which \
             allows no other characters, and of its file names)"
        );
    }
    Ok(())
}

/// Parses a MAC address (`:` or `-` separated) into the stored form `aa:bb:cc:dd:ee:ff`.
pub(crate) fn parse_mac(text: &str) -> Result<ipxe_script::MacAddr> {
    ipxe_script::MacAddr::parse(text).map_err(|e| {
        anyhow::anyhow!(
            "MAC address `{text}`: expected six two-digit hex bytes separated by `:` or `-`, \
             like 52:54:00:12:34:56 ({e})"
        )
    })
}

/// The target IQN derived from a client name.
pub(crate) fn default_target(name: &str) -> String {
    format!("{TARGET_PREFIX}{name}")
}

/// The initiator IQN in the seed's style: `iqn.1991-05.com.microsoft:iscsiboot-<mac>`.
pub(crate) fn default_initiator(mac: ipxe_script::MacAddr) -> String {
    format!("iqn.1991-05.com.microsoft:iscsiboot-{}", mac.hexhyp())
}

/// Parses `USER:SECRET` (split at the first `:`), checked as `serve` checks CHAP.
pub(crate) fn parse_chap(flag: &str, text: &str) -> Result<ChapEntry> {
    let Some((user, secret)) = text.split_once(':') else {
        bail!("--{flag}: expected USER:SECRET");
    };
    let entry = ChapEntry {
        user: user.to_string(),
        secret: secret.to_string(),
    };
    check_chap(flag, &entry)?;
    Ok(entry)
}

fn check_chap(what: &str, c: &ChapEntry) -> Result<()> {
    if c.user.is_empty() {
        bail!("{what}: the user name is empty");
    }
    if c.secret.len() < 12 || c.secret.len() > 255 {
        bail!(
            "{what}: the secret has {} bytes; CHAP secrets need 12 to 255 (RFC 7143 §12.1.3)",
            c.secret.len()
        );
    }
    if c.user.contains('\0') || c.secret.contains('\0') {
        bail!("{what}: NUL bytes are not allowed");
    }
    Ok(())
}

impl State {
    /// The client called `name`.
    pub(crate) fn client(&self, name: &str) -> Result<&ClientEntry> {
        self.clients
            .iter()
            .find(|c| c.name == name)
            .with_context(|| format!("no client `{name}` (see `client list`)"))
    }

    /// Checks that names, MACs and IQNs are valid and unique.
    pub(crate) fn check(&self) -> Result<()> {
        let mut names = BTreeSet::new();
        let mut macs = BTreeSet::new();
        let mut iqns = BTreeSet::new();
        for c in &self.clients {
            let at = format!("client `{}`", c.name);
            check_name(&c.name)?;
            if !names.insert(c.name.clone()) {
                bail!("{at}: a client with this name already exists");
            }
            let mac = parse_mac(&c.mac).with_context(|| at.clone())?;
            if !macs.insert(mac) {
                bail!("{at}: MAC {mac} already belongs to another client");
            }
            for (key, iqn) in [("target", &c.target), ("initiator", &c.initiator)] {
                iscsi_pdu::IscsiName::parse(iqn)
                    .map_err(|e| anyhow::anyhow!("{at}: {key} IQN `{iqn}`: {e}"))?;
                ipxe_script::IscsiName::new(iqn)
                    .map_err(|e| anyhow::anyhow!("{at}: {key} IQN `{iqn}`: {e}"))?;
                if !iqns.insert(iqn.to_ascii_lowercase()) {
                    bail!("{at}: {key} IQN `{iqn}` is already used by another client");
                }
            }
            if let Some(chap) = &c.chap {
                check_chap(&format!("{at}: chap"), chap)?;
            }
            if let Some(chap) = &c.mutual_chap {
                check_chap(&format!("{at}: mutual_chap"), chap)?;
                if c.chap.is_none() {
                    bail!("{at}: mutual CHAP needs one-way CHAP too");
                }
                // What `TargetConfig::validate` refuses when serving, said when it is added.
                if c.chap
                    .as_ref()
                    .is_some_and(|one_way| one_way.secret == chap.secret)
                {
                    bail!(
                        "{at}: the mutual CHAP secret is the one-way secret; RFC 7143 §12.1.3 \
                         forbids one secret for both directions"
                    );
                }
            }
            ipxe_script::Server::parse(&c.server)
                .map_err(|e| anyhow::anyhow!("{at}: server `{}`: {e}", c.server))?;
        }
        Ok(())
    }

    /// The `serve` configuration of this state, listening on `listen`.
    pub(crate) fn serve_config(&self, dir: &StateDir, listen: SocketAddr) -> Result<ServeConfig> {
        let chap = |c: &ChapEntry| Chap {
            user: c.user.clone(),
            secret: c.secret.clone(),
        };
        let mut clients = Vec::with_capacity(self.clients.len());
        for c in &self.clients {
            let name = |iqn: &str| {
                iscsi_pdu::IscsiName::parse(iqn)
                    .map_err(|e| anyhow::anyhow!("client `{}`: `{iqn}`: {e}", c.name))
            };
            clients.push(ClientConfig {
                name: c.name.clone(),
                target: name(&c.target)?,
                initiators: vec![name(&c.initiator)?],
                chap: c.chap.as_ref().map(chap),
                mutual_chap: c.mutual_chap.as_ref().map(chap),
                luns: vec![LunConfig {
                    id: 0,
                    path: dir.resolve(&c.disk),
                    kind: LunKind::Vhd,
                    read_only: false,
                }],
            });
        }
        let config = ServeConfig {
            listen,
            golden: self.golden.as_deref().map(|g| dir.resolve(g)),
            golden_cache: 0,
            limits: iscsi_target::Limits::default(),
            clients,
        };
        config.check_isolation()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, mac: &str) -> ClientEntry {
        let m = parse_mac(mac).unwrap();
        ClientEntry {
            name: name.to_string(),
            mac: m.to_string(),
            target: default_target(name),
            initiator: default_initiator(m),
            disk: PathBuf::from(format!("disks/{name}-r0.vhd")),
            golden: PathBuf::from("golden/golden.vhd"),
            server: DEFAULT_SERVER.to_string(),
            port: DEFAULT_PORT,
            revision: 0,
            chap: None,
            mutual_chap: None,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dt-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn names_macs_and_iqns_are_checked() {
        assert!(check_name("pc-1.lab").is_ok());
        for bad in ["", "PC1", "-a", "a_b", "a/b", "..", &"a".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let m = parse_mac("52-54-00-AB-00-01").unwrap();
        assert_eq!(m.to_string(), "52:54:00:ab:00:01");
        assert_eq!(
            default_initiator(m),
            "iqn.1991-05.com.microsoft:iscsiboot-52-54-00-ab-00-01"
        );
        assert_eq!(default_target("pc1"), "iqn.2026-12.org.diskless-target:pc1");
        assert!(parse_mac("52:54:00:ab:00").is_err());
    }

    #[test]
    fn duplicates_are_refused_with_clear_errors() {
        let a = entry("a", "52:54:00:00:00:01");
        let cases = [
            (entry("a", "52:54:00:00:00:02"), "name already exists"),
            (entry("b", "52:54:00:00:00:01"), "MAC 52:54:00:00:00:01"),
            (
                ClientEntry {
                    target: a.target.clone(),
                    ..entry("b", "52:54:00:00:00:02")
                },
                "target IQN",
            ),
            (
                ClientEntry {
                    initiator: a.initiator.clone(),
                    ..entry("b", "52:54:00:00:00:02")
                },
                "initiator IQN",
            ),
        ];
        for (b, want) in cases {
            let state = State {
                golden: None,
                clients: vec![a.clone(), b],
            };
            let e = format!("{:#}", state.check().unwrap_err());
            assert!(e.contains(want), "want `{want}` in {e}");
        }
        let ok = State {
            golden: None,
            clients: vec![a, entry("b", "52:54:00:00:00:02")],
        };
        ok.check().unwrap();
    }

    #[test]
    fn chap_is_parsed_and_checked() {
        let c = parse_chap("chap", "user:a:secret-1234").unwrap();
        assert_eq!(
            (c.user.as_str(), c.secret.as_str()),
            ("user", "a:secret-1234")
        );
        assert!(!format!("{c:?}").contains("secret-1234"));
        assert!(parse_chap("chap", "nocolon").is_err());
        assert!(parse_chap("chap", "u:short").is_err());
        assert!(parse_chap("chap", ":twelve-bytes!").is_err());
        let mut e = entry("a", "52:54:00:00:00:01");
        e.mutual_chap = Some(parse_chap("m", "t:twelve-bytes!").unwrap());
        let s = State {
            golden: None,
            clients: vec![e],
        };
        assert!(format!("{:#}", s.check().unwrap_err()).contains("needs one-way CHAP"));
        let mut e = entry("a", "52:54:00:00:00:01");
        e.chap = Some(parse_chap("chap", "u:twelve-bytes!").unwrap());
        e.mutual_chap = Some(parse_chap("m", "t:twelve-bytes!").unwrap());
        let s = State {
            golden: None,
            clients: vec![e],
        };
        assert!(format!("{:#}", s.check().unwrap_err()).contains("forbids one secret"));
    }

    #[test]
    fn state_round_trips_through_the_file_and_builds_a_serve_config() {
        let root = temp_dir("roundtrip");
        let dir = StateDir::new(&root);
        assert_eq!(dir.load().unwrap(), State::default());
        let mut e = entry("a", "52:54:00:00:00:01");
        e.chap = Some(parse_chap("chap", "u:twelve-bytes!").unwrap());
        let state = State {
            golden: Some(PathBuf::from("golden/golden.vhd")),
            clients: vec![e, entry("b", "52:54:00:00:00:02")],
        };
        dir.create().unwrap();
        dir.save(&state).unwrap();
        assert_eq!(dir.load().unwrap(), state);
        let text = std::fs::read_to_string(dir.state_file()).unwrap();
        assert!(text.contains("[[client]]"), "{text}");
        let config = state
            .serve_config(&dir, "127.0.0.1:3260".parse().unwrap())
            .unwrap();
        assert_eq!(config.clients.len(), 2);
        assert_eq!(
            config.clients[0].luns[0].path,
            dir.root().join("disks/a-r0.vhd")
        );
        assert_eq!(config.golden, Some(dir.root().join("golden/golden.vhd")));
        assert_eq!(config.clients[0].chap.as_ref().unwrap().user, "u");
        assert_eq!(
            dir.store(&dir.root().join("disks/x.vhd")),
            Path::new("disks/x.vhd")
        );
        assert_eq!(
            dir.store(Path::new("/elsewhere/g.vhd")),
            Path::new("/elsewhere/g.vhd")
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_lock_is_exclusive_and_a_dead_holder_is_taken_over() {
        let root = temp_dir("lock");
        let dir = StateDir::new(&root);
        let lock = dir.root().join(".lock");
        {
            let _held = dir.lock().unwrap();
            assert_eq!(
                std::fs::read_to_string(&lock).unwrap(),
                std::process::id().to_string()
            );
        }
        assert!(!lock.exists(), "released on drop");
        std::fs::write(&lock, (u32::MAX - 1).to_string()).unwrap();
        let _taken = dir.lock().unwrap();
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn session_markers_refuse_and_stale_ones_are_ignored() {
        let root = temp_dir("markers");
        let dir = StateDir::new(&root);
        dir.create().unwrap();
        assert!(dir.refuse_if_logged_in("a", "reset it", false).is_ok());
        let run = dir.client_run_dir("a");
        std::fs::create_dir_all(&run).unwrap();
        let live = SessionMarker {
            pid: Some(std::process::id()),
            initiator: "iqn.2026-12.x:i".into(),
            peer: "127.0.0.1:5000".into(),
        };
        assert_eq!(SessionMarker::parse(&live.render()), live);
        std::fs::write(run.join("conn-1"), live.render()).unwrap();
        let e = format!(
            "{:#}",
            dir.refuse_if_logged_in("a", "reset it", false).unwrap_err()
        );
        assert!(dir.refuse_if_logged_in("a", "reset it", true).is_ok());
        assert!(
            e.contains("is logged in") && e.contains("iqn.2026-12.x:i") && e.contains("--force"),
            "{e}"
        );
        assert!(e.contains("Shut the client down"), "{e}");
        // A marker of a process that is gone does not count.
        std::fs::write(
            run.join("conn-1"),
            SessionMarker {
                pid: Some(u32::MAX - 1),
                ..live
            }
            .render(),
        )
        .unwrap();
        assert!(dir.refuse_if_logged_in("a", "reset it", false).is_ok());
        let _ = std::fs::remove_dir_all(&root);
    }
}

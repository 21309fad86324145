//! The `serve` configuration file (TOML): the golden image, and per client its target IQN, the
//! initiators it admits, CHAP credentials and LUNs.
//!
//! ```toml
//! listen = "0.0.0.0:3260"          # optional; this is the default
//! golden = "golden.vhd"            # optional; opened once, read-only, shared by every child
//! golden_cache = "1G"              # optional; memory for the golden image's data (default none)
//!
//! [session]                      # optional; iSCSI session limits, RFC 7143 §13 (defaults shown)
//! max_recv_data_segment_length = 262144  # bytes the target takes in one PDU's data segment
//! max_burst_length = 1048576       # largest MaxBurstLength accepted
//! first_burst_length = 262144      # largest FirstBurstLength accepted (not above max_burst_length)
//! immediate_data = true            # offer ImmediateData=Yes
//! initial_r2t = false              # offer InitialR2T=No (unsolicited Data-Out allowed)
//! max_outstanding_r2t = 8
//! header_digest = true             # allow CRC32C header digests when the initiator asks
//! data_digest = true               # allow CRC32C data digests when the initiator asks
//! default_time2wait = 2            # seconds
//! default_time2retain = 0          # seconds (ErrorRecoveryLevel 0: nothing to retain)
//! command_window = 128             # commands queued or running per session
//! max_write_length = 16777216      # largest single write the target buffers, in bytes
//! write_budget = 67108864          # write data one connection holds or asks for at once
//! nop_in_interval = 0              # seconds without input before a NOP-In ping (0: never)
//! response_timeout = 30            # seconds for a ping or a login to be answered (0: never)
//!
//! [[client]]
//! name = "client1"
//! target = "iqn.2026-11.org.example:client1"
//! initiators = ["iqn.1991-05.com.microsoft:client1"]
//! chap = { user = "client1", secret = "twelve-chars-or-more" }          # optional
//! mutual_chap = { user = "target1", secret = "another-secret-12" }      # optional
//! [[client.lun]]
//! id = 0
//! path = "clients/client1.vhd"     # relative paths are relative to this file
//! kind = "vhd"                     # or "raw"; default "vhd"
//! read_only = false                # default false
//! ```
//!
//! A writable LUN keeps the persistent reservations taken with APTPL in `PATH.pr` beside its
//! disk, and `serve` restores them at start.
//!
//! `nop_in_interval` stays 0 by default because iPXE does not answer NOP-In pings: with pings on,
//! an iPXE session idle for longer than `nop_in_interval + response_timeout` (a boot menu, or after
//! the OS's own initiator has taken over) is closed by the target. Set it when the initiators are
//! operating systems' (Windows, open-iscsi), to find dead clients sooner than TCP does.
//!
//! Errors name the file, the key and the problem. A config that would let one client write
//! another's disk or the golden image is refused: a writable LUN must not be the golden image
//! (or any file served to another LUN), and no file is served writable twice.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use iscsi_pdu::IscsiName;
use iscsi_target::Limits;
use serde::Deserialize;

/// The default listening address (all interfaces, the iSCSI port).
pub(crate) const DEFAULT_LISTEN: &str = "0.0.0.0:3260";

/// The configuration file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    golden: Option<PathBuf>,
    golden_cache: Option<String>,
    session: Option<RawSession>,
    #[serde(default)]
    client: Vec<RawClient>,
}

/// The `[session]` table: every key optional, defaults from [`Limits::default`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    max_recv_data_segment_length: Option<u32>,
    max_burst_length: Option<u32>,
    first_burst_length: Option<u32>,
    immediate_data: Option<bool>,
    initial_r2t: Option<bool>,
    max_outstanding_r2t: Option<u16>,
    header_digest: Option<bool>,
    data_digest: Option<bool>,
    default_time2wait: Option<u16>,
    default_time2retain: Option<u16>,
    command_window: Option<u32>,
    max_write_length: Option<u32>,
    write_budget: Option<u32>,
    nop_in_interval: Option<u32>,
    response_timeout: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    name: String,
    target: String,
    #[serde(default)]
    initiators: Vec<String>,
    chap: Option<RawChap>,
    mutual_chap: Option<RawChap>,
    #[serde(default)]
    lun: Vec<RawLun>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChap {
    user: String,
    secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLun {
    id: u64,
    path: PathBuf,
    #[serde(default)]
    kind: LunKind,
    #[serde(default)]
    read_only: bool,
}

/// How a LUN's file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LunKind {
    /// A VHD: fixed, dynamic or differencing (its parent chain is opened read-only).
    #[default]
    Vhd,
    /// A raw image: the file's bytes are the disk.
    Raw,
}

/// CHAP credentials.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Chap {
    /// CHAP_N.
    pub(crate) user: String,
    /// The shared secret.
    pub(crate) secret: String,
}

impl std::fmt::Debug for Chap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chap")
            .field("user", &self.user)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// One LUN of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LunConfig {
    /// The LUN number (below 16384: flat addressing of SAM).
    pub(crate) id: u64,
    /// The file, made absolute.
    pub(crate) path: PathBuf,
    /// Its format.
    pub(crate) kind: LunKind,
    /// Served write-protected.
    pub(crate) read_only: bool,
}

/// One client: a target with its ACL, CHAP and LUNs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientConfig {
    /// The client's name (unique in the file).
    pub(crate) name: String,
    /// Its target's IQN.
    pub(crate) target: IscsiName,
    /// The initiator names admitted (never empty).
    pub(crate) initiators: Vec<IscsiName>,
    /// One-way CHAP the initiator must pass.
    pub(crate) chap: Option<Chap>,
    /// Credentials the target proves when the initiator asks for mutual CHAP.
    pub(crate) mutual_chap: Option<Chap>,
    /// The LUNs, by id.
    pub(crate) luns: Vec<LunConfig>,
}

/// A checked `serve` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServeConfig {
    /// Where to listen.
    pub(crate) listen: SocketAddr,
    /// The golden image, made absolute.
    pub(crate) golden: Option<PathBuf>,
    /// Bytes of memory for caching the golden image's data, shared by every client (0: none).
    pub(crate) golden_cache: u64,
    /// The iSCSI session limits (the `[session]` table).
    pub(crate) limits: Limits,
    /// The clients.
    pub(crate) clients: Vec<ClientConfig>,
}

impl ServeConfig {
    /// Reads and checks the file at `path`.
    ///
    /// # Errors
    /// The file cannot be read, is not valid TOML of this shape, or fails [`ServeConfig::parse`]'s
    /// checks; the message names the file.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config file {}", path.display()))?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let base = std::path::absolute(&base).unwrap_or(base);
        Self::parse(&text, &base).with_context(|| format!("in the config file {}", path.display()))
    }

    /// Parses `text`, resolving relative paths against `base`, and checks it.
    pub(crate) fn parse(text: &str, base: &Path) -> Result<Self> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|_| anyhow::anyhow!("key `listen`: `{listen_text}` is not an address:port"))?;
        let golden = raw.golden.map(|g| base.join(g));
        if raw.client.is_empty() {
            bail!("no [[client]]: nothing to serve");
        }
        let mut clients = Vec::with_capacity(raw.client.len());
        let mut names = BTreeSet::new();
        let mut targets = BTreeSet::new();
        for (i, c) in raw.client.into_iter().enumerate() {
            let at = format!("client {} (`{}`)", i + 1, c.name);
            if c.name.is_empty()
                || !c
                    .name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
            {
                bail!("{at}: key `name` must be non-empty letters, digits, `-`, `_` or `.`");
            }
            if !names.insert(c.name.clone()) {
                bail!("{at}: key `name`: another client has this name");
            }
            let target = IscsiName::parse(&c.target)
                .map_err(|e| anyhow::anyhow!("{at}: key `target`: {e}"))?;
            if !targets.insert(target.as_str().to_ascii_lowercase()) {
                bail!("{at}: key `target`: another client has this target name");
            }
            if c.initiators.is_empty() {
                bail!(
                    "{at}: key `initiators` is empty: list the initiator IQNs this client's \
                     target admits"
                );
            }
            let initiators = c
                .initiators
                .iter()
                .map(|n| {
                    IscsiName::parse(n)
                        .map_err(|e| anyhow::anyhow!("{at}: key `initiators`: `{n}`: {e}"))
                })
                .collect::<Result<Vec<_>>>()?;
            let chap = c.chap.map(|k| check_chap(&at, "chap", k)).transpose()?;
            let mutual_chap = c
                .mutual_chap
                .map(|k| check_chap(&at, "mutual_chap", k))
                .transpose()?;
            if mutual_chap.is_some() && chap.is_none() {
                bail!("{at}: key `mutual_chap` needs `chap` too (mutual CHAP is two-way)");
            }
            // What `TargetConfig::validate` refuses when serving, said here with the key.
            if let (Some(a), Some(b)) = (&chap, &mutual_chap)
                && a.secret == b.secret
            {
                bail!(
                    "{at}: keys `chap.secret` and `mutual_chap.secret` are the same; RFC 7143 \
                     §12.1.3 forbids one secret for both directions"
                );
            }
            if c.lun.is_empty() {
                bail!("{at}: no [[client.lun]]");
            }
            let mut ids = BTreeSet::new();
            let mut luns = Vec::with_capacity(c.lun.len());
            for l in c.lun {
                if l.id >= 16384 {
                    bail!("{at}: LUN {}: key `id` must be below 16384", l.id);
                }
                if !ids.insert(l.id) {
                    bail!("{at}: LUN {}: key `id` is used twice", l.id);
                }
                luns.push(LunConfig {
                    id: l.id,
                    path: base.join(l.path),
                    kind: l.kind,
                    read_only: l.read_only,
                });
            }
            clients.push(ClientConfig {
                name: c.name,
                target,
                initiators,
                chap,
                mutual_chap,
                luns,
            });
        }
        let golden_cache = match raw.golden_cache.as_deref() {
            None => 0,
            Some(text) => crate::size::parse_size(text)
                .map_err(|e| anyhow::anyhow!("key `golden_cache`: {e:#}"))?,
        };
        let config = ServeConfig {
            listen,
            golden,
            golden_cache,
            limits: session_limits(raw.session.unwrap_or_default())?,
            clients,
        };
        config.check_isolation()?;
        Ok(config)
    }

    /// Refuses a config under which one LUN could write a file that another LUN serves, or the
    /// golden image. Paths are compared canonically when the files exist.
    pub(crate) fn check_isolation(&self) -> Result<()> {
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let golden = self.golden.as_deref().map(canonical);
        let mut served: HashMap<PathBuf, (String, bool)> = HashMap::new();
        for c in &self.clients {
            for l in &c.luns {
                let at = format!("client `{}`, LUN {}", c.name, l.id);
                let path = canonical(&l.path);
                if !l.read_only && golden.as_deref() == Some(path.as_path()) {
                    bail!(
                        "{at}: key `path` is the golden image, served writable: set \
                         `read_only = true`, or serve a differencing disk over it"
                    );
                }
                if let Some((other, other_ro)) = served.get(&path)
                    && !(l.read_only && *other_ro)
                {
                    bail!(
                        "{at}: key `path` ({}) is also served by {other}, and one of them is \
                         writable: every client needs a disk of its own",
                        l.path.display()
                    );
                }
                served.insert(path, (at, l.read_only));
            }
        }
        Ok(())
    }
}

/// The `[session]` table as engine limits, checked as a whole (the engine's messages name the
/// field, which is the key).
fn session_limits(raw: RawSession) -> Result<Limits> {
    let mut limits = Limits::default();
    macro_rules! key {
        ($name:ident => $field:ident) => {
            if let Some(v) = raw.$name {
                limits.$field = v;
            }
        };
        ($name:ident) => {
            key!($name => $name)
        };
    }
    key!(max_recv_data_segment_length);
    key!(max_burst_length);
    key!(first_burst_length);
    key!(immediate_data);
    key!(initial_r2t);
    key!(max_outstanding_r2t);
    key!(header_digest => allow_header_digest);
    key!(data_digest => allow_data_digest);
    key!(default_time2wait);
    key!(default_time2retain);
    key!(command_window);
    key!(max_write_length);
    key!(write_budget);
    key!(nop_in_interval => nop_in_interval_secs);
    key!(response_timeout => response_timeout_secs);
    limits
        .validate()
        .map_err(|e| anyhow::anyhow!("table [session]: {e}"))?;
    if limits.first_burst_length > limits.max_burst_length {
        bail!(
            "table [session]: first_burst_length ({}) is above max_burst_length ({}): RFC 7143 \
             §13.14 caps FirstBurstLength at MaxBurstLength",
            limits.first_burst_length,
            limits.max_burst_length
        );
    }
    Ok(limits)
}

/// Checks one CHAP table.
fn check_chap(at: &str, key: &str, raw: RawChap) -> Result<Chap> {
    if raw.user.is_empty() {
        bail!("{at}: key `{key}.user` is empty");
    }
    // RFC 7143 §12.1.3: secrets of at least 12 bytes; Windows' initiator insists on 12..=16.
    if raw.secret.len() < 12 {
        bail!(
            "{at}: key `{key}.secret` has {} bytes; CHAP secrets need at least 12 (RFC 7143 \
             §12.1.3)",
            raw.secret.len()
        );
    }
    if raw.secret.len() > 255 {
        bail!("{at}: key `{key}.secret` is longer than 255 bytes");
    }
    Ok(Chap {
        user: raw.user,
        secret: raw.secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen = "127.0.0.1:3261"
golden = "golden.vhd"
golden_cache = "64M"

[[client]]
name = "c1"
target = "iqn.2026-11.org.example:c1"
initiators = ["iqn.2010-04.org.ipxe:c1"]
chap = { user = "u1", secret = "0123456789ab" }
[[client.lun]]
id = 0
path = "c1.vhd"

[[client]]
name = "c2"
target = "iqn.2026-11.org.example:c2"
initiators = ["iqn.2010-04.org.ipxe:c2"]
[[client.lun]]
id = 0
path = "/abs/c2.raw"
kind = "raw"
[[client.lun]]
id = 1
path = "golden.vhd"
read_only = true
"#;

    fn parse(text: &str) -> Result<ServeConfig> {
        ServeConfig::parse(text, Path::new("/srv/dl"))
    }

    #[test]
    fn parses_a_full_config_and_resolves_paths() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3261".parse().unwrap());
        assert_eq!(c.golden.as_deref(), Some(Path::new("/srv/dl/golden.vhd")));
        assert_eq!(c.golden_cache, 64 << 20);
        assert_eq!(c.clients.len(), 2);
        assert_eq!(c.clients[0].luns[0].path, Path::new("/srv/dl/c1.vhd"));
        assert_eq!(c.clients[0].luns[0].kind, LunKind::Vhd);
        assert_eq!(c.clients[1].luns[0].path, Path::new("/abs/c2.raw"));
        assert_eq!(c.clients[1].luns[0].kind, LunKind::Raw);
        assert!(c.clients[1].luns[1].read_only);
        assert_eq!(c.clients[0].chap.as_ref().unwrap().user, "u1");
        assert!(!format!("{:?}", c.clients[0].chap).contains("0123456789ab"));
    }

    #[test]
    fn default_listen_address() {
        let c = parse(
            "[[client]]\nname='a'\ntarget='iqn.2026-11.x:a'\ninitiators=['iqn.2026-11.x:i']\n\
             [[client.lun]]\nid=0\npath='a.vhd'\n",
        )
        .unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN.parse().unwrap());
    }

    /// `GOOD` with a `[session]` table of `keys` (before the clients, after the top-level keys).
    fn with_session(keys: &str) -> String {
        GOOD.replacen("[[client]]", &format!("[session]\n{keys}[[client]]"), 1)
    }

    fn err(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn errors_name_the_key_and_the_problem() {
        let cases = [
            (
                GOOD.replace("c2\"\ntarget", "c1\"\ntarget"),
                "another client has this name",
            ),
            (
                GOOD.replace("org.example:c2", "org.example:c1"),
                "another client has this target",
            ),
            (
                GOOD.replace("iqn.2010-04.org.ipxe:c2", "bad name"),
                "key `initiators`",
            ),
            (
                GOOD.replace("0123456789ab", "short"),
                "key `chap.secret` has 5 bytes",
            ),
            (GOOD.replace("id = 1", "id = 0"), "key `id` is used twice"),
            (
                GOOD.replace("read_only = true", ""),
                "is the golden image, served writable",
            ),
            (
                GOOD.replace("/abs/c2.raw", "c1.vhd")
                    .replace("kind = \"raw\"", ""),
                "every client needs a disk",
            ),
            (
                GOOD.replace("listen = \"127.0.0.1:3261\"", "listen = \"nowhere\""),
                "key `listen`",
            ),
            (
                GOOD.replace(
                    "initiators = [\"iqn.2010-04.org.ipxe:c1\"]",
                    "initiators = []",
                ),
                "key `initiators` is empty",
            ),
            (
                GOOD.replace("kind = \"raw\"", "kind = \"qcow2\""),
                "unknown variant",
            ),
            (
                GOOD.replace("read_only = true", "readonly = true"),
                "unknown field",
            ),
            ("".to_string(), "no [[client]]"),
            (
                with_session("max_burst_length = 100\n"),
                "table [session]: invalid configuration: max_burst_length (MaxBurstLength)",
            ),
            (
                with_session("command_window = 0\n"),
                "table [session]: invalid configuration: command_window",
            ),
            (
                with_session("first_burst_length = 2097152\n"),
                "first_burst_length (2097152) is above max_burst_length",
            ),
            (with_session("nop_interval = 5\n"), "unknown field"),
        ];
        for (text, want) in cases {
            let got = err(&text);
            assert!(got.contains(want), "want `{want}` in: {got}");
        }
    }

    #[test]
    fn the_session_table_sets_the_engine_limits() {
        assert_eq!(parse(GOOD).unwrap().limits, Limits::default());
        let c = parse(&with_session(
            "nop_in_interval = 15\nresponse_timeout = 5\nheader_digest = false\n\
             max_burst_length = 262144\nfirst_burst_length = 65536\n",
        ))
        .unwrap();
        assert_eq!(c.limits.nop_in_interval_secs, 15);
        assert_eq!(c.limits.response_timeout_secs, 5);
        assert!(!c.limits.allow_header_digest);
        assert!(c.limits.allow_data_digest);
        assert_eq!(c.limits.max_burst_length, 262_144);
        assert_eq!(c.limits.first_burst_length, 65_536);
        // Keys that depend on each other are checked together.
        let big = parse(&with_session(
            "max_write_length = 134217728\nwrite_budget = 268435456\n",
        ))
        .unwrap();
        assert_eq!(big.limits.write_budget, 256 << 20);
        assert_eq!(
            c.limits.max_recv_data_segment_length,
            Limits::default().max_recv_data_segment_length
        );
    }

    #[test]
    fn mutual_chap_needs_chap() {
        let text = GOOD.replace(
            "chap = { user = \"u1\", secret = \"0123456789ab\" }",
            "mutual_chap = { user = \"t1\", secret = \"0123456789ab\" }",
        );
        assert!(err(&text).contains("needs `chap` too"));
        let same = GOOD.replace(
            "chap = { user = \"u1\", secret = \"0123456789ab\" }",
            "chap = { user = \"u1\", secret = \"0123456789ab\" }\n\
             mutual_chap = { user = \"t1\", secret = \"0123456789ab\" }",
        );
        assert!(err(&same).contains("are the same"), "{}", err(&same));
    }
}

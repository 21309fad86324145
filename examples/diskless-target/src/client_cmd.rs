//! `diskless-target client add/list/reset/remove`: the second phase of the seed (one
//! differencing disk, one target with its ACL and one iPXE script per client), around the state
//! directory of [`crate::state`].
//!
//! Every command that changes the state holds the directory's lock, makes its new files first
//! (each written under a temporary name and renamed into place), commits by rewriting
//! `clients.toml` atomically, and only then deletes what the old state used. A running
//! `serve --state` picks the change up within a second.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ipxe_script::{
    Chap as IpxeChap, Dispatcher, IscsiName as IpxeName, IscsiRootPath, Lun, SanBootScript, Server,
    Word,
};
use vhd::{FileStorage, OpenOptions, ParentLink, VhdBuilder};

use crate::atomic_file::AtomicFile;
use crate::state::{
    ClientEntry, DEFAULT_PORT, DEFAULT_SERVER, DEFAULT_STATE_DIR, State, StateDir,
    default_initiator, default_target, parse_chap, parse_mac, write_atomic,
};

/// The dispatcher script's name under `tftp/`.
pub(crate) const DISPATCHER: &str = "boot.ipxe";

/// `diskless-target client …`.
#[derive(Debug, clap::Args)]
pub(crate) struct ClientArgs {
    /// The state directory.
    #[arg(long, global = true, default_value = DEFAULT_STATE_DIR)]
    state: PathBuf,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ClientCommand {
    /// Add a client: its differencing disk over the golden image, its target (admitting only
    /// its initiator) and its iPXE script (by MAC address, under `STATE/tftp/`).
    Add {
        /// The client's name (lower-case letters, digits, `-`, `.`).
        name: String,
        /// Its NIC's MAC address (`52:54:00:12:34:56` or with `-`).
        #[arg(long)]
        mac: String,
        /// The initiator IQN its script sets and its target admits (default:
        /// `iqn.1991-05.com.microsoft:iscsiboot-<mac with hyphens>`).
        #[arg(long)]
        initiator_iqn: Option<String>,
        /// Its target's IQN (default: `iqn.2026-12.org.diskless-target:<name>`).
        #[arg(long)]
        target_iqn: Option<String>,
        /// One-way CHAP the initiator must pass, as USER:SECRET (12 to 255 bytes of secret).
        #[arg(long, value_name = "USER:SECRET")]
        chap: Option<String>,
        /// Mutual CHAP: what the target proves to the initiator, as USER:SECRET (needs --chap).
        #[arg(long, value_name = "USER:SECRET", requires = "chap")]
        mutual_chap: Option<String>,
        /// The server address the script connects to (IPv4, IPv6 in brackets, or a name).
        #[arg(long, default_value = DEFAULT_SERVER)]
        server: String,
        /// The port the script connects to.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
    },
    /// List the clients (and whether each is logged in).
    List {
        /// JSON instead of a table (CHAP secrets are never printed).
        #[arg(long)]
        json: bool,
    },
    /// Give a client a fresh differencing disk over the current golden image (its writes are
    /// discarded). Refused while the client is logged in, unless --force.
    Reset {
        /// The client's name.
        name: String,
        /// Even while the client is logged in (a client that crashed or lost power holds its
        /// session until TCP gives up): the running server closes the session.
        #[arg(long)]
        force: bool,
    },
    /// Remove a client: its target, disk and script. Refused while the client is logged in,
    /// unless --force.
    Remove {
        /// The client's name.
        name: String,
        /// Even while the client is logged in: the running server closes the session.
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `client` command.
///
/// # Errors
/// Bad arguments, a duplicate, a client that is logged in, or a file that cannot be written.
pub(crate) fn run(args: ClientArgs) -> Result<()> {
    let dir = StateDir::new(&args.state);
    dir.require()?;
    match args.command {
        ClientCommand::Add {
            name,
            mac,
            initiator_iqn,
            target_iqn,
            chap,
            mutual_chap,
            server,
            port,
        } => {
            let mac = parse_mac(&mac)?;
            let entry = ClientEntry {
                target: target_iqn.unwrap_or_else(|| default_target(&name)),
                initiator: initiator_iqn.unwrap_or_else(|| default_initiator(mac)),
                mac: mac.to_string(),
                disk: PathBuf::new(),
                golden: PathBuf::new(),
                server,
                port,
                revision: 0,
                chap: chap.map(|c| parse_chap("chap", &c)).transpose()?,
                mutual_chap: mutual_chap
                    .map(|c| parse_chap("mutual-chap", &c))
                    .transpose()?,
                name,
            };
            let entry = add(&dir, entry)?;
            println!(
                "added client `{}`: MAC {}, target {}, initiator {}\n  disk {} over {}\n  \
                 script {}",
                entry.name,
                entry.mac,
                entry.target,
                entry.initiator,
                dir.resolve(&entry.disk).display(),
                dir.resolve(&entry.golden).display(),
                script_path(&dir, &entry)?.display()
            );
        }
        ClientCommand::List { json } => print!("{}", list(&dir, json)?),
        ClientCommand::Reset { name, force } => {
            let entry = reset(&dir, &name, force)?;
            println!(
                "reset client `{name}`: fresh disk {} over {}",
                dir.resolve(&entry.disk).display(),
                dir.resolve(&entry.golden).display()
            );
        }
        ClientCommand::Remove { name, force } => {
            remove(&dir, &name, force)?;
            println!("removed client `{name}`");
        }
    }
    Ok(())
}

/// Where the per-client script of `entry` goes.
fn script_path(dir: &StateDir, entry: &ClientEntry) -> Result<PathBuf> {
    Ok(dir
        .tftp_dir()
        .join(Dispatcher::script_name(parse_mac(&entry.mac)?)))
}

/// The client's iPXE script.
pub(crate) fn script(entry: &ClientEntry) -> Result<String> {
    let at = |what: &str, e: ipxe_script::Error| anyhow::anyhow!("{what}: {e}");
    let target = IpxeName::new(&entry.target).map_err(|e| at("target IQN", e))?;
    let server = Server::parse(&entry.server).map_err(|e| at("server", e))?;
    let root_path = IscsiRootPath::new(server, entry.port, Lun::ZERO, target)
        .map_err(|e| at("root path", e))?;
    let mut plan = SanBootScript::new(root_path);
    plan.initiator = Some(IpxeName::new(&entry.initiator).map_err(|e| at("initiator IQN", e))?);
    plan.chap = match (&entry.chap, &entry.mutual_chap) {
        (None, _) => None,
        (Some(c), None) => Some(IpxeChap::one_way(&c.user, &c.secret).map_err(|e| at("CHAP", e))?),
        (Some(c), Some(m)) => Some(
            IpxeChap::mutual(&c.user, &c.secret, &m.user, &m.secret)
                .map_err(|e| at("mutual CHAP", e))?,
        ),
    };
    Ok(plan
        .script()
        .map_err(|e| at("rendering the script", e))?
        .to_string())
}

/// The dispatcher: chains `./${net0/mac:hexhyp}.ipxe`, relative to where it was loaded from
/// (iPXE resolves it against the dispatcher's own URI; the crate refuses an empty prefix).
pub(crate) fn dispatcher_script() -> Result<String> {
    let prefix = Word::literal("./").map_err(|e| anyhow::anyhow!("dispatcher prefix: {e}"))?;
    Ok(Dispatcher::new(prefix)
        .script()
        .map_err(|e| anyhow::anyhow!("rendering the dispatcher: {e}"))?
        .to_string())
}

/// Creates a differencing disk at `child` over `golden` (atomically: whole or not at all).
pub(crate) fn make_child(golden: &Path, child: &Path) -> Result<()> {
    let parent = vhd::open_file(golden, OpenOptions::read_only())
        .with_context(|| format!("opening the golden image {}", golden.display()))?;
    if child.exists() {
        // Not referenced by the state (the caller checked): left over by a failed command.
        std::fs::remove_file(child).with_context(|| format!("removing {}", child.display()))?;
    }
    let file = AtomicFile::new(child)?;
    let link = ParentLink::for_files(&parent, golden, child)
        .with_context(|| format!("linking {} to {}", child.display(), golden.display()))?;
    let storage = FileStorage::create_new(file.path())
        .with_context(|| format!("creating {}", file.path().display()))?;
    let disk = VhdBuilder::differencing(link)
        .create(storage)
        .with_context(|| format!("creating {}", child.display()))?;
    disk.flush()
        .with_context(|| format!("writing {}", child.display()))?;
    drop(disk);
    file.commit()
}

/// The disk file of `name` at `revision`.
fn disk_path(name: &str, revision: u32) -> PathBuf {
    Path::new("disks").join(format!("{name}-r{revision}.vhd"))
}

/// The current golden image, or an error saying how to set one.
fn current_golden(state: &State) -> Result<PathBuf> {
    state
        .golden
        .clone()
        .context("no golden image yet: run `diskless-target golden set PATH` first")
}

/// Adds `entry` (its `disk`, `golden` and `revision` are filled in here).
pub(crate) fn add(dir: &StateDir, mut entry: ClientEntry) -> Result<ClientEntry> {
    let _lock = dir.lock()?;
    let mut state = dir.load()?;
    let golden = current_golden(&state)?;
    entry.golden = golden.clone();
    entry.revision = 0;
    entry.disk = disk_path(&entry.name, 0);
    if let Some(existing) = state.clients.iter().find(|c| c.name == entry.name) {
        bail!(
            "a client named `{}` already exists (MAC {}); `client remove {}` first, or choose \
             another name",
            entry.name,
            existing.mac,
            entry.name
        );
    }
    state.clients.push(entry.clone());
    state.check().context("refusing to add the client")?;
    // Everything the new entry needs, before the state names it.
    let text = script(&entry)?;
    let disk = dir.resolve(&entry.disk);
    make_child(&dir.resolve(&golden), &disk)?;
    let script_file = script_path(dir, &entry)?;
    let written = write_atomic(&script_file, text.as_bytes()).and_then(|()| {
        write_atomic(
            &dir.tftp_dir().join(DISPATCHER),
            dispatcher_script()?.as_bytes(),
        )
    });
    if let Err(e) = written.and_then(|()| dir.save(&state)) {
        let _ = std::fs::remove_file(&disk);
        let _ = std::fs::remove_file(&script_file);
        return Err(e);
    }
    Ok(entry)
}

/// Resets client `name`: a fresh differencing disk over the current golden image. `force`:
/// even under a live session (see [`StateDir::refuse_if_logged_in`]).
pub(crate) fn reset(dir: &StateDir, name: &str, force: bool) -> Result<ClientEntry> {
    let _lock = dir.lock()?;
    let mut state = dir.load()?;
    let golden = current_golden(&state)?;
    let index = state
        .clients
        .iter()
        .position(|c| c.name == name)
        .with_context(|| format!("no client `{name}` (see `client list`)"))?;
    dir.refuse_if_logged_in(name, "reset it", force)?;
    let old_disk = dir.resolve(&state.clients[index].disk);
    let entry = &mut state.clients[index];
    entry.revision += 1;
    entry.disk = disk_path(name, entry.revision);
    entry.golden = golden.clone();
    let entry = entry.clone();
    let disk = dir.resolve(&entry.disk);
    make_child(&dir.resolve(&golden), &disk)?;
    if let Err(e) = dir.save(&state) {
        let _ = std::fs::remove_file(&disk);
        return Err(e);
    }
    let _ = std::fs::remove_file(&old_disk);
    // Registrations made on the old disk do not carry over to the fresh one.
    let _ = crate::reservation_file::forget(&old_disk);
    Ok(entry)
}

/// Removes client `name`; `force` as for [`reset`].
pub(crate) fn remove(dir: &StateDir, name: &str, force: bool) -> Result<()> {
    let _lock = dir.lock()?;
    let mut state = dir.load()?;
    let entry = state.client(name)?.clone();
    dir.refuse_if_logged_in(name, "remove it", force)?;
    state.clients.retain(|c| c.name != name);
    dir.save(&state)?;
    let _ = std::fs::remove_file(dir.resolve(&entry.disk));
    let _ = crate::reservation_file::forget(&dir.resolve(&entry.disk));
    let _ = std::fs::remove_file(script_path(dir, &entry)?);
    let _ = std::fs::remove_dir(dir.client_run_dir(name));
    Ok(())
}

/// The `client list` output.
pub(crate) fn list(dir: &StateDir, json: bool) -> Result<String> {
    let state = dir.load()?;
    let rows: Vec<serde_json::Value> = state
        .clients
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "mac": c.mac,
                "target": c.target,
                "initiator": c.initiator,
                "disk": dir.resolve(&c.disk),
                "golden": dir.resolve(&c.golden),
                "revision": c.revision,
                "server": c.server,
                "port": c.port,
                "chap": match (&c.chap, &c.mutual_chap) {
                    (None, _) => "none",
                    (Some(_), None) => "one-way",
                    (Some(_), Some(_)) => "mutual",
                },
                "sessions": dir.live_sessions(&c.name).len(),
            })
        })
        .collect();
    if json {
        let doc = serde_json::json!({
            "state": dir.root(),
            "golden": state.golden.as_deref().map(|g| dir.resolve(g)),
            "clients": rows,
        });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&doc)?));
    }
    let mut out = format!(
        "golden: {}\n",
        state.golden.as_deref().map_or_else(
            || "(none: run `golden set PATH`)".to_string(),
            |g| dir.resolve(g).display().to_string()
        )
    );
    let header = [
        "NAME",
        "MAC",
        "TARGET",
        "INITIATOR",
        "CHAP",
        "SESSIONS",
        "DISK",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| match &r[k] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            [
                s("name"),
                s("mac"),
                s("target"),
                s("initiator"),
                s("chap"),
                s("sessions"),
                state
                    .clients
                    .iter()
                    .find(|c| c.name == s("name"))
                    .map(|c| c.disk.display().to_string())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut line = |row: &[String]| {
        let text: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(&header.map(String::from));
    for row in &cells {
        line(row);
    }
    if cells.is_empty() {
        out.push_str("(no clients: `client add NAME --mac MAC`)\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::SessionMarker;

    fn setup(name: &str) -> (PathBuf, StateDir) {
        let root = std::env::temp_dir().join(format!("dt-client-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = StateDir::new(&root);
        dir.create().unwrap();
        let golden = dir.root().join("golden/golden.vhd");
        let mut g = VhdBuilder::dynamic(4 << 20)
            .create(FileStorage::create_new(&golden).unwrap())
            .unwrap();
        g.write_at(&[0xaa; 4096], 0).unwrap();
        g.flush().unwrap();
        drop(g);
        let state = State {
            golden: Some(PathBuf::from("golden/golden.vhd")),
            clients: Vec::new(),
        };
        dir.save(&state).unwrap();
        (root, dir)
    }

    fn entry(name: &str, mac: &str) -> ClientEntry {
        let m = parse_mac(mac).unwrap();
        ClientEntry {
            name: name.into(),
            mac: m.to_string(),
            target: default_target(name),
            initiator: default_initiator(m),
            disk: PathBuf::new(),
            golden: PathBuf::new(),
            server: DEFAULT_SERVER.into(),
            port: DEFAULT_PORT,
            revision: 0,
            chap: None,
            mutual_chap: None,
        }
    }

    #[test]
    fn add_reset_remove() {
        let (root, dir) = setup("arr");
        let a = add(&dir, entry("a", "52:54:00:00:00:01")).unwrap();
        let mut b = entry("b", "52:54:00:00:00:02");
        b.chap = Some(parse_chap("chap", "b-user:b-secret-1234").unwrap());
        b.mutual_chap = Some(parse_chap("mutual-chap", "t-user:t-secret-1234").unwrap());
        add(&dir, b).unwrap();
        let script_a =
            std::fs::read_to_string(dir.tftp_dir().join("52-54-00-00-00-01.ipxe")).unwrap();
        assert!(
            script_a.contains(
                "set initiator-iqn iqn.1991-05.com.microsoft:iscsiboot-52-54-00-00-00-01\n"
            ),
            "{script_a}"
        );
        assert!(
            script_a.contains("iscsi:10.0.2.2::::iqn.2026-12.org.diskless-target:a"),
            "{script_a}"
        );
        let script_b =
            std::fs::read_to_string(dir.tftp_dir().join("52-54-00-00-00-02.ipxe")).unwrap();
        assert!(
            script_b.contains("set reverse-password t-secret-1234\n"),
            "{script_b}"
        );
        let boot = std::fs::read_to_string(dir.tftp_dir().join(DISPATCHER)).unwrap();
        assert!(
            boot.contains("chain --autofree ./${net0/mac:hexhyp}.ipxe"),
            "{boot}"
        );

        // Duplicates are refused, and leave nothing behind.
        let e = format!(
            "{:#}",
            add(&dir, entry("a", "52:54:00:00:00:09")).unwrap_err()
        );
        assert!(e.contains("already exists"), "{e}");
        let e = format!(
            "{:#}",
            add(&dir, entry("c", "52-54-00-00-00-01")).unwrap_err()
        );
        assert!(e.contains("MAC 52:54:00:00:00:01 already belongs"), "{e}");
        assert!(!dir.root().join("disks/c-r0.vhd").exists());
        let mut c = entry("c", "52:54:00:00:00:03");
        c.initiator = a.initiator.clone();
        let e = format!("{:#}", add(&dir, c).unwrap_err());
        assert!(e.contains("initiator IQN"), "{e}");

        let listed = list(&dir, false).unwrap();
        assert!(
            listed.contains("NAME") && listed.contains("mutual"),
            "{listed}"
        );
        let json: serde_json::Value = serde_json::from_str(&list(&dir, true).unwrap()).unwrap();
        assert_eq!(json["clients"].as_array().unwrap().len(), 2);
        assert!(!list(&dir, true).unwrap().contains("b-secret"));

        // A write to a's disk, then a reset: the fresh disk reads the golden data again.
        let disk_a = dir.resolve(&a.disk);
        let mut d = vhd::open_file(&disk_a, OpenOptions::read_write()).unwrap();
        d.write_at(&[0x55; 512], 0).unwrap();
        d.flush().unwrap();
        drop(d);
        // Refused while logged in.
        let run = dir.client_run_dir("a");
        std::fs::create_dir_all(&run).unwrap();
        let marker = SessionMarker {
            pid: Some(std::process::id()),
            initiator: a.initiator.clone(),
            peer: "127.0.0.1:1".into(),
        };
        std::fs::write(run.join("conn-1"), marker.render()).unwrap();
        let e = format!("{:#}", reset(&dir, "a", false).unwrap_err());
        assert!(e.contains("is logged in"), "{e}");
        let e = format!("{:#}", remove(&dir, "a", false).unwrap_err());
        assert!(e.contains("is logged in"), "{e}");
        std::fs::remove_file(run.join("conn-1")).unwrap();
        let a2 = reset(&dir, "a", false).unwrap();
        assert_eq!(a2.revision, 1);
        assert!(!disk_a.exists(), "the old disk is deleted");
        let d = vhd::open_file(dir.resolve(&a2.disk), OpenOptions::read_only()).unwrap();
        let mut buf = [0u8; 512];
        d.read_at(&mut buf, 0).unwrap();
        assert_eq!(buf, [0xaa; 512]);

        remove(&dir, "a", false).unwrap();
        assert!(!dir.resolve(&a2.disk).exists());
        assert!(!dir.tftp_dir().join("52-54-00-00-00-01.ipxe").exists());
        assert_eq!(dir.load().unwrap().clients.len(), 1);
        assert!(remove(&dir, "a", false).is_err());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn add_needs_a_golden_image() {
        let root = std::env::temp_dir().join(format!("dt-client-nogolden-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = StateDir::new(&root);
        let e = format!(
            "{:#}",
            add(&dir, entry("a", "52:54:00:00:00:01")).unwrap_err()
        );
        assert!(e.contains("golden set"), "{e}");
        let _ = std::fs::remove_dir_all(&root);
    }
}

//! Deploying clients with the real binary: `golden set`, `client add/list/reset/remove`,
//! `golden merge`, and `serve --state` following the state directory while libiscsi's
//! `iscsi-inq` and qemu-io log in (those parts are skipped, with a message, when the tools
//! are missing).

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

mod common;

use common::TempDir;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vhd::{FileStorage, OpenOptions, VhdBuilder};

const GOLDEN_BYTE: u8 = 0xaa;

/// A 16 MiB dynamic golden image whose first 64 KiB hold `GOLDEN_BYTE`.
fn make_golden(path: &Path) {
    let mut g = VhdBuilder::dynamic(16 << 20)
        .create(FileStorage::create_new(path).unwrap())
        .unwrap();
    g.write_at(&[GOLDEN_BYTE; 64 << 10], 0).unwrap();
    g.flush().unwrap();
}

/// Runs the binary with `args` and `--state state`.
fn dt(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_diskless-target"))
        .args(args)
        .arg("--state")
        .arg(state)
        .output()
        .unwrap()
}

/// Runs it and expects success; returns stdout.
fn ok(state: &Path, args: &[&str]) -> String {
    let out = dt(state, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs it and expects failure; returns stderr.
fn fails(state: &Path, args: &[&str]) -> String {
    let out = dt(state, args);
    assert!(!out.status.success(), "{args:?} should have failed");
    String::from_utf8(out.stderr).unwrap()
}

fn initiator(mac: &str) -> String {
    format!(
        "iqn.1991-05.com.microsoft:iscsiboot-{}",
        mac.replace(':', "-")
    )
}

fn target(name: &str) -> String {
    format!("iqn.2026-12.org.diskless-target:{name}")
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn commands_manage_the_state_directory() {
    let tmp = TempDir::new("deploy-it", "cli");
    let golden_src = tmp.0.join("src.vhd");
    make_golden(&golden_src);
    let before = std::fs::read(&golden_src).unwrap();
    let state = tmp.0.join("state");

    let e = fails(
        &state,
        &["client", "add", "pc1", "--mac", "52:54:00:00:00:01"],
    );
    assert!(e.contains("golden set"), "{e}");
    let out = ok(&state, &["golden", "set", golden_src.to_str().unwrap()]);
    assert!(out.contains("copied, read-only"), "{out}");
    ok(
        &state,
        &["client", "add", "pc1", "--mac", "52:54:00:00:00:01"],
    );
    ok(
        &state,
        &[
            "client",
            "add",
            "pc2",
            "--mac",
            "52-54-00-00-00-02",
            "--chap",
            "pc2:pc2-secret-123",
            "--mutual-chap",
            "srv:srv-secret-123",
            "--server",
            "192.0.2.10",
            "--port",
            "3261",
        ],
    );
    // Duplicates are refused, naming what collides.
    let e = fails(
        &state,
        &["client", "add", "pc1", "--mac", "52:54:00:00:00:09"],
    );
    assert!(e.contains("`pc1` already exists"), "{e}");
    let e = fails(
        &state,
        &["client", "add", "pc9", "--mac", "52:54:00:00:00:01"],
    );
    assert!(e.contains("MAC 52:54:00:00:00:01 already belongs"), "{e}");
    let e = fails(
        &state,
        &[
            "client",
            "add",
            "pc9",
            "--mac",
            "52:54:00:00:00:09",
            "--initiator-iqn",
            &initiator("52:54:00:00:00:02"),
        ],
    );
    assert!(e.contains("initiator IQN"), "{e}");
    let e = fails(
        &state,
        &["client", "add", "Bad_Name", "--mac", "52:54:00:00:00:09"],
    );
    assert!(e.contains("client name"), "{e}");
    let e = fails(
        &state,
        &[
            "client",
            "add",
            "pc9",
            "--mac",
            "52:54:00:00:00:09",
            "--chap",
            "u:short",
        ],
    );
    assert!(e.contains("12 to 255"), "{e}");
    assert!(!state.join("disks/pc9-r0.vhd").exists());

    // The files: scripts by MAC, the dispatcher, the state.
    let s1 = std::fs::read_to_string(state.join("tftp/52-54-00-00-00-01.ipxe")).unwrap();
    assert!(
        s1.contains(&format!(
            "set initiator-iqn {}\n",
            initiator("52:54:00:00:00:01")
        )),
        "{s1}"
    );
    assert!(
        s1.contains(&format!("iscsi:10.0.2.2::::{}", target("pc1"))),
        "{s1}"
    );
    let s2 = std::fs::read_to_string(state.join("tftp/52-54-00-00-00-02.ipxe")).unwrap();
    assert!(s2.contains("iscsi:192.0.2.10::3261::"), "{s2}");
    assert!(s2.contains("set reverse-password srv-secret-123\n"), "{s2}");
    let boot = std::fs::read_to_string(state.join("tftp/boot.ipxe")).unwrap();
    assert!(boot.contains("${net0/mac:hexhyp}.ipxe"), "{boot}");
    let toml = std::fs::read_to_string(state.join("clients.toml")).unwrap();
    assert!(toml.contains("[[client]]"), "{toml}");

    let table = ok(&state, &["client", "list"]);
    assert!(table.starts_with("golden: "), "{table}");
    assert!(table.contains("pc1") && table.contains("mutual"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&state, &["client", "list", "--json"])).unwrap();
    let clients = json["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 2);
    assert_eq!(clients[1]["target"], target("pc2"));
    assert_eq!(clients[1]["sessions"], 0);
    assert!(!json.to_string().contains("pc2-secret"));

    // A client's writes, a re-bake into a copy, and the refusal while "logged in" (the marker
    // the server makes at login, with a live pid: this test's).
    let disk1 = state.join("disks/pc1-r0.vhd");
    let mut d = vhd::open_file(&disk1, OpenOptions::read_write()).unwrap();
    d.write_at(&[0x55; 512], 0).unwrap();
    d.flush().unwrap();
    drop(d);
    let run = state.join("run/pc1");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(
        run.join("conn-7"),
        format!(
            "pid={}\ninitiator={}\npeer=127.0.0.1:1\n",
            std::process::id(),
            initiator("52:54:00:00:00:01")
        ),
    )
    .unwrap();
    for args in [
        &["client", "reset", "pc1"][..],
        &["client", "remove", "pc1"],
        &["golden", "merge", "pc1"],
    ] {
        let e = fails(&state, args);
        assert!(
            e.contains("client `pc1` is logged in") && e.contains("Shut the client down"),
            "{e}"
        );
    }
    // --force goes on under the session, saying so (here on pc2, which stays logged out
    // afterwards: a reset's fresh disk).
    std::fs::create_dir_all(state.join("run/pc2")).unwrap();
    std::fs::copy(run.join("conn-7"), state.join("run/pc2/conn-8")).unwrap();
    let out = dt(&state, &["client", "reset", "pc2", "--force"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("client `pc2` is logged in") && stderr.contains("--force"),
        "{stderr}"
    );
    std::fs::remove_file(state.join("run/pc2/conn-8")).unwrap();
    std::fs::remove_file(run.join("conn-7")).unwrap();
    let out = ok(&state, &["golden", "merge", "pc1", "--activate"]);
    let baked = state.join("golden/src+pc1.vhd");
    assert!(out.contains(baked.to_str().unwrap()), "{out}");
    assert_eq!(
        std::fs::read(state.join("golden/src.vhd")).unwrap(),
        before,
        "the golden image is never merged in place"
    );
    let mut sector = [0u8; 512];
    vhd::open_file(&baked, OpenOptions::read_only())
        .unwrap()
        .read_at(&mut sector, 0)
        .unwrap();
    assert_eq!(sector, [0x55; 512]);
    // A reset gives a fresh disk over the (new) golden image; pc2 keeps the old one.
    ok(&state, &["client", "reset", "pc1"]);
    assert!(!disk1.exists());
    let json: serde_json::Value =
        serde_json::from_str(&ok(&state, &["client", "list", "--json"])).unwrap();
    assert!(
        json["clients"][0]["golden"]
            .as_str()
            .unwrap()
            .ends_with("src+pc1.vhd")
    );
    assert!(
        json["clients"][1]["golden"]
            .as_str()
            .unwrap()
            .ends_with("golden/src.vhd")
    );
    ok(&state, &["client", "remove", "pc1"]);
    assert!(!state.join("tftp/52-54-00-00-00-01.ipxe").exists());
    let e = fails(&state, &["client", "remove", "pc1"]);
    assert!(e.contains("no client `pc1`"), "{e}");
    assert_eq!(std::fs::read(&golden_src).unwrap(), before);
}

/// `serve --state` under test, killed on drop; its stderr collected.
struct Server {
    child: Child,
    addr: SocketAddr,
    tftp: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(state: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_diskless-target"))
            .args(["serve", "--listen", "127.0.0.1:0", "--tftp", "127.0.0.1:0"])
            .arg("--state")
            .arg(state)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut addr = None;
        let mut tftp = None;
        let mut line = String::new();
        while addr.is_none() || tftp.is_none() {
            line.clear();
            if stderr.read_line(&mut line).unwrap() == 0 {
                panic!("the server ended early");
            }
            // "diskless-target: serving N target(s) on ADDR"
            if line.contains(" target(s) on ") {
                addr = Some(line.trim().rsplit(' ').next().unwrap().parse().unwrap());
            }
            // "diskless-target: tftp: serving DIR on ADDR (read-only)"
            if line.contains("tftp: serving") {
                let words: Vec<&str> = line.split_whitespace().collect();
                tftp = Some(words[words.len() - 2].parse().unwrap());
            }
        }
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        Server {
            child,
            addr: addr.unwrap(),
            tftp: tftp.unwrap(),
            log,
        }
    }

    /// Logs in with `iscsi-inq` as `initiator` to client `name`'s target: `Some(success)`, or
    /// `None` if it did not finish within 10 s (libiscsi reconnects without end when a
    /// session it had is cut and the target then refuses it).
    fn try_inquiry(&self, name: &str, initiator: &str) -> Option<bool> {
        let mut child = Command::new("iscsi-inq")
            .args(["-i", initiator])
            .arg(format!("iscsi://{}/{}/0", self.addr, target(name)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status.success());
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether `initiator` can log in to client `name`'s target.
    fn inquiry(&self, name: &str, initiator: &str) -> bool {
        self.try_inquiry(name, initiator) == Some(true)
    }

    /// Whether the login is refused (rather than hanging).
    fn refused(&self, name: &str, initiator: &str) -> bool {
        self.try_inquiry(name, initiator) == Some(false)
    }

    /// How many reloads the server has logged.
    fn reloads(&self) -> usize {
        self.log.lock().unwrap().matches("reloaded").count()
    }

    /// Runs `change` (a CLI command) and waits until the server has reloaded after it.
    fn after_reload<T>(&self, change: impl FnOnce() -> T) -> T {
        let before = self.reloads();
        let out = change();
        wait_until("the server to reload", || self.reloads() > before);
        out
    }

    /// qemu-io over the iSCSI LUN of client `name`.
    fn qemu_io(&self, name: &str, mac: &str, commands: &[&str]) -> Command {
        let mut cmd = Command::new("qemu-io");
        cmd.arg("--image-opts").arg(format!(
            "driver=iscsi,transport=tcp,portal={},target={},lun=0,initiator-name={}",
            self.addr,
            target(name),
            initiator(mac)
        ));
        for c in commands {
            cmd.args(["-c", c]);
        }
        cmd
    }

    /// Reads `len` bytes at 0 of client `name` over iSCSI; true if they all are `byte`.
    fn reads(&self, name: &str, mac: &str, byte: u8) -> bool {
        let out = self
            .qemu_io(name, mac, &[&format!("read -P {byte:#x} 0 4k")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        out.status.success() && text.contains("read 4096/4096") && !text.contains("failed")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fetches `file` from a TFTP server (RFC 1350, 512-byte blocks, octet mode).
fn tftp_get(server: SocketAddr, file: &str) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rrq = vec![0, 1];
    rrq.extend_from_slice(file.as_bytes());
    rrq.push(0);
    rrq.extend_from_slice(b"octet\0");
    socket.send_to(&rrq, server).unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let (n, from) = socket.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..2], &[0, 3], "not a DATA packet: {:?}", &buf[..n]);
        data.extend_from_slice(&buf[4..n]);
        socket.send_to(&[0, 4, buf[2], buf[3]], from).unwrap();
        if n - 4 < 512 {
            return data;
        }
    }
}

#[test]
fn serve_follows_the_state_without_restart() {
    if !have("iscsi-inq") {
        eprintln!("SKIP serve_follows_the_state_without_restart: iscsi-inq missing (libiscsi-bin)");
        return;
    }
    let tmp = TempDir::new("deploy-it", "serve");
    let golden_src = tmp.0.join("golden.vhd");
    make_golden(&golden_src);
    let state = tmp.0.join("state");
    ok(&state, &["golden", "set", golden_src.to_str().unwrap()]);
    let golden_copy = state.join("golden/golden.vhd");
    let golden_bytes = std::fs::read(&golden_copy).unwrap();
    let (mac1, mac2, mac3) = (
        "52:54:00:00:00:01",
        "52:54:00:00:00:02",
        "52:54:00:00:00:03",
    );
    ok(&state, &["client", "add", "pc1", "--mac", mac1]);
    ok(&state, &["client", "add", "pc2", "--mac", mac2]);
    let listed = ok(&state, &["client", "list"]);
    assert!(listed.contains("pc1") && listed.contains("pc2"), "{listed}");

    let server = Server::start(&state);
    assert!(server.inquiry("pc1", &initiator(mac1)));
    assert!(server.inquiry("pc2", &initiator(mac2)));
    assert!(
        server.refused("pc1", &initiator(mac2)),
        "pc1's target admits only pc1's initiator"
    );
    // The built-in TFTP server serves the scripts.
    let boot = tftp_get(server.tftp, "boot.ipxe");
    assert!(
        String::from_utf8(boot)
            .unwrap()
            .contains("${net0/mac:hexhyp}.ipxe")
    );
    let script = tftp_get(server.tftp, "52-54-00-00-00-01.ipxe");
    assert!(String::from_utf8(script).unwrap().contains(&target("pc1")));

    // A client added while serving can log in without a restart.
    assert!(server.refused("pc3", &initiator(mac3)));
    server.after_reload(|| ok(&state, &["client", "add", "pc3", "--mac", mac3]));
    assert!(server.inquiry("pc3", &initiator(mac3)));

    if have("qemu-io") {
        // A session held open (qemu-io sleeps 4 s after writing): the server's marker
        // appears, and reset/remove are refused under it.
        let mut held = server
            .qemu_io("pc1", mac1, &["write -P 0x55 0 4k", "sleep 4000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let run = state.join("run/pc1");
        let has_marker = || std::fs::read_dir(&run).is_ok_and(|mut d| d.next().is_some());
        wait_until("pc1's session marker", has_marker);
        let json: serde_json::Value =
            serde_json::from_str(&ok(&state, &["client", "list", "--json"])).unwrap();
        assert_eq!(json["clients"][0]["sessions"], 1, "{json}");
        let e = fails(&state, &["client", "reset", "pc1"]);
        assert!(e.contains("is logged in"), "{e}");
        let e = fails(&state, &["client", "remove", "pc1"]);
        assert!(e.contains("is logged in"), "{e}");
        assert!(held.wait().unwrap().success());
        wait_until("pc1's marker to go", || !has_marker());
        assert!(server.reads("pc1", mac1, 0x55), "pc1 reads its own write");
        // The server keeps pc1's disk open, with its write lock, while pc1 is logged out: a
        // re-bake still reads it.
        let out = ok(&state, &["golden", "merge", "pc1"]);
        let baked = out
            .lines()
            .find_map(|l| l.split_whitespace().find(|w| w.ends_with("+pc1.vhd")));
        let baked = baked.unwrap_or_else(|| panic!("no baked image named in {out}"));
        let mut sector = [0u8; 512];
        vhd::open_file(baked, OpenOptions::read_only())
            .unwrap()
            .read_at(&mut sector, 0)
            .unwrap();
        assert_eq!(sector, [0x55; 512], "the re-bake holds pc1's write");
        // After the session, the reset is done, and pc1 reads the golden data again.
        server.after_reload(|| ok(&state, &["client", "reset", "pc1"]));
        assert!(
            server.reads("pc1", mac1, GOLDEN_BYTE),
            "pc1 reads golden data again"
        );
        assert!(server.reads("pc2", mac2, GOLDEN_BYTE));
    } else {
        eprintln!(
            "SKIP (part) serve_follows_the_state_without_restart: qemu-io missing \
             (qemu-utils, qemu-block-extra); the session-marker refusal is tested with a \
             marker made by hand in commands_manage_the_state_directory"
        );
        ok(&state, &["client", "reset", "pc1"]);
    }

    // A removed client's login is refused.
    server.after_reload(|| ok(&state, &["client", "remove", "pc2"]));
    assert!(
        server.refused("pc2", &initiator(mac2)),
        "a removed client's login is refused"
    );
    assert!(server.inquiry("pc1", &initiator(mac1)));
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("reloaded"), "{log}");
    drop(server);
    assert_eq!(
        std::fs::read(&golden_copy).unwrap(),
        golden_bytes,
        "the golden image is unchanged"
    );
}

/// A mistyped `--state` is an error that names the directory and how to make one, and leaves
/// nothing behind; only `golden set` makes a state directory.
#[test]
fn a_missing_state_directory_is_an_error_not_an_empty_state() {
    let tmp = TempDir::new("deploy-it", "no-state");
    let typo = tmp.0.join("diskles-state");
    for args in [
        &["client", "list"][..],
        &["client", "add", "pc1", "--mac", "52:54:00:00:00:01"],
        &["client", "reset", "pc1"],
        &["golden", "merge", "pc1"],
        &["serve", "--listen", "127.0.0.1:0"],
    ] {
        let e = fails(&typo, args);
        assert!(
            e.contains("no state directory at") && e.contains("golden set"),
            "{args:?}: {e}"
        );
        assert!(!typo.exists(), "{args:?} made {}", typo.display());
    }
}

//! `diskless-target tftp` over real UDP on 127.0.0.1: a small hand-written client for the
//! protocol's corners, and the real clients (curl, tftp-hpa) when they are installed.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

mod common;

use common::TempDir;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server under test, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl Server {
    /// A root with `files` in `<dir>/root` and a secret next to it, served on a free port.
    fn start(name: &str, files: &[(&str, &[u8])], extra: &[&str]) -> Server {
        let dir = TempDir::new("tftp-it", name);
        let root = dir.0.join("root");
        std::fs::create_dir_all(&root).unwrap();
        for (file, content) in files {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        std::fs::write(dir.0.join("secret"), b"outside the root").unwrap();
        std::os::unix::fs::symlink(dir.0.join("secret"), root.join("escape")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_diskless-target"))
            .args(["tftp", "--root"])
            .arg(&root)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // "diskless-target: tftp: serving ROOT on ADDR (read-only)"
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let addr = line
            .split(" on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .unwrap();
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stderr.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        Server { child, addr, dir }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn rrq(file: &str, mode: &str, options: &[(&str, &str)]) -> Vec<u8> {
    let mut p = vec![0, 1];
    for s in [file, mode] {
        p.extend_from_slice(s.as_bytes());
        p.push(0);
    }
    for (n, v) in options {
        for s in [n, v] {
            p.extend_from_slice(s.as_bytes());
            p.push(0);
        }
    }
    p
}

fn ack(block: u16) -> [u8; 4] {
    let [a, b] = block.to_be_bytes();
    [0, 4, a, b]
}

fn recv(s: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 70000];
    let (n, from) = s.recv_from(&mut buf).unwrap();
    buf.truncate(n);
    (buf, from)
}

fn opcode(p: &[u8]) -> u16 {
    u16::from_be_bytes([p[0], p[1]])
}

fn block(p: &[u8]) -> u16 {
    u16::from_be_bytes([p[2], p[3]])
}

/// Expects an ERROR packet and returns its code.
fn error_code(p: &[u8]) -> u16 {
    assert_eq!(opcode(p), 5, "expected ERROR, got {p:?}");
    block(p)
}

/// A whole download with a well-behaved client; returns the data and the OACK's bytes.
fn download(addr: SocketAddr, file: &str, options: &[(&str, &str)]) -> (Vec<u8>, Option<Vec<u8>>) {
    let s = client();
    s.send_to(&rrq(file, "octet", options), addr).unwrap();
    let (mut p, tid) = recv(&s);
    assert_ne!(tid, addr, "a transfer runs on its own port");
    let mut blksize = 512;
    let mut oack = None;
    if opcode(&p) == 6 {
        let fields: Vec<&[u8]> = p[2..].split(|&b| b == 0).collect();
        for pair in fields.chunks(2) {
            if pair[0] == b"blksize" {
                blksize = std::str::from_utf8(pair[1]).unwrap().parse().unwrap();
            }
        }
        oack = Some(p.clone());
        s.send_to(&ack(0), tid).unwrap();
        p = recv(&s).0;
    }
    let mut data = Vec::new();
    let mut expected: u16 = 1;
    loop {
        assert_eq!(
            opcode(&p),
            3,
            "expected DATA, got {:?}",
            &p[..p.len().min(40)]
        );
        assert_eq!(block(&p), expected);
        data.extend_from_slice(&p[4..]);
        s.send_to(&ack(expected), tid).unwrap();
        if p.len() - 4 < blksize {
            return (data, oack);
        }
        expected = expected.wrapping_add(1);
        p = recv(&s).0;
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

#[test]
fn serves_files_plain_and_with_options() {
    let big = pattern(100_000);
    let server = Server::start(
        "serve",
        &[("boot.ipxe", b"#!ipxe\nchain x\n"), ("sub/big.bin", &big)],
        &[],
    );
    assert_eq!(
        download(server.addr, "boot.ipxe", &[]).0,
        b"#!ipxe\nchain x\n"
    );
    let (data, oack) = download(
        server.addr,
        "sub/big.bin",
        &[("blksize", "1432"), ("tsize", "0"), ("foo", "bar")],
    );
    assert_eq!(data, big);
    assert_eq!(
        oack.unwrap(),
        b"\x00\x06blksize\x001432\x00tsize\x00100000\x00"
    );
}

#[test]
fn refuses_writes_and_paths_outside_the_root() {
    let server = Server::start("refuse", &[("a.txt", b"a")], &[]);
    let s = client();
    let mut wrq = rrq("a.txt", "octet", &[]);
    wrq[1] = 2;
    s.send_to(&wrq, server.addr).unwrap();
    assert_eq!(error_code(&recv(&s).0), 2, "WRQ: access violation");
    for (file, code) in [
        ("../secret", 2),
        ("/etc/passwd", 2),
        ("escape", 2),
        ("missing", 1),
    ] {
        s.send_to(&rrq(file, "octet", &[]), server.addr).unwrap();
        assert_eq!(error_code(&recv(&s).0), code, "{file}");
    }
    // An ACK to the well-known port belongs to no transfer.
    s.send_to(&ack(1), server.addr).unwrap();
    assert_eq!(error_code(&recv(&s).0), 5);
    assert!(server.dir.0.join("secret").exists());
}

#[test]
fn retransmits_ignores_duplicate_acks_and_answers_strays() {
    let content = pattern(1500);
    let server = Server::start("retransmit", &[("f", &content)], &["--timeout", "1"]);
    let s = client();
    s.send_to(&rrq("f", "octet", &[]), server.addr).unwrap();
    let (first, tid) = recv(&s);
    assert_eq!(block(&first), 1);
    // No ACK: the same block comes again after the timeout.
    let started = Instant::now();
    let (again, _) = recv(&s);
    assert_eq!(again, first);
    assert!(started.elapsed() >= Duration::from_millis(500));
    // A stranger writing to the transfer's port gets ERROR 5; the transfer goes on.
    let stranger = client();
    stranger.send_to(&ack(1), tid).unwrap();
    assert_eq!(error_code(&recv(&stranger).0), 5);
    s.send_to(&ack(1), tid).unwrap();
    let (second, _) = recv(&s);
    assert_eq!(block(&second), 2);
    // A duplicate ACK 1 must not make the server send block 2 again right away.
    s.send_to(&ack(1), tid).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    let mut buf = [0u8; 1024];
    assert!(
        s.recv_from(&mut buf).is_err(),
        "no answer to a duplicate ACK"
    );
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.send_to(&ack(2), tid).unwrap();
    let (third, _) = recv(&s);
    assert_eq!((block(&third), third.len() - 4), (3, 1500 - 1024));
    s.send_to(&ack(3), tid).unwrap();
}

#[test]
fn limits_concurrent_transfers() {
    let server = Server::start("busy", &[("f", &[1u8; 2000])], &["--max-transfers", "1"]);
    let first = client();
    first.send_to(&rrq("f", "octet", &[]), server.addr).unwrap();
    assert_eq!(opcode(&recv(&first).0), 3);
    let second = client();
    second
        .send_to(&rrq("f", "octet", &[]), server.addr)
        .unwrap();
    assert_eq!(error_code(&recv(&second).0), 0, "server busy");
}

#[test]
fn block_numbers_wrap_over_real_udp() {
    // 65536 + 100 blocks of 8 bytes: block 65535 is followed by block 0.
    let content = pattern((65_536 + 100) * 8 + 5);
    let server = Server::start("wrap", &[("w", &content)], &[]);
    let (data, _) = download(server.addr, "w", &[("blksize", "8")]);
    assert_eq!(data.len(), content.len());
    assert!(data == content);
}

#[test]
fn stops_on_sigterm() {
    let mut server = Server::start("sigterm", &[], &[]);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `tool` runs; prints why a test is skipped if not.
fn have(tool: &str, test: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("skipping {test}: `{tool}` is not installed");
    }
    found
}

#[test]
fn curl_downloads_with_blksize_and_tsize() {
    if !have("curl", "curl_downloads_with_blksize_and_tsize") {
        return;
    }
    let content = pattern(300_000);
    let server = Server::start("curl", &[("dir/x.bin", &content)], &[]);
    let out = server.dir.0.join("curl.out");
    for blksize in ["512", "1432", "8192"] {
        let _ = std::fs::remove_file(&out);
        let status = Command::new("curl")
            .args([
                "-s",
                "-S",
                "--max-time",
                "30",
                "--tftp-blksize",
                blksize,
                "-o",
            ])
            .arg(&out)
            .arg(format!("tftp://{}/dir/x.bin", server.addr))
            .status()
            .unwrap();
        assert!(status.success(), "curl blksize {blksize}: {status}");
        assert!(std::fs::read(&out).unwrap() == content, "blksize {blksize}");
    }
    // A missing file is an error for curl too.
    let status = Command::new("curl")
        .args(["-s", "--max-time", "10", "-o", "/dev/null"])
        .arg(format!("tftp://{}/nope", server.addr))
        .status()
        .unwrap();
    assert!(!status.success());
}

#[test]
fn tftp_hpa_downloads_binary_and_netascii() {
    // tftp-hpa's client has no --version; `-V` prints its version and exits 0.
    let found = Command::new("tftp")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!(
            "skipping tftp_hpa_downloads_binary_and_netascii: `tftp` (tftp-hpa) is not installed"
        );
        return;
    }
    let binary = pattern(70_000);
    let text = b"#!ipxe\r\nbare\rcr\nline\n".to_vec();
    let server = Server::start("hpa", &[("b.bin", &binary), ("t.txt", &text)], &[]);
    let get = |mode: &str, remote: &str, local: &Path| {
        let out = Command::new("tftp")
            .args([
                "-m",
                mode,
                "127.0.0.1",
                &server.addr.port().to_string(),
                "-c",
                "get",
                remote,
            ])
            .arg(local)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        // tftp-hpa exits 0 even on errors; it prints them.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        (stdout.into_owned() + &stderr, std::fs::read(local).ok())
    };
    let out = server.dir.0.join("b.out");
    let (msg, got) = get("binary", "b.bin", &out);
    assert_eq!(got.as_deref(), Some(&binary[..]), "{msg}");
    // netascii: the server converts to CR LF / CR NUL and the client converts back.
    let out = server.dir.0.join("t.out");
    let (msg, got) = get("ascii", "t.txt", &out);
    assert_eq!(got.as_deref(), Some(&text[..]), "{msg}");
    let out = server.dir.0.join("e.out");
    let (msg, _) = get("binary", "../secret", &out);
    assert!(msg.contains("Error code 2"), "{msg}");
}

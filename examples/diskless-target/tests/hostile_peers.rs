//! Hostile peers against the real `serve` binary over TCP: a malformed PDU, non-login PDUs
//! during login, over-long data segments (one announcing 16 MiB - 1 with a few bytes sent), an
//! unknown opcode, a connection dropped in the middle of a WRITE, and a login from an initiator
//! the target's ACL refuses. Each gets the answer of RFC 7143 (a Reject, a login failure, or the
//! connection closed) on its own connection, while a session logged in before them all keeps
//! reading back exactly what it wrote and answering pings, and the server neither exits nor
//! panics. A TARGET COLD RESET (§11.5.1) closes every connection to that target and leaves the
//! other client's target alone. A client that stops reading and logs in again with the same ISID
//! (session reinstatement, §6.3.5) has its old session ended, reservation and all, before the new
//! login is answered, and the old connection's end does not touch what the new session took.
//! With `[session] nop_in_interval` set, an initiator that does not answer the target's pings is
//! dropped, and one that answers is kept. Persistent reservations taken with APTPL survive the
//! server being killed and started again; without APTPL they do not.
//!
//! The initiator here is a few lines over a blocking [`TcpStream`], with PDUs built and parsed by
//! `iscsi-pdu`, as the engine's own tests do in `crates/iscsi-target/tests/common`.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

mod common;

use common::TempDir;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use iscsi_pdu::{
    Cid, DataOut, Digests, Framed, Framer, FramerConfig, Isid, Itt, LoginRequest, LoginResponse,
    LoginStatus, Lun, NopOut, Pdu, RejectReason, ScsiCommand, ScsiStatus, SerialNumber, Stage,
    TaskAttribute, TaskMgmtRequest, TextPairs, TextRequest, TmfFunction, TmfResponse, Tsih, Ttt,
};

const TARGET_A: &str = "iqn.2026-12.org.diskless-target:hostile-a";
const TARGET_B: &str = "iqn.2026-12.org.diskless-target:hostile-b";
const INITIATOR_A: &str = "iqn.2026-12.org.example:initiator-a";
const INITIATOR_B: &str = "iqn.2026-12.org.example:initiator-b";

/// How long any one answer may take.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How soon a connection the server must drop is closed.
const CLOSE_WITHIN: Duration = Duration::from_secs(3);

/// `serve --config` with two clients (targets A and B, one dynamic VHD LUN each), killed on
/// drop; its stderr goes to a file in `dir`.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        Server::start_with(dir, "")
    }

    /// `start` with `tables` (TOML, e.g. a `[session]` table) before the clients.
    fn start_with(dir: &Path, tables: &str) -> Server {
        let bin = env!("CARGO_BIN_EXE_diskless-target");
        for disk in ["a.vhd", "b.vhd"] {
            if dir.join(disk).exists() {
                continue; // a restart over the same disks
            }
            let out = Command::new(bin)
                .args(["vhd", "create", "--type", "dynamic"])
                .arg(dir.join(disk))
                .arg("4M")
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        }
        let mut toml = format!("listen = \"127.0.0.1:0\"\n{tables}");
        for (name, target, initiator) in
            [("a", TARGET_A, INITIATOR_A), ("b", TARGET_B, INITIATOR_B)]
        {
            toml += &format!(
                "[[client]]\nname = \"{name}\"\ntarget = \"{target}\"\n\
                 initiators = [\"{initiator}\"]\n\
                 [[client.lun]]\nid = 0\npath = \"{name}.vhd\"\n"
            );
        }
        let config = dir.join("serve.toml");
        std::fs::write(&config, toml).unwrap();
        let log = dir.join("serve.stderr");
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let addr = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            // "diskless-target: serving N target(s) on ADDR"
            if let Some(line) = text.lines().find(|l| l.contains(" target(s) on ")) {
                break line.rsplit(' ').next().unwrap().parse().unwrap();
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server ended early ({status}): {text}");
            }
            assert!(
                start.elapsed() < IO_TIMEOUT,
                "the server did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Server { child, addr, log }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// The server still runs and has not panicked.
    fn assert_alive(&mut self) {
        let log = self.stderr();
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the server exited: {log}"
        );
        assert!(!log.contains("panicked"), "{log}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the next read from the server gave.
#[derive(Debug)]
enum Next {
    Pdu(Pdu),
    /// End of stream, or the connection reset.
    Closed,
    TimedOut,
}

/// A minimal blocking initiator: one connection, one session, no digests.
struct Client {
    stream: TcpStream,
    input: BytesMut,
    framer: Framer,
    isid: Isid,
    cmd_sn: SerialNumber,
    exp_stat_sn: SerialNumber,
    next_itt: u32,
    /// The MaxRecvDataSegmentLength the target declared at login.
    target_mrdsl: u32,
}

impl Client {
    /// Connects with ISID qualifier `n` (sessions of one initiator to one target differ by it).
    fn connect(addr: SocketAddr, n: u8) -> Client {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            input: BytesMut::new(),
            // We declare nothing, so the target sends at most the RFC default of 8192 bytes.
            framer: Framer::new(FramerConfig::default()),
            isid: Isid([0x80, 0x12, 0x34, 0x56, 0, n]),
            cmd_sn: SerialNumber(1),
            exp_stat_sn: SerialNumber(0),
            next_itt: 0,
            target_mrdsl: 8192,
        }
    }

    fn itt(&mut self) -> Itt {
        self.next_itt += 1;
        Itt(self.next_itt)
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn send(&mut self, pdu: Pdu) {
        let bytes = pdu.to_bytes(Digests::NONE).unwrap();
        self.send_raw(&bytes);
    }

    fn next(&mut self) -> Next {
        loop {
            match self.framer.decode(&mut self.input) {
                Ok(Framed::Pdu(pdu)) => {
                    if let Some(sn) = stat_sn(&pdu) {
                        self.exp_stat_sn = sn.next();
                    }
                    return Next::Pdu(pdu);
                }
                Ok(Framed::NeedMore(_)) => {}
                other => panic!("the server sent a PDU that does not parse: {other:?}"),
            }
            let mut buf = [0u8; 16 << 10];
            match self.stream.read(&mut buf) {
                Ok(0) => return Next::Closed,
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Next::TimedOut;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Next::Closed, // reset or aborted
            }
        }
    }

    /// The next PDU; panics if the connection closes or nothing comes in time.
    fn recv(&mut self) -> Pdu {
        match self.next() {
            Next::Pdu(pdu) => pdu,
            other => panic!("expected a PDU, got {other:?}"),
        }
    }

    /// Waits (at most [`CLOSE_WITHIN`]) for the server to close the connection; returns what
    /// it sent before.
    fn expect_closed(&mut self, what: &str) -> Vec<Pdu> {
        let start = Instant::now();
        self.stream.set_read_timeout(Some(CLOSE_WITHIN)).unwrap();
        let mut got = Vec::new();
        loop {
            match self.next() {
                Next::Pdu(pdu) => got.push(pdu),
                Next::Closed => break,
                Next::TimedOut => panic!("{what}: still open after {CLOSE_WITHIN:?}; got {got:?}"),
            }
            assert!(
                start.elapsed() < CLOSE_WITHIN,
                "{what}: still open after {CLOSE_WITHIN:?}; got {got:?}"
            );
        }
        got
    }

    /// A one-step login from the operational stage to the full feature phase.
    fn login_request(&self, initiator: &str, target: &str) -> LoginRequest {
        LoginRequest {
            transit: true,
            continue_bit: false,
            csg: Stage::LoginOperationalNegotiation,
            nsg: Stage::FullFeaturePhase,
            version_max: 0,
            version_min: 0,
            isid: self.isid,
            tsih: Tsih(0),
            itt: Itt(0),
            cid: Cid(1),
            cmd_sn: self.cmd_sn,
            exp_stat_sn: SerialNumber(0),
            data: Bytes::from(format!(
                "InitiatorName={initiator}\0TargetName={target}\0SessionType=Normal\0"
            )),
        }
    }

    fn login(&mut self, initiator: &str, target: &str) -> LoginResponse {
        let req = self.login_request(initiator, target);
        self.send(Pdu::LoginRequest(req));
        match self.recv() {
            Pdu::LoginResponse(r) => r,
            other => panic!("expected a Login Response, got {other:?}"),
        }
    }

    /// Logs in and clears the new nexus's unit attention (29h/00h).
    fn logged_in(addr: SocketAddr, n: u8, initiator: &str, target: &str) -> Client {
        let mut c = Client::connect(addr, n);
        let rsp = c.login(initiator, target);
        assert!(rsp.status.is_success(), "login failed: {:?}", rsp.status);
        assert!(rsp.transit && rsp.nsg == Stage::FullFeaturePhase, "{rsp:?}");
        let keys = TextPairs::parse(&rsp.data).unwrap();
        c.target_mrdsl = keys
            .get("MaxRecvDataSegmentLength")
            .unwrap()
            .parse()
            .unwrap();
        c.cmd_sn = rsp.exp_cmd_sn;
        let mut status = ScsiStatus::CHECK_CONDITION;
        for _ in 0..3 {
            status = c.scsi(&[0; 6], 0, false, Bytes::new()).0;
            if status == ScsiStatus::GOOD {
                break;
            }
        }
        assert_eq!(status, ScsiStatus::GOOD, "TEST UNIT READY");
        c
    }

    /// A SCSI Command on LUN 0 with the next ITT and CmdSN.
    fn command(&mut self, cdb: &[u8], edtl: u32, read: bool, data: Bytes) -> ScsiCommand {
        let mut full = [0u8; 16];
        full[..cdb.len()].copy_from_slice(cdb);
        let cmd_sn = self.cmd_sn;
        self.cmd_sn = cmd_sn.next();
        ScsiCommand {
            immediate: false,
            final_bit: true,
            read,
            write: !read && edtl > 0,
            attr: TaskAttribute::Simple,
            lun: Lun::ZERO,
            itt: self.itt(),
            expected_data_length: edtl,
            cmd_sn,
            exp_stat_sn: self.exp_stat_sn,
            cdb: full,
            ahs: Vec::new(),
            data,
        }
    }

    /// Runs a command to its status; returns the status and the data read.
    fn scsi(&mut self, cdb: &[u8], edtl: u32, read: bool, data: Bytes) -> (ScsiStatus, Vec<u8>) {
        let cmd = self.command(cdb, edtl, read, data);
        let itt = cmd.itt;
        self.send(Pdu::ScsiCommand(cmd));
        let mut buf = vec![0u8; if read { edtl as usize } else { 0 }];
        loop {
            match self.recv() {
                Pdu::DataIn(d) if d.itt == itt => {
                    let at = d.buffer_offset as usize;
                    buf[at..at + d.data.len()].copy_from_slice(&d.data);
                    if let Some(status) = d.status {
                        return (status, buf);
                    }
                }
                Pdu::ScsiResponse(r) if r.itt == itt => return (r.status, buf),
                other => panic!("unexpected answer to {itt:?}: {other:?}"),
            }
        }
    }

    /// WRITE(10) of `data` (whole blocks, sent as immediate data) at `lba`.
    fn write10(&mut self, lba: u32, data: &[u8]) {
        let cdb = cdb10(0x2a, lba, data.len() / 512);
        let (status, _) = self.scsi(&cdb, data.len() as u32, false, Bytes::copy_from_slice(data));
        assert_eq!(status, ScsiStatus::GOOD, "WRITE(10)");
    }

    /// READ(10) of `blocks` blocks at `lba`.
    fn read10(&mut self, lba: u32, blocks: usize) -> Vec<u8> {
        let cdb = cdb10(0x28, lba, blocks);
        let (status, data) = self.scsi(&cdb, (blocks * 512) as u32, true, Bytes::new());
        assert_eq!(status, ScsiStatus::GOOD, "READ(10)");
        data
    }

    /// A NOP-Out ping; the NOP-In must echo its tag and data.
    fn ping(&mut self) {
        let itt = self.itt();
        self.send(Pdu::NopOut(NopOut {
            immediate: true,
            lun: Lun::ZERO,
            itt,
            ttt: Ttt::RESERVED,
            cmd_sn: self.cmd_sn,
            exp_stat_sn: self.exp_stat_sn,
            data: Bytes::from_static(b"ping"),
        }));
        match self.recv() {
            Pdu::NopIn(n) => {
                assert_eq!(n.itt, itt);
                assert_eq!(&n.data[..], b"ping");
            }
            other => panic!("expected a NOP-In, got {other:?}"),
        }
    }

    /// The next PDU must be a Reject for `reason` carrying `header`.
    fn expect_reject(&mut self, reason: RejectReason, header: &[u8]) {
        match self.recv() {
            Pdu::Reject(r) => {
                assert_eq!(r.reason, reason);
                assert_eq!(&r.data[..], &header[..48], "a Reject returns the header");
            }
            other => panic!("expected a Reject, got {other:?}"),
        }
    }
}

/// The StatSN a PDU carries, for those that advance it.
fn stat_sn(pdu: &Pdu) -> Option<SerialNumber> {
    match pdu {
        Pdu::LoginResponse(r) => Some(r.stat_sn),
        Pdu::ScsiResponse(r) => Some(r.stat_sn),
        Pdu::DataIn(d) if d.status.is_some() => Some(d.stat_sn),
        Pdu::NopIn(n) if !n.itt.is_reserved() => Some(n.stat_sn),
        Pdu::TaskMgmtResponse(r) => Some(r.stat_sn),
        Pdu::Reject(r) => Some(r.stat_sn),
        _ => None,
    }
}

/// `answers` is exactly one Login Response failing with `status` for the PDU tagged `itt`.
fn assert_login_failure(answers: &[Pdu], status: LoginStatus, itt: Itt) {
    let [Pdu::LoginResponse(r)] = answers else {
        panic!("expected one Login Response, got {answers:?}")
    };
    assert_eq!((r.status, r.itt), (status, itt), "{r:?}");
    assert!(!r.transit, "{r:?}");
}

/// A 10-byte READ or WRITE CDB.
fn cdb10(opcode: u8, lba: u32, blocks: usize) -> [u8; 10] {
    let [a, b, c, d] = lba.to_be_bytes();
    let [hi, lo] = u16::try_from(blocks).unwrap().to_be_bytes();
    [opcode, 0, a, b, c, d, 0, hi, lo, 0]
}

/// `blocks` blocks of a recognisable pattern.
fn pattern(seed: u8, blocks: usize) -> Vec<u8> {
    (0..blocks * 512).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// Sets the 24-bit DataSegmentLength of an encoded PDU.
fn set_data_segment_length(bytes: &mut [u8], len: u32) {
    bytes[5..8].copy_from_slice(&len.to_be_bytes()[1..]);
}

const GOOD_BLOCKS: usize = 8;

/// The good session still reads back its pattern and answers a ping.
fn assert_good(good: &mut Client, expected: &[u8], after: &str) {
    let data = good.read10(0, GOOD_BLOCKS);
    assert!(
        data == expected,
        "after {after}: the good session's data changed"
    );
    good.ping();
}

#[test]
fn hostile_connections_get_the_rfc_answer_and_other_sessions_carry_on() {
    let tmp = TempDir::new("hostile-it", "peers");
    let mut server = Server::start(&tmp.0);
    let addr = server.addr;

    let mut good = Client::logged_in(addr, 1, INITIATOR_A, TARGET_A);
    let expected = pattern(0xa5, GOOD_BLOCKS);
    good.write10(0, &expected);
    assert_good(&mut good, &expected, "login");
    let mrdsl = good.target_mrdsl;

    // 1. A malformed PDU in the full feature phase: a Text Request with F and C both set
    // (they "MUST NOT both be set", §11.10.1), on another session to the same target. Reject (§11.17) with
    // "Invalid PDU field"; the connection carries on.
    let mut h = Client::logged_in(addr, 2, INITIATOR_A, TARGET_A);
    let itt = h.itt();
    let text = Pdu::TextRequest(TextRequest {
        immediate: true,
        final_bit: true,
        continue_bit: false,
        lun: Lun::ZERO,
        itt,
        ttt: Ttt::RESERVED,
        cmd_sn: h.cmd_sn,
        exp_stat_sn: h.exp_stat_sn,
        data: Bytes::from_static(b"SendTargets=All\0"),
    });
    let mut bytes = text.to_bytes(Digests::NONE).unwrap();
    bytes[1] |= 0x40; // C
    h.send_raw(&bytes);
    h.expect_reject(RejectReason::InvalidPduField, &bytes);
    h.ping();
    let _ = h.read10(0, 1);
    drop(h);
    assert_good(&mut good, &expected, "a malformed PDU");

    // 2. A non-login PDU first: the login fails with 2/11 "invalid during login" (§11.13.5)
    // and the connection closes. A SCSI Command, a NOP-Out, and a NOP-Out in mid-login.
    let mut h = Client::connect(addr, 3);
    let cmd = h.command(&cdb10(0x28, 0, 1), 512, true, Bytes::new());
    h.send(Pdu::ScsiCommand(cmd));
    let answers = h.expect_closed("a SCSI Command before login");
    assert_login_failure(&answers, LoginStatus::INVALID_DURING_LOGIN, Itt(1));
    let mut h = Client::connect(addr, 4);
    let nop = NopOut {
        immediate: true,
        lun: Lun::ZERO,
        itt: Itt(7),
        ttt: Ttt::RESERVED,
        cmd_sn: SerialNumber(1),
        exp_stat_sn: SerialNumber(0),
        data: Bytes::new(),
    };
    h.send(Pdu::NopOut(nop.clone()));
    let answers = h.expect_closed("a NOP-Out before login");
    assert_login_failure(&answers, LoginStatus::INVALID_DURING_LOGIN, Itt(7));
    let mut h = Client::connect(addr, 5);
    let mut first = h.login_request(INITIATOR_B, TARGET_B);
    first.transit = false; // stay in the operational stage
    first.nsg = Stage::LoginOperationalNegotiation;
    h.send(Pdu::LoginRequest(first));
    assert!(matches!(h.recv(), Pdu::LoginResponse(r) if r.status.is_success()));
    h.send(Pdu::NopOut(nop));
    let answers = h.expect_closed("a NOP-Out in mid-login");
    assert_login_failure(&answers, LoginStatus::INVALID_DURING_LOGIN, Itt(7));
    assert_good(&mut good, &expected, "non-login PDUs during login");

    // 3. Data segments longer than the target's MaxRecvDataSegmentLength: the stream cannot be
    // framed safely, so the connection closes at once, with no answer and without buffering
    // what the header announced.
    assert_eq!(mrdsl, 262_144, "the engine's default declaration");
    let mut h = Client::logged_in(addr, 1, INITIATOR_B, TARGET_B);
    let data_out = Pdu::DataOut(DataOut {
        final_bit: true,
        lun: Lun::ZERO,
        itt: Itt(0x99),
        ttt: Ttt(1),
        exp_stat_sn: h.exp_stat_sn,
        data_sn: SerialNumber(0),
        buffer_offset: 0,
        data: Bytes::from(vec![0x11; 512]),
    });
    let mut bytes = data_out.to_bytes(Digests::NONE).unwrap();
    set_data_segment_length(&mut bytes, mrdsl + 1);
    h.send_raw(&bytes);
    let answers = h.expect_closed("a Data-Out one byte over MaxRecvDataSegmentLength");
    assert!(answers.is_empty(), "{answers:?}");

    let mut h = Client::logged_in(addr, 6, INITIATOR_A, TARGET_A);
    let cmd = h.command(
        &cdb10(0x2a, 0, 8),
        4096,
        false,
        Bytes::from(vec![0x22; 100]),
    );
    let mut bytes = Pdu::ScsiCommand(cmd).to_bytes(Digests::NONE).unwrap();
    set_data_segment_length(&mut bytes, (1 << 24) - 1);
    let sent = Instant::now();
    h.send_raw(&bytes);
    let answers = h.expect_closed("a SCSI Command announcing 16 MiB - 1 of data");
    assert!(answers.is_empty(), "{answers:?}");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "the server waited for the announced data: {:?}",
        sent.elapsed()
    );

    // During login the limit is the RFC default, 8192 bytes.
    let mut h = Client::connect(addr, 7);
    let login = h.login_request(INITIATOR_B, TARGET_B);
    let mut bytes = Pdu::LoginRequest(login).to_bytes(Digests::NONE).unwrap();
    set_data_segment_length(&mut bytes, 65_536);
    h.send_raw(&bytes);
    let answers = h.expect_closed("a Login Request announcing 64 KiB of text");
    assert!(answers.is_empty(), "{answers:?}");
    assert_good(&mut good, &expected, "over-long data segments");

    // 4. An unknown opcode: Reject "command not supported" (§11.17.1); the connection carries
    // on.
    let mut h = Client::logged_in(addr, 2, INITIATOR_B, TARGET_B);
    let mut bytes = [0u8; 48];
    bytes[0] = 0x1f; // an initiator opcode RFC 7143 does not define
    bytes[16..20].copy_from_slice(&0x1234_u32.to_be_bytes());
    h.send_raw(&bytes);
    h.expect_reject(RejectReason::CommandNotSupported, &bytes);
    h.ping();
    drop(h);
    assert_good(&mut good, &expected, "an unknown opcode");

    // 5. A WRITE(10) over the good session's blocks whose data never all arrives: the R2T is
    // answered with one block of its eight, then the connection is dropped. Nothing of it may
    // reach the disk.
    let mut h = Client::logged_in(addr, 8, INITIATOR_A, TARGET_A);
    let cmd = h.command(&cdb10(0x2a, 0, GOOD_BLOCKS), 4096, false, Bytes::new());
    let itt = cmd.itt;
    h.send(Pdu::ScsiCommand(cmd));
    let r2t = match h.recv() {
        Pdu::ReadyToTransfer(r) => r,
        other => panic!("expected an R2T, got {other:?}"),
    };
    assert_eq!(
        (r2t.itt, r2t.buffer_offset, r2t.desired_length),
        (itt, 0, 4096)
    );
    h.send(Pdu::DataOut(DataOut {
        final_bit: false,
        lun: Lun::ZERO,
        itt,
        ttt: r2t.ttt,
        exp_stat_sn: h.exp_stat_sn,
        data_sn: SerialNumber(0),
        buffer_offset: 0,
        data: Bytes::from(vec![0xee; 512]),
    }));
    // The target waits for the rest: no status for a half-received WRITE.
    h.stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(matches!(h.next(), Next::TimedOut), "the WRITE ended early");
    let _ = h.stream.shutdown(std::net::Shutdown::Both);
    drop(h);
    assert_good(&mut good, &expected, "a connection dropped mid-WRITE");

    // 6. The ACL: client B's initiator may not log in to client A's target: 2/2 "authorization
    // failure" (§11.13.5), at once, and the connection closes.
    let mut h = Client::connect(addr, 9);
    let sent = Instant::now();
    let rsp = h.login(INITIATOR_B, TARGET_A);
    assert_eq!(rsp.status, LoginStatus::AUTHORIZATION_FAILURE);
    assert_eq!(rsp.status.class(), 2);
    assert!(sent.elapsed() < Duration::from_secs(2));
    let rest = h.expect_closed("a refused login");
    assert!(rest.is_empty(), "{rest:?}");
    assert_good(&mut good, &expected, "a refused login");
    // The admin's log says who was refused where, and why.
    let log = server.stderr();
    assert!(
        log.lines().any(|l| l.contains("login refused (2/2, ")
            && l.contains(&format!("initiator `{INITIATOR_B}`, target `{TARGET_A}`"))),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "`{INITIATOR_A}` logged in to {TARGET_A} (client a)"
        )),
        "{log}"
    );
    // And which sessions ended without a logout (the connection dropped mid-WRITE, 5.).
    let start = Instant::now();
    while !server
        .stderr()
        .contains("connection closed by the initiator without a logout")
    {
        assert!(start.elapsed() < IO_TIMEOUT, "{}", server.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }

    // The good session is the same TCP connection throughout, and the server lives on.
    let data = good.read10(0, GOOD_BLOCKS);
    assert!(data == expected);
    server.assert_alive();
}

#[test]
fn target_cold_reset_closes_every_connection_to_that_target_only() {
    let tmp = TempDir::new("hostile-it", "cold-reset");
    let mut server = Server::start(&tmp.0);
    let addr = server.addr;

    let mut a1 = Client::logged_in(addr, 1, INITIATOR_A, TARGET_A);
    let mut a2 = Client::logged_in(addr, 2, INITIATOR_A, TARGET_A);
    let mut b = Client::logged_in(addr, 1, INITIATOR_B, TARGET_B);
    let expected = pattern(0x5b, GOOD_BLOCKS);
    b.write10(0, &expected);
    a2.ping();

    // TARGET COLD RESET on a1: after answering, the target closes all of its TCP connections,
    // ending every session to it (§11.5.1). Each client here is its own iSCSI target.
    let itt = a1.itt();
    a1.send(Pdu::TaskMgmtRequest(TaskMgmtRequest {
        immediate: true,
        function: TmfFunction::TargetColdReset,
        lun: Lun::ZERO,
        itt,
        referenced_task_tag: Itt::RESERVED,
        cmd_sn: a1.cmd_sn,
        exp_stat_sn: a1.exp_stat_sn,
        ref_cmd_sn: SerialNumber(0),
        exp_data_sn: SerialNumber(0),
    }));
    let answers = a1.expect_closed("the connection that asked for the cold reset");
    assert!(
        matches!(
            answers.as_slice(),
            [Pdu::TaskMgmtResponse(r)] if r.itt == itt && r.response == TmfResponse::Complete
        ),
        "{answers:?}"
    );
    let answers = a2.expect_closed("another session to the reset target");
    assert!(
        answers.iter().all(|p| matches!(p, Pdu::AsyncMessage(_))),
        "{answers:?}"
    );

    // The other client's target is another iSCSI target: its session carries on.
    assert!(b.read10(0, GOOD_BLOCKS) == expected);
    b.ping();
    // And the reset target takes new logins.
    let mut again = Client::logged_in(addr, 3, INITIATOR_A, TARGET_A);
    again.ping();
    server.assert_alive();
}

/// RESERVE(6) on `c`; returns the status.
fn reserve6(c: &mut Client) -> ScsiStatus {
    c.scsi(&[0x16, 0, 0, 0, 0, 0], 0, false, Bytes::new()).0
}

#[test]
fn a_reinstating_login_ends_the_old_session_before_it_is_answered() {
    let tmp = TempDir::new("hostile-it", "reinstate");
    let mut server = Server::start(&tmp.0);
    let addr = server.addr;

    // A client (ISID qualifier 1) reserves its disk, then stops reading, as a machine that
    // hangs and reboots: the server's writes to it block once the socket buffers are full.
    let mut old = Client::logged_in(addr, 1, INITIATOR_A, TARGET_A);
    let mut other = Client::logged_in(addr, 2, INITIATOR_A, TARGET_A);
    assert_eq!(reserve6(&mut old), ScsiStatus::GOOD);
    assert_eq!(reserve6(&mut other), ScsiStatus::RESERVATION_CONFLICT);
    for _ in 0..64 {
        let cmd = old.command(&cdb10(0x28, 0, 512), 512 * 512, true, Bytes::new());
        old.send(Pdu::ScsiCommand(cmd));
    }
    std::thread::sleep(Duration::from_millis(300));

    // It logs in again with the same ISID: session reinstatement (RFC 7143 §6.3.5). The old
    // session ends before the new login is answered, blocked writes or not.
    let mut new = Client::connect(addr, 1);
    let asked = Instant::now();
    let rsp = new.login(INITIATOR_A, TARGET_A);
    assert!(rsp.status.is_success(), "{rsp:?}");
    assert!(asked.elapsed() < CLOSE_WITHIN, "{:?}", asked.elapsed());
    new.cmd_sn = rsp.exp_cmd_sn;
    // The old session's reservation went with its nexus...
    assert_eq!(reserve6(&mut other), ScsiStatus::GOOD);
    assert_eq!(
        other.scsi(&[0x17, 0, 0, 0, 0, 0], 0, false, Bytes::new()).0,
        ScsiStatus::GOOD,
        "RELEASE(6)"
    );
    // ...and the new session's, taken now, outlives the old connection's end.
    let mut status = ScsiStatus::CHECK_CONDITION;
    for _ in 0..3 {
        status = reserve6(&mut new);
        if status != ScsiStatus::CHECK_CONDITION {
            break;
        }
    }
    assert_eq!(status, ScsiStatus::GOOD, "RESERVE(6) on the new session");
    drop(old);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reserve6(&mut other), ScsiStatus::RESERVATION_CONFLICT);
    new.ping();
    server.assert_alive();
}

#[test]
fn with_pings_on_an_initiator_that_does_not_answer_is_dropped() {
    let tmp = TempDir::new("hostile-it", "pings");
    let mut server = Server::start_with(
        &tmp.0,
        "[session]\nnop_in_interval = 1\nresponse_timeout = 1\n",
    );
    let addr = server.addr;
    let mut silent = Client::logged_in(addr, 1, INITIATOR_A, TARGET_A);
    let mut alive = Client::logged_in(addr, 2, INITIATOR_A, TARGET_A);
    // Both get a NOP-In ping (a TTT to echo) after a second without input.
    let ping = |c: &mut Client| match c.recv() {
        Pdu::NopIn(n) if !n.ttt.is_reserved() => n,
        other => panic!("expected a NOP-In ping, got {other:?}"),
    };
    let asked = ping(&mut silent);
    assert!(asked.itt.is_reserved());
    // One answers (NOP-Out with the ping's TTT, RFC 7143 §11.18), and goes on answering.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        let n = ping(&mut alive);
        alive.send(Pdu::NopOut(NopOut {
            immediate: true,
            lun: Lun::ZERO,
            itt: Itt::RESERVED,
            ttt: n.ttt,
            cmd_sn: alive.cmd_sn,
            exp_stat_sn: alive.exp_stat_sn,
            data: Bytes::new(),
        }));
    }
    // The other does not, and is gone: its connection closed within the response timeout.
    let rest = silent.expect_closed("an initiator that ignores pings");
    assert!(rest.iter().all(|p| matches!(p, Pdu::NopIn(_))), "{rest:?}");
    alive.ping();
    assert!(alive.read10(0, 1).len() == 512);
    server.assert_alive();
    assert!(
        server.stderr().contains("connection closed: Timeout"),
        "{}",
        server.stderr()
    );
}

/// PERSISTENT RESERVE OUT `sa` with a basic parameter list: key, service action key, byte 20.
fn prout(c: &mut Client, sa: u8, kind: u8, key: u64, sa_key: u64, flags: u8) -> ScsiStatus {
    let mut list = [0u8; 24];
    list[..8].copy_from_slice(&key.to_be_bytes());
    list[8..16].copy_from_slice(&sa_key.to_be_bytes());
    list[20] = flags;
    let cdb = [0x5f, sa, kind, 0, 0, 0, 0, 0, 24, 0];
    c.scsi(&cdb, 24, false, Bytes::copy_from_slice(&list)).0
}

/// READ RESERVATION: the holder's key and the type, if a reservation is held.
fn read_reservation(c: &mut Client) -> Option<(u64, u8)> {
    let (status, d) = c.scsi(
        &[0x5e, 0x01, 0, 0, 0, 0, 0, 0, 24, 0],
        24,
        true,
        Bytes::new(),
    );
    assert_eq!(status, ScsiStatus::GOOD);
    let held = u32::from_be_bytes(d[4..8].try_into().unwrap()) >= 16;
    held.then(|| {
        (
            u64::from_be_bytes(d[8..16].try_into().unwrap()),
            d[21] & 0x0f,
        )
    })
}

#[test]
fn persistent_reservations_with_aptpl_survive_a_restart() {
    let tmp = TempDir::new("hostile-it", "aptpl");
    let saved = tmp.path("a.vhd.pr");
    let write = |c: &mut Client| {
        let block = pattern(0x3c, 1);
        c.scsi(&cdb10(0x2a, 0, 1), 512, false, Bytes::from(block)).0
    };
    {
        let mut server = Server::start(&tmp.0);
        let mut a1 = Client::logged_in(server.addr, 1, INITIATOR_A, TARGET_A);
        let mut b = Client::logged_in(server.addr, 1, INITIATOR_B, TARGET_B);
        // Client b registers without APTPL: nothing is saved for its LUN.
        assert_eq!(prout(&mut b, 0x00, 0, 0, 0xb0b, 0), ScsiStatus::GOOD);
        assert!(!tmp.path("b.vhd.pr").exists());
        // Client a registers with APTPL and takes Write Exclusive: saved before the answers.
        assert_eq!(prout(&mut a1, 0x00, 0, 0, 0xabc, 0x01), ScsiStatus::GOOD);
        assert_eq!(prout(&mut a1, 0x01, 0x01, 0xabc, 0, 0), ScsiStatus::GOOD);
        assert!(saved.exists());
        server.assert_alive();
        // Killed, not stopped: what was answered is on disk already.
    }
    let mut server = Server::start(&tmp.0);
    assert!(
        server
            .stderr()
            .contains("persistent reservations restored from"),
        "{}",
        server.stderr()
    );
    // Another session of the same initiator is another I_T nexus: it sees the reservation and
    // may not write; the nexus that holds it may.
    let mut a2 = Client::logged_in(server.addr, 2, INITIATOR_A, TARGET_A);
    assert_eq!(read_reservation(&mut a2), Some((0xabc, 0x01)));
    assert_eq!(write(&mut a2), ScsiStatus::RESERVATION_CONFLICT);
    let mut a1 = Client::logged_in(server.addr, 1, INITIATOR_A, TARGET_A);
    assert_eq!(write(&mut a1), ScsiStatus::GOOD);
    // b's registration, without APTPL, ended with the server.
    let mut b = Client::logged_in(server.addr, 1, INITIATOR_B, TARGET_B);
    assert_eq!(
        prout(&mut b, 0x00, 0, 0xb0b, 0, 0),
        ScsiStatus::RESERVATION_CONFLICT
    );
    // Re-registering without APTPL removes the saved file; the next start finds none.
    assert_eq!(prout(&mut a1, 0x00, 0, 0xabc, 0xabd, 0), ScsiStatus::GOOD);
    assert!(!saved.exists());
    server.assert_alive();
    drop(server);
    let server = Server::start(&tmp.0);
    let mut a2 = Client::logged_in(server.addr, 2, INITIATOR_A, TARGET_A);
    assert_eq!(read_reservation(&mut a2), None);
    assert_eq!(write(&mut a2), ScsiStatus::GOOD);
}

/// A second server over the same disks (the same config started twice, by mistake) must
/// not serve them: two writers would corrupt every client's disk. It stops at start, naming
/// the disk another process holds; the first server keeps serving.
#[test]
fn a_second_server_over_the_same_disks_refuses_to_start() {
    let tmp = TempDir::new("hostile-it", "two-servers");
    let server = Server::start(&tmp.0);
    let out = Command::new(env!("CARGO_BIN_EXE_diskless-target"))
        .arg("serve")
        .arg("--config")
        .arg(tmp.0.join("serve.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the second server ran: {stderr}");
    assert!(
        stderr.contains("a.vhd") && stderr.contains("locked"),
        "{stderr}"
    );
    // The first one still serves.
    Client::logged_in(server.addr, 1, INITIATOR_A, TARGET_A);
}

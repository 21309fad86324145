//! Entry point of the `session_ops` cargo-fuzz target (rustls's `internal::fuzzing` idea): a
//! [`Connection`] driven by arbitrary initiator bytes and driver actions, checking that the
//! engine never panics, that its output always frames, and that what it buffers stays bounded.
//! `tests/fuzz_corpus.rs` replays the committed seeds in `cargo test`.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use iscsi_pdu::{
    Cid, Digests, IscsiName, Isid, Itt, LoginRequest, Pdu, ScsiStatus, SerialNumber, Stage, Tsih,
};

use crate::{
    ChapCredentials, Connection, Event, InitiatorAcl, Instant, Limits, ScsiTask, SessionRegistry,
    TargetConfig, TargetNode, TaskId, TaskManagement, TaskOutcome,
};

/// The target the canned login names (also the one the captured libiscsi streams name).
pub const FUZZ_TARGET: &str = "iqn.2026-11.test.fixtures:disk";

/// Bytes of input the harness buffers at most (a partial PDU never exceeds the framer's
/// limits, so this only trims garbage the engine refused to consume).
const MAX_INPUT: usize = 64 * 1024;

/// Data-in the harness produces for a completion, at most.
const MAX_DATA_IN: usize = 16 * 1024;

/// A small configuration, so that the fuzzer reaches R2T, Data-In splitting and the window
/// edges with short inputs: an open target, a CHAP target and a hidden target.
pub fn fuzz_config() -> TargetConfig {
    let name = |s: &str| IscsiName::parse(s).ok();
    let mut targets = Vec::new();
    if let Some(n) = name(FUZZ_TARGET) {
        targets.push(TargetNode::new(n).with_initiators(InitiatorAcl::AllowAll));
    }
    if let Some(n) = name("iqn.2026-11.test.fixtures:chap") {
        targets.push(
            TargetNode::new(n)
                .with_initiators(InitiatorAcl::AllowAll)
                .with_chap(ChapCredentials::new("user", b"secret-secret"))
                .with_mutual_chap(ChapCredentials::new("target", b"target-secret")),
        );
    }
    if let Some(n) = name("iqn.2026-11.test.fixtures:hidden") {
        targets.push(TargetNode::new(n));
    }
    TargetConfig {
        portals: vec!["192.0.2.1:3260".into()],
        targets,
        limits: Limits {
            max_recv_data_segment_length: 8192,
            max_burst_length: 16_384,
            first_burst_length: 4096,
            max_outstanding_r2t: 2,
            command_window: 8,
            max_write_length: 64 * 1024,
            // Room for one 64 KiB write and some: a second one waits for its R2Ts.
            write_budget: 96 * 1024,
            nop_in_interval_secs: 5,
            response_timeout_secs: 10,
            ..Limits::default()
        },
        ..TargetConfig::default()
    }
}

/// A Login Request that takes a Normal session to [`FUZZ_TARGET`] straight to the full
/// feature phase, with immediate data, unsolicited data and a 1 KiB MaxRecvDataSegmentLength.
pub fn canned_login() -> Vec<u8> {
    let pdu = Pdu::LoginRequest(LoginRequest {
        transit: true,
        continue_bit: false,
        csg: Stage::LoginOperationalNegotiation,
        nsg: Stage::FullFeaturePhase,
        version_max: 0,
        version_min: 0,
        isid: Isid([0x80, 0, 0, 0, 0, 1]),
        tsih: Tsih(0),
        itt: Itt(0),
        cid: Cid(0),
        cmd_sn: SerialNumber(1),
        exp_stat_sn: SerialNumber(0),
        data: Bytes::from(format!(
            "InitiatorName=iqn.2010-04.org.ipxe:fuzz\0TargetName={FUZZ_TARGET}\0\
             ImmediateData=Yes\0InitialR2T=No\0MaxRecvDataSegmentLength=1024\0\
             MaxBurstLength=8192\0FirstBurstLength=4096\0"
        )),
    });
    pdu.to_bytes(Digests::NONE).unwrap_or_default()
}

/// Encodes an initiator byte stream as `session_ops` input: the stream in chunks, each
/// followed by completions of whatever tasks and task management requests are pending.
pub fn wrap_stream(stream: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in stream.chunks(255) {
        out.push(0);
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
        out.extend_from_slice(&[4, 0x10, 4, 0x03, 5]);
    }
    out
}

/// The driver side of the harness.
struct Harness {
    registry: SessionRegistry,
    config: Arc<TargetConfig>,
    conn: Connection,
    input: BytesMut,
    tasks: VecDeque<ScsiTask>,
    tmfs: VecDeque<TaskManagement>,
    closed: bool,
    now: u64,
}

impl Harness {
    fn new() -> Self {
        let registry = SessionRegistry::new();
        let config = Arc::new(fuzz_config());
        let conn = Connection::new(Arc::clone(&config), registry.clone(), [0x5a; 32]);
        Harness {
            registry,
            config,
            conn,
            input: BytesMut::new(),
            tasks: VecDeque::new(),
            tmfs: VecDeque::new(),
            closed: false,
            now: 0,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        self.conn.handle_bytes(&mut self.input);
        if self.input.len() > MAX_INPUT {
            self.input.clear();
        }
    }

    /// Takes every output, checking that each PDU is whole and that Close comes last.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(mut pdu) = self.conn.poll_transmit() {
                assert!(!self.closed, "a PDU after Event::Close");
                assert!(
                    pdu.remaining() >= iscsi_pdu::BHS_LEN,
                    "a PDU shorter than its BHS"
                );
                assert_eq!(pdu.remaining() % 4, 0, "a PDU not padded to 4 bytes");
                pdu.advance(pdu.remaining());
                progressed = true;
            }
            while let Some(event) = self.conn.poll_event() {
                assert!(!self.closed, "an event after Event::Close");
                progressed = true;
                match event {
                    Event::ScsiCommand(task) => {
                        if task.write {
                            assert_eq!(task.data_out.len(), task.expected_length as usize);
                        }
                        self.tasks.push_back(task);
                    }
                    Event::TaskManagement(tmf) => self.tmfs.push_back(tmf),
                    Event::Close { .. } => {
                        self.closed = true;
                        self.input.clear();
                    }
                    Event::LoggedIn { .. } | Event::LoggedOut { .. } => {}
                }
            }
            // Backpressure may have left whole PDUs in the input.
            if !self.closed && !self.input.is_empty() {
                let before = self.input.len();
                self.conn.handle_bytes(&mut self.input);
                progressed |= self.input.len() != before;
            }
            if !progressed {
                return;
            }
        }
    }

    fn complete(&mut self, selector: u8) {
        let Some(task) = self.tasks.pop_front() else {
            return;
        };
        let len = (usize::from(selector >> 2) * 256).min(MAX_DATA_IN);
        let data = Bytes::from(vec![selector; len]);
        let outcome = match selector & 3 {
            0 => TaskOutcome::good(data),
            1 => TaskOutcome {
                status: ScsiStatus::CHECK_CONDITION.0,
                sense: Some(Bytes::from_static(&[
                    0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24,
                ])),
                data_in: data,
                transfer_length: task.expected_length,
            },
            2 => TaskOutcome {
                transfer_length: task.expected_length.wrapping_add(512),
                ..TaskOutcome::good(data)
            },
            _ => TaskOutcome {
                transfer_length: task.expected_length,
                ..TaskOutcome::good(data)
            },
        };
        // Completing a task aborted meanwhile, or on a closed connection, is not an error the
        // harness checks; it must only not panic.
        let _ = self.conn.complete_task(task.id, outcome);
    }

    fn misc(&mut self, selector: u8) {
        match selector % 6 {
            0 => self.conn.shutdown(),
            1 => {
                let _ = self.conn.request_logout(u16::from(selector));
            }
            2 => {
                let unknown = self
                    .conn
                    .complete_task(TaskId(u64::MAX), TaskOutcome::default());
                assert!(unknown.is_err());
            }
            3 => {
                // The initiator reconnects: a new connection sharing the registry.
                self.conn = Connection::new(
                    Arc::clone(&self.config),
                    self.registry.clone(),
                    [selector; 32],
                );
                self.input.clear();
                self.tasks.clear();
                self.tmfs.clear();
                self.closed = false;
            }
            4 => {
                let _ = self.conn.framer_config();
                let _ = self.conn.session();
            }
            _ => {
                let _ = self.conn.poll_timeout();
            }
        }
    }
}

/// `session_ops`: a byte-coded list of operations on one connection (vm-virtio's function
/// lists). Each operation is a byte whose low 3 bits select:
///
/// - 0–2: feed the next `n` bytes (`n` is the following byte) to
///   [`Connection::handle_bytes`];
/// - 3: feed [`canned_login`];
/// - 4: complete the oldest SCSI task (the next byte picks status, data length, residual);
/// - 5: answer the oldest task management request with its proposed response;
/// - 6: advance the clock by the next byte in seconds and run the timers;
/// - 7: a driver action picked by the next byte (shutdown, logout request, a bogus completion,
///   reconnect with the same registry, accessors).
///
/// After each operation every output is drained. Panics only if an invariant breaks.
pub fn session_ops(data: &[u8]) {
    let mut h = Harness::new();
    let mut rest = data;
    while let [op, tail @ ..] = rest {
        rest = tail;
        let mut arg = || match rest {
            [b, tail @ ..] => {
                rest = tail;
                *b
            }
            [] => 0,
        };
        match op & 7 {
            0..=2 => {
                let n = usize::from(arg()).min(rest.len());
                let (bytes, tail) = rest.split_at(n);
                rest = tail;
                h.feed(bytes);
            }
            3 => h.feed(&canned_login()),
            4 => {
                let selector = arg();
                h.complete(selector);
            }
            5 => {
                if let Some(tmf) = h.tmfs.pop_front() {
                    let _ = h.conn.complete_task_management(tmf.id, tmf.proposed);
                }
            }
            6 => {
                h.now = h.now.saturating_add(u64::from(arg()) * 1_000_000);
                h.conn.handle_timeout(Instant(h.now));
            }
            _ => {
                let selector = arg();
                h.misc(selector);
            }
        }
        h.drain();
        assert!(h.input.len() <= MAX_INPUT);
        assert!(
            h.tasks.len() <= 64,
            "more tasks than the CmdSN window allows"
        );
    }
    drop(h);
}

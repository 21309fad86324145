//! A deterministic initiator/target pair (quinn's `tests/util.rs` idea): the test plays the
//! initiator with typed PDUs, the [`Connection`] plays the target, and a fake clock drives
//! the timers. Everything the target sends is decoded and returned.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use iscsi_pdu::text_data::TextPairs;
use iscsi_pdu::*;
use iscsi_target::*;

pub const TARGET: &str = "iqn.2026-01.com.example:disk";
pub const OTHER_TARGET: &str = "iqn.2026-01.com.example:other";
pub const CLIENT: &str = "iqn.2010-04.org.ipxe:client";
pub const OTHER_CLIENT: &str = "iqn.2010-04.org.ipxe:other";

pub fn name(s: &str) -> IscsiName {
    IscsiName::parse(s).unwrap()
}

/// Two targets, each admitting one client; optional CHAP on the first.
pub fn config(chap: Option<(&str, &[u8])>, mutual: Option<(&str, &[u8])>) -> TargetConfig {
    let mut first =
        TargetNode::new(name(TARGET)).with_initiators(InitiatorAcl::only([name(CLIENT)]));
    if let Some((user, secret)) = chap {
        first = first.with_chap(ChapCredentials::new(user, secret));
    }
    if let Some((user, secret)) = mutual {
        first = first.with_mutual_chap(ChapCredentials::new(user, secret));
    }
    first.alias = Some("disk".into());
    let second = TargetNode::new(name(OTHER_TARGET))
        .with_initiators(InitiatorAcl::only([name(OTHER_CLIENT)]));
    TargetConfig {
        portals: vec!["192.0.2.1:3260".into(), "[2001:db8::1]:3260".into()],
        targets: vec![first, second],
        ..TargetConfig::default()
    }
}

pub struct Pair {
    pub target: Connection,
    pub registry: SessionRegistry,
    pub config: Arc<TargetConfig>,
    pub now: Instant,
    pub digests: Digests,
    pub events: Vec<Event>,
    pub isid: Isid,
    pub tsih: Tsih,
    pub cmd_sn: SerialNumber,
    pub next_itt: u32,
    pub closed: Option<CloseReason>,
}

impl Pair {
    pub fn new(config: TargetConfig) -> Self {
        Self::with_registry(Arc::new(config), SessionRegistry::new())
    }

    pub fn with_registry(config: Arc<TargetConfig>, registry: SessionRegistry) -> Self {
        let target = Connection::new(Arc::clone(&config), registry.clone(), [3; 32]);
        Pair {
            target,
            registry,
            config,
            now: Instant::ZERO,
            digests: Digests::NONE,
            events: Vec::new(),
            isid: Isid([0x80, 0x12, 0x34, 0x56, 0, 1]),
            tsih: Tsih(0),
            cmd_sn: SerialNumber(1),
            next_itt: 1,
            closed: None,
        }
    }

    pub fn itt(&mut self) -> Itt {
        self.next_itt += 1;
        Itt(self.next_itt)
    }

    /// Feeds raw bytes and returns what the target answers.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Vec<Pdu> {
        let mut input = BytesMut::from(bytes);
        self.target.handle_bytes(&mut input);
        let mut out = self.drain();
        // Backpressure: feed again until everything was consumed.
        while !input.is_empty() && self.closed.is_none() {
            let before = input.len();
            self.target.handle_bytes(&mut input);
            out.extend(self.drain());
            if input.len() == before {
                break;
            }
        }
        out
    }

    /// Sends one PDU (with the session's digests) and returns the target's answers.
    pub fn send(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let bytes = pdu.to_bytes(self.digests).unwrap();
        self.send_raw(&bytes)
    }

    /// Takes every queued PDU (decoded) and event.
    pub fn drain(&mut self) -> Vec<Pdu> {
        let mut out = Vec::new();
        loop {
            let mut progressed = false;
            while let Some(mut encoded) = self.target.poll_transmit() {
                assert!(self.closed.is_none(), "PDU after Close");
                let mut wire = Vec::with_capacity(encoded.len());
                while encoded.has_remaining() {
                    let chunk = encoded.chunk();
                    wire.extend_from_slice(chunk);
                    let n = chunk.len();
                    encoded.advance(n);
                }
                // The last Login Response goes out before digests start.
                let digests = if wire[0] & 0x3f == 0x23 {
                    Digests::NONE
                } else {
                    self.digests
                };
                out.push(Pdu::parse(Bytes::from(wire), digests).expect("the target's PDU parses"));
                progressed = true;
            }
            while let Some(event) = self.target.poll_event() {
                progressed = true;
                match &event {
                    Event::LoggedIn { session, .. } => {
                        self.digests = session.params.digests();
                        self.tsih = session.tsih;
                    }
                    Event::Close { reason } => self.closed = Some(*reason),
                    _ => {}
                }
                self.events.push(event);
            }
            if !progressed {
                return out;
            }
        }
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn login_request(&self, csg: Stage, nsg: Stage, transit: bool, text: &str) -> Pdu {
        Pdu::LoginRequest(LoginRequest {
            transit,
            continue_bit: false,
            csg,
            nsg,
            version_max: 0,
            version_min: 0,
            isid: self.isid,
            tsih: self.tsih,
            itt: Itt(0),
            cid: Cid(1),
            cmd_sn: self.cmd_sn,
            exp_stat_sn: SerialNumber(0),
            data: Bytes::from(text.replace('|', "\0")),
        })
    }

    /// One login step; returns the single Login Response.
    pub fn login(&mut self, csg: Stage, nsg: Stage, transit: bool, text: &str) -> LoginResponse {
        let req = self.login_request(csg, nsg, transit, text);
        let mut answers = self.send(req);
        assert_eq!(answers.len(), 1, "{answers:?}");
        match answers.remove(0) {
            Pdu::LoginResponse(r) => r,
            other => panic!("expected a Login Response, got {other:?}"),
        }
    }

    /// A Normal session straight from the operational stage; `keys` are extra `|`-separated
    /// operational keys. Returns the session.
    pub fn login_normal(&mut self, initiator: &str, target: &str, keys: &str) -> SessionInfo {
        let rsp = self.login(
            Stage::LoginOperationalNegotiation,
            Stage::FullFeaturePhase,
            true,
            &format!("InitiatorName={initiator}|TargetName={target}|{keys}"),
        );
        assert!(rsp.status.is_success(), "login failed: {:?}", rsp.status);
        assert!(rsp.transit);
        self.logged_in()
    }

    pub fn logged_in(&mut self) -> SessionInfo {
        let events = self.take_events();
        match events.as_slice() {
            [Event::LoggedIn { session, .. }] => session.clone(),
            other => panic!("expected LoggedIn, got {other:?}"),
        }
    }

    /// A SCSI command with the next ITT and CmdSN.
    pub fn command(
        &mut self,
        cdb: &[u8],
        edtl: u32,
        read: bool,
        write: bool,
        data: Bytes,
        final_bit: bool,
    ) -> ScsiCommand {
        let mut full = [0u8; 16];
        full[..cdb.len()].copy_from_slice(cdb);
        let itt = self.itt();
        let cmd_sn = self.cmd_sn;
        self.cmd_sn = self.cmd_sn.next();
        ScsiCommand {
            immediate: false,
            final_bit,
            read,
            write,
            attr: TaskAttribute::Simple,
            lun: Lun::ZERO,
            itt,
            expected_data_length: edtl,
            cmd_sn,
            exp_stat_sn: SerialNumber(0),
            cdb: full,
            ahs: Vec::new(),
            data,
        }
    }

    /// Sends a command and returns the ScsiTask it produced (panics if none).
    pub fn expect_task(&mut self, answers: &[Pdu]) -> ScsiTask {
        assert!(
            answers.iter().all(|p| matches!(p, Pdu::ReadyToTransfer(_))),
            "unexpected answers: {answers:?}"
        );
        let events = self.take_events();
        match events.as_slice() {
            [Event::ScsiCommand(task)] => task.clone(),
            other => panic!("expected one ScsiCommand, got {other:?}"),
        }
    }

    pub fn text(&mut self, text: &str) -> Vec<Pdu> {
        let itt = self.itt();
        let pdu = Pdu::TextRequest(TextRequest {
            immediate: true,
            final_bit: true,
            continue_bit: false,
            lun: Lun::ZERO,
            itt,
            ttt: Ttt::RESERVED,
            cmd_sn: self.cmd_sn,
            exp_stat_sn: SerialNumber(0),
            data: Bytes::from(text.replace('|', "\0")),
        });
        self.send(pdu)
    }

    pub fn logout(&mut self) -> Vec<Pdu> {
        let itt = self.itt();
        let pdu = Pdu::LogoutRequest(LogoutRequest {
            immediate: true,
            reason: LogoutReason::CloseSession,
            itt,
            cid: Cid(1),
            cmd_sn: self.cmd_sn,
            exp_stat_sn: SerialNumber(0),
        });
        self.send(pdu)
    }
}

pub fn keys(data: &[u8]) -> TextPairs {
    TextPairs::parse(data).unwrap()
}

/// READ(10) of `blocks` 512-byte blocks at LBA 0.
pub fn read10(blocks: u16) -> [u8; 10] {
    let [hi, lo] = blocks.to_be_bytes();
    [0x28, 0, 0, 0, 0, 0, 0, hi, lo, 0]
}

/// WRITE(10) of `blocks` 512-byte blocks at LBA 0.
pub fn write10(blocks: u16) -> [u8; 10] {
    let [hi, lo] = blocks.to_be_bytes();
    [0x2a, 0, 0, 0, 0, 0, 0, hi, lo, 0]
}

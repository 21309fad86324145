//! # iscsi-target
//!
//! The target side of iSCSI (RFC 7143) as a sans-IO protocol engine, in the manner of
//! quinn-proto: it takes bytes (or decoded PDUs) and task completions, and returns encoded
//! PDUs and events. It never touches a socket, a clock or a file, so a tokio binary, a test
//! and a fuzzer drive it the same way. SCSI itself is the driver's business: the engine hands
//! out [`ScsiTask`]s (LUN, CDB, reassembled data-out) and takes back [`TaskOutcome`]s
//! (status, sense, data-in).
//!
//! ## Layers
//!
//! - [`TargetConfig`]: the portal group: targets ([`TargetNode`]), their initiator ACLs
//!   ([`InitiatorAcl`]), CHAP credentials ([`ChapCredentials`]) and negotiation
//!   [`Limits`]. Shared read-only (`Arc`) by every connection.
//! - [`SessionRegistry`]: the one piece of mutable multi-session state (TSIH allocation,
//!   session reinstatement by initiator + ISID + target). Clones share one table.
//! - [`Connection`]: one TCP connection and, since a session has exactly one connection
//!   (MaxConnections=1, ErrorRecoveryLevel=0), its session. Login (security and operational
//!   negotiation, CHAP MD5 one-way and mutual, ACL), discovery (SendTargets filtered by the
//!   ACL), and the full feature phase: CmdSN window and StatSN, immediate and unsolicited
//!   data, R2Ts within MaxOutstandingR2T and MaxBurstLength, Data-Out reassembly, Data-In
//!   splitting at the initiator's MaxRecvDataSegmentLength with status in the last Data-In,
//!   residual counts, NOP-In/NOP-Out, task management, text, logout.
//!
//! ## Invariants
//!
//! - No input panics the engine, and nothing it buffers is sized by a peer's length field
//!   beyond the negotiated limits ([`Limits`]); `fuzzing::session_ops` checks this. Write
//!   data a connection holds or has asked for stays within [`Limits::write_budget`], plus at
//!   most FirstBurstLength of unsolicited data per command in the CmdSN window: writes that do
//!   not fit wait, in order, for their R2Ts.
//! - Initiator protocol errors are answered on the wire (Reject, a login failure status) or
//!   end the connection ([`Event::Close`]); [`Error`] only reports misuse by the driver.
//! - Every PDU queued before [`Event::Close`] is returned by [`Connection::poll_transmit`]
//!   before the event.
//! - A successful logout's response is returned by [`Connection::poll_transmit`] only after
//!   [`Event::LoggedOut`] was polled: a driver that ends the I_T nexus while handling that
//!   event (reservations released, unit attentions dropped) has done so before the initiator
//!   learns that its session is over.
//! - Each engine sees one connection; what concerns the others (a reinstated session, a
//!   TARGET COLD RESET closing every connection to the target) is reported for the driver to
//!   do ([`Event::LoggedIn`]'s `replaces`, [`CloseReason::ColdReset`]).
//!
//! ## Example
//!
//! A Discovery login and a SendTargets, end to end:
//!
//! ```
//! use std::sync::Arc;
//! use bytes::{Buf, BytesMut};
//! use iscsi_pdu::*;
//! use iscsi_target::*;
//!
//! let client = IscsiName::parse("iqn.2010-04.org.ipxe:client1")?;
//! let config = Arc::new(TargetConfig {
//!     portals: vec!["192.0.2.1:3260".into()],
//!     targets: vec![
//!         TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:client1")?)
//!             .with_initiators(InitiatorAcl::only([client.clone()])),
//!         TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:client2")?),
//!     ],
//!     ..TargetConfig::default()
//! });
//! let registry = SessionRegistry::new();
//! let mut conn = Connection::new(config, registry, [7; 32]);
//!
//! // The initiator's side: encode requests into the connection's input buffer.
//! let mut input = BytesMut::new();
//! Pdu::LoginRequest(LoginRequest {
//!     transit: true, continue_bit: false,
//!     csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
//!     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0),
//!     itt: Itt(0), cid: Cid(0), cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
//!     data: bytes::Bytes::from_static(
//!         b"InitiatorName=iqn.2010-04.org.ipxe:client1\0SessionType=Discovery\0"),
//! })
//! .encode_into(Digests::NONE, &mut input)?;
//! Pdu::TextRequest(TextRequest {
//!     immediate: false, final_bit: true, continue_bit: false, lun: Lun::ZERO, itt: Itt(1),
//!     ttt: Ttt::RESERVED, cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
//!     data: bytes::Bytes::from_static(b"SendTargets=All\0"),
//! })
//! .encode_into(Digests::NONE, &mut input)?;
//! conn.handle_bytes(&mut input);
//!
//! // The target's answers, decoded as an initiator would.
//! let mut wire = BytesMut::new();
//! while let Some(mut pdu) = conn.poll_transmit() {
//!     while pdu.has_remaining() {
//!         wire.extend_from_slice(pdu.chunk());
//!         let n = pdu.chunk().len();
//!         pdu.advance(n);
//!     }
//! }
//! let mut framer = Framer::new(FramerConfig::default());
//! let Framed::Pdu(Pdu::LoginResponse(login)) = framer.decode(&mut wire)? else { panic!() };
//! assert!(login.status.is_success());
//! let Framed::Pdu(Pdu::TextResponse(text)) = framer.decode(&mut wire)? else { panic!() };
//! let keys = TextPairs::parse(&text.data)?;
//! // The ACL hides client2's target from client1.
//! assert_eq!(keys.get_all("TargetName").collect::<Vec<_>>(), ["iqn.2026-01.com.example:client1"]);
//! assert_eq!(keys.get("TargetAddress"), Some("192.0.2.1:3260,1"));
//! assert!(matches!(conn.poll_event(), Some(Event::LoggedIn { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Fuzzing
//!
//! [`fuzzing`] holds the entry point of the `session_ops` fuzz target, which drives a
//! connection with arbitrary PDU byte sequences and task completions.
#![forbid(unsafe_code)]

mod config;
mod connection;
mod discovery;
mod error;
mod event;
#[doc(hidden)]
pub mod fuzzing;
mod login;
mod session;
mod task;
mod time;
mod transmit;

pub use config::{ChapCredentials, InitiatorAcl, Limits, TargetConfig, TargetNode};
pub use connection::Connection;
pub use error::Error;
pub use event::{CloseReason, Event, ScsiTask, TaskManagement, TaskOutcome};
pub use login::negotiation::SessionParams;
pub use session::{Registration, SessionId, SessionInfo, SessionKind, SessionRegistry};
pub use task::TaskId;
pub use time::Instant;

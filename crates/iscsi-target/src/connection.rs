//! [`Connection`]: one iSCSI connection's state machine, from the first Login Request to the
//! Logout Response, sans-IO.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use iscsi_pdu::text_data::{TextAssembler, split_for_pdus};
use iscsi_pdu::{
    Ahs, AsyncEvent, AsyncMessage, Cid, DataOut, Digests, EncodedPdu, Framed, Framer, FramerConfig,
    Itt, LoginRequest, LoginResponse, LoginStatus, LogoutReason, LogoutRequest, LogoutResponse,
    LogoutResult, Lun, Malformed, NopIn, NopOut, Opcode, Pdu, ReadyToTransfer, Reject,
    RejectReason, Residual, ScsiCommand, ScsiResponse, ScsiStatus, SerialNumber, ServiceResponse,
    TaskMgmtRequest, TaskMgmtResponse, TextRequest, TextResponse, TmfFunction, TmfResponse, Ttt,
};

use crate::login::chap::ChallengeSource;
use crate::login::{LoginOutcome, LoginReply, LoginState, LoginStep};
use crate::task::{Command, R2tRequest, Task, TaskState, WriteBuffer};
use crate::transmit::{DataInJob, Outgoing, stamp};
use crate::{
    CloseReason, Error, Event, Instant, ScsiTask, SessionInfo, SessionKind, SessionRegistry,
    TargetConfig, TaskId, TaskManagement, TaskOutcome, discovery,
};

/// Responses waiting to be transmitted beyond which [`Connection::handle_bytes`] stops
/// decoding input (backpressure: a peer that never reads cannot make the engine queue
/// without bound).
const MAX_QUEUED_OUTPUT: usize = 256;

/// Immediate commands (which do not advance CmdSN and so are not bounded by the window) that
/// may run at once.
const MAX_IMMEDIATE_TASKS: usize = 16;

/// One iSCSI connection (and, since a session has exactly one connection, its session), as a
/// sans-IO state machine in the manner of quinn-proto's `Connection`.
///
/// # Call order
///
/// 1. Create it with [`Connection::new`] when a TCP connection is accepted, giving it the
///    shared `Arc<TargetConfig>` and a clone of the portal's [`SessionRegistry`].
/// 2. Whenever bytes arrive, append them to the connection's `BytesMut` and call
///    [`Connection::handle_bytes`]; it consumes every whole PDU (leaving a partial one).
/// 3. Then drain [`Connection::poll_transmit`] and write each [`EncodedPdu`] to the socket in
///    order (it is a [`bytes::Buf`]; its payload is a slice of the task's data), and drain
///    [`Connection::poll_event`]:
///    - [`Event::LoggedIn`]: close the connection carrying `replaces`, if any (session
///      reinstatement), and end its SCSI I_T nexus while handling the event: the new
///      session's Login Response reaches [`Connection::poll_transmit`] only once this event
///      was polled; `session` gives the initiator name and ISID for the new nexus;
///    - [`Event::ScsiCommand`]: execute it (possibly concurrently with others), then call
///      [`Connection::complete_task`] and go to 3;
///    - [`Event::TaskManagement`]: apply it to the SCSI layer, then call
///      [`Connection::complete_task_management`] and go to 3;
///    - [`Event::LoggedOut`]: end the session's SCSI I_T nexus
///      (`scsi::ScsiTarget::nexus_lost`) while handling the event;
///    - [`Event::Close`]: close the socket and drop the connection (dropping it removes its
///      session from the registry). A session that ended without [`Event::LoggedOut`] (the
///      connection dropped or failed) still has its SCSI I_T nexus: end it here, unless a
///      login reinstated the session (its [`Event::LoggedIn`] named it in `replaces`).
/// 4. If input is left over after step 3 (the engine stops decoding while a few hundred
///    answers wait to be sent), call [`Connection::handle_bytes`] again once they are
///    written, even if no new bytes arrived.
/// 5. Timers (optional): call [`Connection::handle_timeout`] at [`Connection::poll_timeout`].
///
/// Completions that arrive after the connection closed (or for tasks a task management
/// function aborted) are harmless: the first return [`Error::UnknownTask`], the second `Ok`,
/// and neither sends anything.
///
/// The connection never reads a clock, touches a socket or blocks. Protocol errors by the
/// initiator are answered on the wire (Reject, login failure) or end in [`Event::Close`]; they
/// never panic, and what the engine buffers is bounded by the negotiated limits and
/// [`Limits`](crate::Limits).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use bytes::BytesMut;
/// use iscsi_pdu::*;
/// use iscsi_target::*;
///
/// let name = IscsiName::parse("iqn.2026-01.com.example:disk")?;
/// let config = Arc::new(TargetConfig {
///     targets: vec![TargetNode::new(name).with_initiators(InitiatorAcl::AllowAll)],
///     ..TargetConfig::default()
/// });
/// let mut conn = Connection::new(config, SessionRegistry::new(), [0; 32]);
///
/// let login = Pdu::LoginRequest(LoginRequest {
///     transit: true, continue_bit: false,
///     csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
///     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0),
///     itt: Itt(1), cid: Cid(0), cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
///     data: bytes::Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:c\0\
///         TargetName=iqn.2026-01.com.example:disk\0"),
/// });
/// let mut input = BytesMut::new();
/// login.encode_into(Digests::NONE, &mut input)?;
/// conn.handle_bytes(&mut input);
///
/// let mut wire = BytesMut::new();
/// while let Some(mut pdu) = conn.poll_transmit() {
///     while bytes::Buf::has_remaining(&pdu) {
///         let chunk = bytes::Buf::chunk(&pdu).to_vec();
///         wire.extend_from_slice(&chunk);
///         bytes::Buf::advance(&mut pdu, chunk.len());
///     }
/// }
/// let Framed::Pdu(Pdu::LoginResponse(rsp)) = Framer::new(FramerConfig::default()).decode(&mut wire)? else {
///     panic!("expected a login response");
/// };
/// assert!(rsp.status.is_success() && rsp.transit);
/// assert!(matches!(conn.poll_event(), Some(Event::LoggedIn { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    config: Arc<TargetConfig>,
    registry: SessionRegistry,
    random: ChallengeSource,
    framer: Framer,
    phase: Phase,
    tx: VecDeque<Outgoing>,
    events: VecDeque<Event>,
    closing: Option<CloseReason>,
    close_reported: bool,
    /// A response that waits for the driver to see its event, queued when that event is
    /// polled: a successful Logout Response ([`Event::LoggedOut`]), and the Login Response of
    /// a login that reinstated a session ([`Event::LoggedIn`] with `replaces`), so that the
    /// old session's nexus has ended before the initiator learns it is gone.
    held_response: Option<Outgoing>,
    stat_sn: SerialNumber,
    timer: Timer,
}

#[derive(Debug)]
enum Phase {
    Login(Box<LoginState>),
    Full(Box<Session>),
}

/// Keepalive and login timers (see [`Connection::poll_timeout`]).
#[derive(Debug, Default)]
struct Timer {
    base: Option<Instant>,
    login_start: Option<Instant>,
    input_seen: bool,
    ping: Option<(Ttt, Instant)>,
}

/// A pending task management request.
#[derive(Debug)]
struct PendingTmf {
    id: TaskId,
    itt: Itt,
    function: TmfFunction,
}

/// A multi-PDU Text Response being sent (RFC 7143 §11.11: the initiator pulls each part with
/// an empty Text Request carrying our TTT).
#[derive(Debug, Default)]
struct TextExchange {
    assembler: TextAssembler,
    pending: VecDeque<Bytes>,
    ttt: Option<Ttt>,
}

/// The full feature phase state.
#[derive(Debug)]
struct Session {
    info: SessionInfo,
    cid: Cid,
    exp_cmd_sn: SerialNumber,
    /// The largest MaxCmdSN advertised (never decreases).
    max_cmd_sn: SerialNumber,
    tasks: Vec<Task>,
    tmfs: Vec<PendingTmf>,
    /// Non-immediate PDUs received ahead of ExpCmdSN, with the Data-Out that followed them.
    held: Vec<(SerialNumber, Pdu)>,
    /// CmdSNs of commands aborted before they arrived or while held (RFC 7143 §11.5.1: a
    /// task not yet received when an abort covers it counts as aborted): their turn advances
    /// ExpCmdSN without running them.
    skip: Vec<SerialNumber>,
    next_task_id: u64,
    next_ttt: u32,
    text: TextExchange,
}

impl Session {
    fn task_id(&mut self) -> TaskId {
        self.next_task_id += 1;
        TaskId(self.next_task_id)
    }

    fn ttt(&mut self) -> Ttt {
        let t = Ttt(self.next_ttt);
        self.next_ttt = self.next_ttt.wrapping_add(1);
        if self.next_ttt == u32::MAX {
            self.next_ttt = 0;
        }
        t
    }
}

/// A successful Login Response answering `req` (StatSN and the window are set when sent).
fn login_response(req: &LoginRequest, reply: LoginReply, tsih: iscsi_pdu::Tsih) -> Pdu {
    Pdu::LoginResponse(LoginResponse {
        transit: reply.transit,
        continue_bit: false,
        csg: reply.csg,
        nsg: reply.nsg,
        version_max: 0,
        version_active: 0,
        isid: req.isid,
        tsih,
        itt: req.itt,
        stat_sn: SerialNumber(0),
        exp_cmd_sn: SerialNumber(0),
        max_cmd_sn: SerialNumber(0),
        status: LoginStatus::SUCCESS,
        data: Bytes::from(reply.data),
    })
}

fn lun_number(lun: &Lun) -> u64 {
    lun.index().map_or(u64::MAX, u64::from)
}

impl Connection {
    /// A connection in the login phase.
    ///
    /// `config` is the configuration in force for this connection's lifetime; `registry` is
    /// shared by every connection of the portal group (it assigns TSIHs and detects session
    /// reinstatement); `random` must be fresh random bytes (from the OS) for the CHAP
    /// challenges. The engine trusts `config`: check it once with
    /// [`TargetConfig::validate`] before serving (a limit out of range would be negotiated
    /// as it is).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use iscsi_target::{Connection, SessionRegistry, TargetConfig};
    /// let registry = SessionRegistry::new(); // one per portal group, shared by its connections
    /// let conn = Connection::new(Arc::new(TargetConfig::default()), registry.clone(), [7; 32]);
    /// assert!(conn.session().is_none()); // in the login phase
    /// assert!(!conn.is_closing());
    /// ```
    pub fn new(config: Arc<TargetConfig>, registry: SessionRegistry, random: [u8; 32]) -> Self {
        let stat_sn = SerialNumber(u32::from_be_bytes([
            random[28], random[29], random[30], random[31],
        ]));
        let login = LoginState::new(&config);
        Connection {
            config,
            registry,
            random: ChallengeSource::new(random),
            framer: Framer::new(FramerConfig::default()),
            phase: Phase::Login(Box::new(login)),
            tx: VecDeque::new(),
            events: VecDeque::new(),
            closing: None,
            close_reported: false,
            held_response: None,
            stat_sn,
            timer: Timer::default(),
        }
    }

    /// The session, once logged in.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use bytes::Bytes;
    /// # use iscsi_pdu::*;
    /// # use iscsi_target::*;
    /// # let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?).with_initiators(InitiatorAcl::AllowAll);
    /// # let config = Arc::new(TargetConfig { targets: vec![node], ..TargetConfig::default() });
    /// # let mut conn = Connection::new(config, SessionRegistry::new(), [7; 32]);
    /// # conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
    /// #     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    /// #     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    /// #     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    /// #     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:client1\0TargetName=iqn.2026-01.com.example:disk1\0SessionType=Normal\0"),
    /// # }));
    /// # while conn.poll_transmit().is_some() {}
    /// # let Some(Event::LoggedIn { .. }) = conn.poll_event() else { return Err("login failed".into()) };
    /// let session = conn.session().ok_or("not logged in")?;
    /// assert_eq!(session.kind, SessionKind::Normal);
    /// assert_eq!(session.initiator_name.as_str(), "iqn.2010-04.org.ipxe:client1");
    /// assert_eq!(session.target_name.as_ref().map(|t| t.as_str()), Some("iqn.2026-01.com.example:disk1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session(&self) -> Option<&SessionInfo> {
        match &self.phase {
            Phase::Full(s) => Some(&s.info),
            Phase::Login(_) => None,
        }
    }

    /// Whether the connection is ending (an [`Event::Close`] is or will be reported).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use iscsi_target::{Connection, SessionRegistry, TargetConfig};
    /// let mut conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [7; 32]);
    /// assert!(!conn.is_closing());
    /// conn.shutdown();
    /// assert!(conn.is_closing());
    /// ```
    pub fn is_closing(&self) -> bool {
        self.closing.is_some()
    }

    /// The InitiatorName and TargetName of this connection's login as the initiator sent them,
    /// accepted or not (`None` until sent; TargetName is `None` in discovery sessions): what
    /// a log of a refused login names. They are the peer's bytes (at most a Login Request's
    /// text), so escape them before printing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use iscsi_target::*;
    /// let conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [0; 32]);
    /// assert_eq!(conn.login_names(), (None, None));
    /// ```
    pub fn login_names(&self) -> (Option<&str>, Option<&str>) {
        match &self.phase {
            Phase::Login(login) => login.sent_names(),
            Phase::Full(s) => (
                Some(s.info.initiator_name.as_str()),
                s.info.target_name.as_ref().map(|t| t.as_str()),
            ),
        }
    }

    /// Consumes every whole PDU at the front of `input` and handles it. A partial PDU is left
    /// for the next call. Nothing is consumed once the connection is closing, or while more
    /// than a few hundred responses wait in [`Connection::poll_transmit`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use bytes::{Bytes, BytesMut};
    /// use iscsi_pdu::*;
    /// use iscsi_target::*;
    /// let mut conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [7; 32]);
    /// let mut wire = BytesMut::new();
    /// Pdu::LoginRequest(LoginRequest {
    ///     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    ///     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    ///     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    ///     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:c\0SessionType=Discovery\0"),
    /// })
    /// .encode_into(Digests::NONE, &mut wire)?;
    /// let mut input = wire.split_to(20); // part of the header only
    /// conn.handle_bytes(&mut input);
    /// assert_eq!(input.len(), 20); // left for the next call
    /// input.unsplit(wire);
    /// conn.handle_bytes(&mut input);
    /// assert!(input.is_empty());
    /// assert!(conn.poll_transmit().is_some()); // the Login Response
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_bytes(&mut self, input: &mut BytesMut) {
        while self.closing.is_none() && self.tx.len() < MAX_QUEUED_OUTPUT {
            match self.framer.decode(input) {
                Ok(Framed::Pdu(pdu)) => self.handle_pdu(pdu),
                Ok(Framed::Malformed(m)) => self.handle_malformed(m),
                Ok(Framed::NeedMore(_)) => break,
                Err(e) => self.close(CloseReason::Framing(e)),
            }
        }
    }

    /// Handles one decoded PDU (for drivers that run their own [`Framer`]; they must apply
    /// [`Connection::framer_config`] after each call).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use bytes::Bytes;
    /// use iscsi_pdu::*;
    /// use iscsi_target::*;
    /// let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?).with_initiators(InitiatorAcl::AllowAll);
    /// let config = Arc::new(TargetConfig { targets: vec![node], ..TargetConfig::default() });
    /// let mut conn = Connection::new(config, SessionRegistry::new(), [7; 32]);
    /// conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
    ///     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    ///     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    ///     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    ///     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:client1\0TargetName=iqn.2026-01.com.example:disk1\0"),
    /// }));
    /// assert!(matches!(conn.poll_event(), Some(Event::LoggedIn { replaces: None, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_pdu(&mut self, pdu: Pdu) {
        if self.closing.is_some() {
            return;
        }
        self.timer.input_seen = true;
        match &mut self.phase {
            Phase::Login(_) => self.login_pdu(pdu),
            Phase::Full(_) => self.full_feature_pdu(pdu),
        }
    }

    /// The receive limits and digests in force (they change when login completes).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use bytes::Bytes;
    /// # use iscsi_pdu::*;
    /// # use iscsi_target::*;
    /// # let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?).with_initiators(InitiatorAcl::AllowAll);
    /// # let config = Arc::new(TargetConfig { targets: vec![node], ..TargetConfig::default() });
    /// # let mut conn = Connection::new(config, SessionRegistry::new(), [7; 32]);
    /// # conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
    /// #     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    /// #     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    /// #     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    /// #     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:client1\0TargetName=iqn.2026-01.com.example:disk1\0SessionType=Normal\0"),
    /// # }));
    /// # while conn.poll_transmit().is_some() {}
    /// # let Some(Event::LoggedIn { .. }) = conn.poll_event() else { return Err("login failed".into()) };
    /// // After login: the MaxRecvDataSegmentLength the target declared, and the digests negotiated.
    /// let framer = conn.framer_config();
    /// assert_eq!(framer.max_recv_data_segment_length, Limits::default().max_recv_data_segment_length);
    /// assert_eq!(framer.digests, Digests::NONE);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn framer_config(&self) -> FramerConfig {
        *self.framer.config()
    }

    /// The next PDU to send, encoded; `None` when nothing is queued. The data segment of a
    /// Data-In is a slice of the task's `data_in`, not a copy.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use bytes::{Buf, Bytes};
    /// use iscsi_pdu::*;
    /// use iscsi_target::*;
    /// let mut conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [7; 32]);
    /// conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
    ///     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    ///     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    ///     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    ///     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:c\0SessionType=Discovery\0"),
    /// }));
    /// let mut pdu = conn.poll_transmit().ok_or("nothing to send")?;
    /// let response = Pdu::parse(pdu.copy_to_bytes(pdu.remaining()), Digests::NONE)?;
    /// assert!(matches!(response, Pdu::LoginResponse(r) if r.status.is_success()));
    /// assert!(conn.poll_transmit().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_transmit(&mut self) -> Option<EncodedPdu> {
        loop {
            let (mut pdu, status, digests, done) = match self.tx.front_mut()? {
                Outgoing::Pdu { .. } => match self.tx.pop_front() {
                    Some(Outgoing::Pdu {
                        pdu,
                        status,
                        digests,
                    }) => (pdu, status, digests, true),
                    _ => return None,
                },
                Outgoing::DataIn(job) => {
                    let (pdu, status, done) = job.next_pdu();
                    (pdu, status, job.digests, done)
                }
            };
            if done && let Some(Outgoing::DataIn(_)) = self.tx.front() {
                self.tx.pop_front();
            }
            let (exp, max) = self.cmd_window();
            stamp(&mut pdu, self.stat_sn, exp, max);
            if status {
                self.stat_sn = self.stat_sn.next();
            }
            // Everything queued is within the encoder's limits; skip anything that is not.
            if let Ok(encoded) = pdu.encode(digests) {
                return Some(encoded);
            }
        }
    }

    /// The next event for the driver. [`Event::Close`] comes only after every queued PDU was
    /// taken with [`Connection::poll_transmit`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use bytes::Bytes;
    /// # use iscsi_pdu::*;
    /// use iscsi_target::*;
    /// let mut conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [7; 32]);
    /// # conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
    /// #     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    /// #     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    /// #     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    /// #     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:c\0SessionType=Discovery\0"),
    /// # }));
    /// // (a Discovery login was handled)
    /// conn.shutdown();
    /// assert!(matches!(conn.poll_event(), Some(Event::LoggedIn { .. })));
    /// assert_eq!(conn.poll_event(), None); // the Login Response is still queued
    /// assert!(conn.poll_transmit().is_some());
    /// assert_eq!(conn.poll_event(), Some(Event::Close { reason: CloseReason::Shutdown }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(e) = self.events.pop_front() {
            let releases = matches!(
                e,
                Event::LoggedOut { .. }
                    | Event::LoggedIn {
                        replaces: Some(_),
                        ..
                    }
            );
            if releases
                && let Some(response) = self.held_response.take()
                && !self.close_reported
            {
                self.tx.push_back(response);
            }
            return Some(e);
        }
        match self.closing {
            Some(reason) if !self.close_reported && self.tx.is_empty() => {
                self.close_reported = true;
                Some(Event::Close { reason })
            }
            _ => None,
        }
    }

    /// Reports the outcome of a task from [`Event::ScsiCommand`]: queues its Data-In PDUs and
    /// SCSI Response (status in the last Data-In when the command succeeded without sense
    /// data), with residual counts against the Expected Data Transfer Length.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use bytes::Bytes;
    /// # use iscsi_pdu::*;
    /// # use iscsi_target::*;
    /// # let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?).with_initiators(InitiatorAcl::AllowAll);
    /// # let config = Arc::new(TargetConfig { targets: vec![node], ..TargetConfig::default() });
    /// # let mut conn = Connection::new(config, SessionRegistry::new(), [7; 32]);
    /// # conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
    /// #     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    /// #     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    /// #     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    /// #     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:client1\0TargetName=iqn.2026-01.com.example:disk1\0SessionType=Normal\0"),
    /// # }));
    /// # while conn.poll_transmit().is_some() {}
    /// # let Some(Event::LoggedIn { .. }) = conn.poll_event() else { return Err("login failed".into()) };
    /// # use bytes::Buf;
    /// # fn sent(conn: &mut Connection) -> Option<Pdu> {
    /// #     let mut pdu = conn.poll_transmit()?;
    /// #     Pdu::parse(pdu.copy_to_bytes(pdu.remaining()), Digests::NONE).ok()
    /// # }
    /// conn.handle_pdu(Pdu::ScsiCommand(ScsiCommand {
    ///     read: true, expected_data_length: 512, itt: Itt(1), cmd_sn: SerialNumber(1),
    ///     cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], ..ScsiCommand::default() // READ(10)
    /// }));
    /// let Some(Event::ScsiCommand(task)) = conn.poll_event() else { return Err("no command".into()) };
    /// conn.complete_task(task.id, TaskOutcome::good(Bytes::from(vec![0xab; 512])))?;
    /// // One Data-In that carries the data and the GOOD status.
    /// let data_in = sent(&mut conn);
    /// assert!(matches!(data_in, Some(Pdu::DataIn(d)) if d.data.len() == 512 && d.status == Some(ScsiStatus::GOOD)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownTask`] if `id` is not a task waiting for completion. A task aborted by
    /// task management is not an error: its completion is silently dropped.
    pub fn complete_task(&mut self, id: TaskId, outcome: TaskOutcome) -> Result<(), Error> {
        let result = self.respond_to_task(id, outcome);
        // The task's share of the write budget is free: writes waiting for it may go on.
        self.admit_writes();
        result
    }

    /// What [`Connection::complete_task`] does for the task itself: its Data-In and response.
    fn respond_to_task(&mut self, id: TaskId, outcome: TaskOutcome) -> Result<(), Error> {
        let Phase::Full(s) = &mut self.phase else {
            return Err(Error::UnknownTask { id });
        };
        let Some(pos) = s.tasks.iter().position(|t| t.id == id) else {
            return Err(Error::UnknownTask { id });
        };
        match s.tasks[pos].state {
            TaskState::Aborted => {
                s.tasks.remove(pos);
                return Ok(());
            }
            TaskState::Executing => {}
            _ => return Err(Error::UnknownTask { id }),
        }
        let task = s.tasks.remove(pos);
        let params = s.info.params;
        let digests = params.digests();
        let mrdsl = params.initiator_max_recv_data_segment_length.max(1);
        let c = &task.command;
        let data_in_len = u32::try_from(outcome.data_in.len()).unwrap_or(u32::MAX);
        let mut bidi_residual = Residual::None;
        let (residual, data) = if c.read && c.write {
            let read_len = c.bidi_read_length.unwrap_or(0);
            bidi_residual = Residual::from_lengths(read_len, data_in_len);
            let send = data_in_len.min(read_len) as usize;
            (
                Residual::from_lengths(task.edtl, outcome.transfer_length),
                outcome.data_in.slice(..send),
            )
        } else if c.read {
            let produced = data_in_len.min(outcome.transfer_length);
            let send = produced.min(task.edtl) as usize;
            (
                Residual::from_lengths(task.edtl, produced),
                outcome.data_in.slice(..send),
            )
        } else {
            (
                Residual::from_lengths(task.edtl, outcome.transfer_length),
                Bytes::new(),
            )
        };
        let status = ScsiStatus(outcome.status);
        let collapse = c.read && !c.write && outcome.sense.is_none() && status == ScsiStatus::GOOD;
        let data_pdus = DataInJob::pdu_count(data.len(), mrdsl, params.max_burst_length);
        if !data.is_empty() {
            let job = DataInJob::new(
                task.itt,
                data,
                mrdsl,
                params.max_burst_length,
                collapse.then_some((status, residual)),
                digests,
            );
            self.tx.push_back(Outgoing::DataIn(job));
            if collapse {
                return Ok(());
            }
        }
        let sense = match outcome.sense {
            Some(sense) => {
                let max = (mrdsl as usize).saturating_sub(2).min(0xffff);
                let sense = sense.slice(..sense.len().min(max));
                let mut buf = BytesMut::with_capacity(sense.len() + 2);
                buf.extend_from_slice(&(sense.len() as u16).to_be_bytes());
                buf.extend_from_slice(&sense);
                buf.freeze()
            }
            None => Bytes::new(),
        };
        let exp_data_sn = if c.read { data_pdus } else { task.r2t_count };
        self.queue(
            Pdu::ScsiResponse(ScsiResponse {
                bidi_residual,
                residual,
                response: ServiceResponse::CommandCompleted,
                status,
                itt: task.itt,
                snack_tag: 0,
                stat_sn: SerialNumber(0),
                exp_cmd_sn: SerialNumber(0),
                max_cmd_sn: SerialNumber(0),
                exp_data_sn,
                data: sense,
            }),
            true,
        );
        Ok(())
    }

    /// Answers a request from [`Event::TaskManagement`] with `response` (usually its
    /// `proposed` response).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use bytes::Bytes;
    /// # use iscsi_pdu::*;
    /// # use iscsi_target::*;
    /// # let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?).with_initiators(InitiatorAcl::AllowAll);
    /// # let config = Arc::new(TargetConfig { targets: vec![node], ..TargetConfig::default() });
    /// # let mut conn = Connection::new(config, SessionRegistry::new(), [7; 32]);
    /// # conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
    /// #     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    /// #     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    /// #     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    /// #     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:client1\0TargetName=iqn.2026-01.com.example:disk1\0SessionType=Normal\0"),
    /// # }));
    /// # while conn.poll_transmit().is_some() {}
    /// # let Some(Event::LoggedIn { .. }) = conn.poll_event() else { return Err("login failed".into()) };
    /// # use bytes::Buf;
    /// # fn sent(conn: &mut Connection) -> Option<Pdu> {
    /// #     let mut pdu = conn.poll_transmit()?;
    /// #     Pdu::parse(pdu.copy_to_bytes(pdu.remaining()), Digests::NONE).ok()
    /// # }
    /// # conn.handle_pdu(Pdu::ScsiCommand(ScsiCommand {
    /// #     read: true, expected_data_length: 512, itt: Itt(1), cmd_sn: SerialNumber(1),
    /// #     cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], ..ScsiCommand::default()
    /// # }));
    /// # let Some(Event::ScsiCommand(task)) = conn.poll_event() else { return Err("no command".into()) };
    /// conn.handle_pdu(Pdu::TaskMgmtRequest(TaskMgmtRequest {
    ///     immediate: true, function: TmfFunction::LogicalUnitReset, lun: Lun::ZERO, itt: Itt(2),
    ///     referenced_task_tag: Itt::RESERVED, cmd_sn: SerialNumber(2), exp_stat_sn: SerialNumber(1),
    ///     ref_cmd_sn: SerialNumber(0), exp_data_sn: SerialNumber(0),
    /// }));
    /// let Some(Event::TaskManagement(tm)) = conn.poll_event() else { return Err("no TMF".into()) };
    /// conn.complete_task_management(tm.id, TmfResponse::Complete)?;
    /// assert!(matches!(sent(&mut conn), Some(Pdu::TaskMgmtResponse(r)) if r.itt == Itt(2)));
    /// // The aborted READ's completion is dropped without a response.
    /// conn.complete_task(task.id, TaskOutcome::done(512))?;
    /// assert!(sent(&mut conn).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownTask`] if `id` is not a pending task management request.
    pub fn complete_task_management(
        &mut self,
        id: TaskId,
        response: TmfResponse,
    ) -> Result<(), Error> {
        let Phase::Full(s) = &mut self.phase else {
            return Err(Error::UnknownTask { id });
        };
        let Some(pos) = s.tmfs.iter().position(|t| t.id == id) else {
            return Err(Error::UnknownTask { id });
        };
        let tmf = s.tmfs.remove(pos);
        self.queue(
            Pdu::TaskMgmtResponse(TaskMgmtResponse {
                response,
                itt: tmf.itt,
                stat_sn: SerialNumber(0),
                exp_cmd_sn: SerialNumber(0),
                max_cmd_sn: SerialNumber(0),
            }),
            true,
        );
        if tmf.function == TmfFunction::TargetColdReset && response == TmfResponse::Complete {
            self.close(CloseReason::ColdReset);
        }
        Ok(())
    }

    /// Queues an Asynchronous Message (RFC 7143 §11.9) with the given event, parameters 1–3
    /// and data (sense data with its SenseLength, for SCSI events).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use bytes::Bytes;
    /// # use iscsi_pdu::*;
    /// # use iscsi_target::*;
    /// # let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?).with_initiators(InitiatorAcl::AllowAll);
    /// # let config = Arc::new(TargetConfig { targets: vec![node], ..TargetConfig::default() });
    /// # let mut conn = Connection::new(config, SessionRegistry::new(), [7; 32]);
    /// # conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
    /// #     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    /// #     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    /// #     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    /// #     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:client1\0TargetName=iqn.2026-01.com.example:disk1\0SessionType=Normal\0"),
    /// # }));
    /// # while conn.poll_transmit().is_some() {}
    /// # let Some(Event::LoggedIn { .. }) = conn.poll_event() else { return Err("login failed".into()) };
    /// # use bytes::Buf;
    /// # fn sent(conn: &mut Connection) -> Option<Pdu> {
    /// #     let mut pdu = conn.poll_transmit()?;
    /// #     Pdu::parse(pdu.copy_to_bytes(pdu.remaining()), Digests::NONE).ok()
    /// # }
    /// // A unit attention for the initiator: SCSI event with sense data (SenseLength first).
    /// let sense = Bytes::from_static(&[0, 4, 0x70, 0, 0x06, 0]);
    /// conn.async_message(AsyncEvent::ScsiEvent, [0; 3], sense.clone())?;
    /// assert!(matches!(sent(&mut conn), Some(Pdu::AsyncMessage(m)) if m.event == AsyncEvent::ScsiEvent && m.data == sense));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`] before the full feature phase.
    pub fn async_message(
        &mut self,
        event: AsyncEvent,
        parameters: [u16; 3],
        data: Bytes,
    ) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Full(_)) || self.closing.is_some() {
            return Err(Error::NotLoggedIn);
        }
        self.queue(
            Pdu::AsyncMessage(AsyncMessage {
                lun: Lun::ZERO,
                stat_sn: SerialNumber(0),
                exp_cmd_sn: SerialNumber(0),
                max_cmd_sn: SerialNumber(0),
                event,
                vcode: 0,
                parameter1: parameters[0],
                parameter2: parameters[1],
                parameter3: parameters[2],
                data,
            }),
            true,
        );
        Ok(())
    }

    /// Asks the initiator to log out within `within_secs` seconds (an Asynchronous Message,
    /// AsyncEvent 1), e.g. before the target shuts down. The initiator's Logout then ends the
    /// connection with [`CloseReason::Logout`]; if it does not come, call
    /// [`Connection::shutdown`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use bytes::Bytes;
    /// # use iscsi_pdu::*;
    /// # use iscsi_target::*;
    /// # let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?).with_initiators(InitiatorAcl::AllowAll);
    /// # let config = Arc::new(TargetConfig { targets: vec![node], ..TargetConfig::default() });
    /// # let mut conn = Connection::new(config, SessionRegistry::new(), [7; 32]);
    /// # conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
    /// #     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
    /// #     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
    /// #     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
    /// #     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:client1\0TargetName=iqn.2026-01.com.example:disk1\0SessionType=Normal\0"),
    /// # }));
    /// # while conn.poll_transmit().is_some() {}
    /// # let Some(Event::LoggedIn { .. }) = conn.poll_event() else { return Err("login failed".into()) };
    /// # use bytes::Buf;
    /// # fn sent(conn: &mut Connection) -> Option<Pdu> {
    /// #     let mut pdu = conn.poll_transmit()?;
    /// #     Pdu::parse(pdu.copy_to_bytes(pdu.remaining()), Digests::NONE).ok()
    /// # }
    /// conn.request_logout(10)?;
    /// let msg = sent(&mut conn);
    /// assert!(matches!(msg, Some(Pdu::AsyncMessage(m)) if m.event == AsyncEvent::LogoutRequest && m.parameter3 == 10));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`] before the full feature phase.
    pub fn request_logout(&mut self, within_secs: u16) -> Result<(), Error> {
        self.async_message(AsyncEvent::LogoutRequest, [0, 0, within_secs], Bytes::new())
    }

    /// Ends the connection: running tasks are abandoned and [`Event::Close`] with
    /// [`CloseReason::Shutdown`] follows the PDUs already queued.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use iscsi_target::{CloseReason, Connection, Event, SessionRegistry, TargetConfig};
    /// let mut conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [7; 32]);
    /// conn.shutdown();
    /// assert_eq!(conn.poll_event(), Some(Event::Close { reason: CloseReason::Shutdown }));
    /// assert_eq!(conn.poll_event(), None); // reported once
    /// ```
    pub fn shutdown(&mut self) {
        self.close(CloseReason::Shutdown);
    }

    /// When [`Connection::handle_timeout`] wants to be called next (`None`: no timer). Before
    /// the first call it answers [`Instant::ZERO`], so that the driver's first call tells the
    /// engine the time.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use iscsi_target::{Connection, Instant, SessionRegistry, TargetConfig};
    /// let mut conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [7; 32]);
    /// assert_eq!(conn.poll_timeout(), Some(Instant::ZERO));
    /// conn.handle_timeout(Instant::from_secs(100));
    /// // The login must be over within the 30-second response timeout.
    /// assert_eq!(conn.poll_timeout(), Some(Instant::from_secs(130)));
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closing.is_some() {
            return None;
        }
        let limits = &self.config.limits;
        let response = u64::from(limits.response_timeout_secs) * 1_000_000;
        let interval = u64::from(limits.nop_in_interval_secs) * 1_000_000;
        let Some(base) = self.timer.base else {
            return (response > 0 || interval > 0).then_some(Instant::ZERO);
        };
        match &self.phase {
            Phase::Login(_) => {
                (response > 0).then(|| self.timer.login_start.unwrap_or(base) + response)
            }
            Phase::Full(_) => match self.timer.ping {
                Some((_, deadline)) => Some(deadline),
                None => (interval > 0).then_some(base + interval),
            },
        }
    }

    /// Runs the timers at time `now`: fails a login that takes longer than the response
    /// timeout, sends a NOP-In ping after `nop_in_interval_secs` without input, and closes the
    /// connection when a ping is not answered within the response timeout.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use iscsi_target::{CloseReason, Connection, Event, Instant, SessionRegistry, TargetConfig};
    /// let mut conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [7; 32]);
    /// conn.handle_timeout(Instant::from_secs(100)); // tells the engine the time
    /// conn.handle_timeout(Instant::from_secs(129));
    /// assert!(!conn.is_closing());
    /// conn.handle_timeout(Instant::from_secs(130)); // no login within 30 s
    /// assert_eq!(conn.poll_event(), Some(Event::Close { reason: CloseReason::Timeout }));
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closing.is_some() {
            return;
        }
        let limits = self.config.limits;
        let response = u64::from(limits.response_timeout_secs) * 1_000_000;
        let interval = u64::from(limits.nop_in_interval_secs) * 1_000_000;
        let Some(base) = self.timer.base else {
            self.timer.base = Some(now);
            self.timer.login_start = Some(now);
            return;
        };
        match &mut self.phase {
            Phase::Login(_) => {
                let start = self.timer.login_start.unwrap_or(base);
                if response > 0 && now >= start + response {
                    self.close(CloseReason::Timeout);
                }
            }
            Phase::Full(s) => {
                if self.timer.input_seen {
                    self.timer.input_seen = false;
                    self.timer.base = Some(now);
                    self.timer.ping = None;
                    return;
                }
                if let Some((_, deadline)) = self.timer.ping {
                    if now >= deadline {
                        self.close(CloseReason::Timeout);
                    }
                    return;
                }
                if interval > 0 && now >= base + interval {
                    let ttt = s.ttt();
                    let deadline = if response > 0 {
                        now + response
                    } else {
                        Instant(u64::MAX)
                    };
                    self.timer.ping = Some((ttt, deadline));
                    self.timer.base = Some(now);
                    self.queue(
                        Pdu::NopIn(NopIn {
                            lun: Lun::ZERO,
                            itt: Itt::RESERVED,
                            ttt,
                            stat_sn: SerialNumber(0),
                            exp_cmd_sn: SerialNumber(0),
                            max_cmd_sn: SerialNumber(0),
                            data: Bytes::new(),
                        }),
                        false,
                    );
                }
            }
        }
    }

    // ----- internals -----

    fn digests(&self) -> Digests {
        match &self.phase {
            Phase::Full(s) => s.info.params.digests(),
            Phase::Login(_) => Digests::NONE,
        }
    }

    /// Queues a PDU; `status` PDUs take a StatSN. Nothing is queued once
    /// [`Event::Close`] was reported.
    fn queue(&mut self, pdu: Pdu, status: bool) {
        if self.close_reported {
            return;
        }
        let outgoing = self.outgoing(pdu, status);
        self.tx.push_back(outgoing);
    }

    /// `pdu` ready for the transmit queue, with the digests in force now.
    fn outgoing(&self, pdu: Pdu, status: bool) -> Outgoing {
        Outgoing::Pdu {
            pdu,
            status,
            digests: self.digests(),
        }
    }

    /// ExpCmdSN and MaxCmdSN to advertise now.
    fn cmd_window(&mut self) -> (SerialNumber, SerialNumber) {
        let window = self.config.limits.command_window.max(1);
        match &mut self.phase {
            Phase::Login(l) => {
                let exp = l.leading.map(|l| l.cmd_sn).unwrap_or_default();
                (exp, exp + (window - 1))
            }
            Phase::Full(s) => {
                let active =
                    u32::try_from(s.tasks.len() + s.held.len() + s.tmfs.len()).unwrap_or(u32::MAX);
                let free = window.saturating_sub(active);
                let computed = SerialNumber(s.exp_cmd_sn.0.wrapping_add(free).wrapping_sub(1));
                if computed > s.max_cmd_sn {
                    s.max_cmd_sn = computed;
                }
                (s.exp_cmd_sn, s.max_cmd_sn)
            }
        }
    }

    fn close(&mut self, reason: CloseReason) {
        if self.closing.is_some() {
            return;
        }
        self.closing = Some(reason);
        if let Phase::Full(s) = &mut self.phase {
            s.tasks.clear();
            s.held.clear();
            s.tmfs.clear();
        }
    }

    fn reject(&mut self, reason: RejectReason, header: Bytes) {
        self.queue(
            Pdu::Reject(Reject {
                reason,
                stat_sn: SerialNumber(0),
                exp_cmd_sn: SerialNumber(0),
                max_cmd_sn: SerialNumber(0),
                data_sn: 0,
                data: header,
            }),
            true,
        );
    }

    /// Rejects a well-formed PDU, returning its header.
    fn reject_pdu(&mut self, reason: RejectReason, pdu: &Pdu) {
        let header = pdu
            .to_bytes(Digests::NONE)
            .map(|b| Bytes::from(b).slice(..iscsi_pdu::BHS_LEN))
            .unwrap_or_default();
        self.reject(reason, header);
    }

    // ----- login phase -----

    fn login_pdu(&mut self, pdu: Pdu) {
        let Pdu::LoginRequest(req) = pdu else {
            // "Invalid during login": a non-login PDU before the full feature phase.
            let itt = pdu.itt();
            self.login_failure(LoginStatus::INVALID_DURING_LOGIN, itt, None);
            return;
        };
        let Phase::Login(login) = &mut self.phase else {
            return;
        };
        match login.step(&self.config, &req, &mut self.random) {
            LoginStep::Continue(reply) => {
                let response = login_response(&req, reply, req.tsih);
                self.queue(response, true);
            }
            LoginStep::Fail(status) => self.login_failure(status, req.itt, Some(&req)),
            LoginStep::Complete(reply, outcome) => self.login_complete(&req, reply, outcome),
        }
    }

    fn login_failure(&mut self, status: LoginStatus, itt: Itt, req: Option<&LoginRequest>) {
        // Without a Login Request to answer, the login under way (if any) names the session.
        let (isid, tsih, csg) = match (req, &self.phase) {
            (Some(r), _) => (r.isid, r.tsih, r.csg),
            (None, Phase::Login(login)) => match &login.leading {
                Some(l) => (l.isid, l.tsih, login.stage()),
                None => (
                    iscsi_pdu::Isid::default(),
                    iscsi_pdu::Tsih(0),
                    login.stage(),
                ),
            },
            (None, Phase::Full(_)) => (
                iscsi_pdu::Isid::default(),
                iscsi_pdu::Tsih(0),
                iscsi_pdu::Stage::SecurityNegotiation,
            ),
        };
        self.queue(
            Pdu::LoginResponse(LoginResponse {
                transit: false,
                continue_bit: false,
                csg,
                nsg: csg,
                version_max: 0,
                version_active: 0,
                isid,
                tsih,
                itt,
                stat_sn: SerialNumber(0),
                exp_cmd_sn: SerialNumber(0),
                max_cmd_sn: SerialNumber(0),
                status,
                data: Bytes::new(),
            }),
            true,
        );
        self.close(CloseReason::LoginFailed(status));
    }

    fn login_complete(&mut self, req: &LoginRequest, reply: LoginReply, outcome: LoginOutcome) {
        let registration = self.registry.register(
            &outcome.initiator_name,
            req.isid,
            outcome.target_name.as_ref(),
            req.tsih,
        );
        let registration = match registration {
            Ok(r) => r,
            Err(status) => {
                self.login_failure(status, req.itt, Some(req));
                return;
            }
        };
        // The final response goes out without digests; everything after uses them.
        let response = login_response(req, reply, registration.tsih);
        if registration.replaces.is_some() {
            // Sent once the driver has ended the old session (see `held_response`).
            self.held_response = Some(self.outgoing(response, true));
        } else {
            self.queue(response, true);
        }
        let info = SessionInfo {
            id: registration.id,
            initiator_name: outcome.initiator_name,
            initiator_alias: outcome.initiator_alias,
            isid: req.isid,
            tsih: registration.tsih,
            target_name: outcome.target_name,
            kind: outcome.kind,
            params: outcome.params,
        };
        let exp = req.cmd_sn;
        let window = self.config.limits.command_window.max(1);
        self.phase = Phase::Full(Box::new(Session {
            info: info.clone(),
            cid: req.cid,
            exp_cmd_sn: exp,
            max_cmd_sn: exp + (window - 1),
            tasks: Vec::new(),
            tmfs: Vec::new(),
            held: Vec::new(),
            skip: Vec::new(),
            next_task_id: 0,
            next_ttt: 1,
            text: TextExchange::default(),
        }));
        self.framer.set_config(FramerConfig {
            max_recv_data_segment_length: outcome.params.target_max_recv_data_segment_length,
            digests: outcome.params.digests(),
            ..FramerConfig::default()
        });
        self.events.push_back(Event::LoggedIn {
            session: info,
            replaces: registration.replaces,
        });
    }

    fn handle_malformed(&mut self, m: Malformed) {
        self.timer.input_seen = true;
        if matches!(self.phase, Phase::Login(_)) {
            self.login_failure(LoginStatus::INITIATOR_ERROR, m.itt(), None);
            return;
        }
        // A non-immediate command that is rejected still takes its CmdSN (RFC 7143 §11.17.1),
        // else the window would stall on the gap.
        let sequenced = matches!(
            m.opcode(),
            Opcode::NopOut
                | Opcode::ScsiCommand
                | Opcode::TaskMgmtRequest
                | Opcode::TextRequest
                | Opcode::LogoutRequest
        );
        let immediate = m.header.first().is_some_and(|b| b & 0x40 != 0);
        if sequenced && !immediate && m.header.len() >= 28 {
            let cmd_sn = SerialNumber(u32::from_be_bytes([
                m.header[24],
                m.header[25],
                m.header[26],
                m.header[27],
            ]));
            if let Phase::Full(s) = &mut self.phase
                && cmd_sn == s.exp_cmd_sn
            {
                s.exp_cmd_sn = s.exp_cmd_sn.next();
            }
        }
        let reason = m
            .error
            .reject_reason()
            .unwrap_or(RejectReason::ProtocolError);
        self.reject(reason, m.header);
        self.drain_held();
    }

    // ----- full feature phase -----

    fn full_feature_pdu(&mut self, pdu: Pdu) {
        let sequenced = match &pdu {
            Pdu::ScsiCommand(c) => Some((c.cmd_sn, c.immediate)),
            Pdu::TaskMgmtRequest(t) => Some((t.cmd_sn, t.immediate)),
            Pdu::TextRequest(t) => Some((t.cmd_sn, t.immediate)),
            Pdu::LogoutRequest(l) => Some((l.cmd_sn, l.immediate)),
            // A NOP-Out that wants no answer is always immediate.
            Pdu::NopOut(n) => Some((n.cmd_sn, n.immediate || n.itt.is_reserved())),
            _ => None,
        };
        match sequenced {
            Some((cmd_sn, false)) => self.sequenced(cmd_sn, pdu),
            _ => self.dispatch(pdu),
        }
    }

    /// The CmdSN gate (RFC 7143 §4.2.2.1): in order, hold, or ignore.
    fn sequenced(&mut self, cmd_sn: SerialNumber, pdu: Pdu) {
        let (exp, max) = self.cmd_window();
        let Phase::Full(s) = &mut self.phase else {
            return;
        };
        if cmd_sn == exp {
            s.exp_cmd_sn = exp.next();
            if let Some(pos) = s.skip.iter().position(|sn| *sn == cmd_sn) {
                s.skip.swap_remove(pos);
            } else {
                self.dispatch(pdu);
            }
            self.drain_held();
        } else if exp < cmd_sn && cmd_sn <= max {
            // "A target MUST silently ignore any non-immediate command outside of [ExpCmdSN,
            // MaxCmdSN]"; inside it, commands wait for the gap to fill.
            if s.held.len() >= 4 * self.config.limits.command_window as usize {
                self.close(CloseReason::ProtocolError(
                    "too many commands held for a CmdSN gap",
                ));
                return;
            }
            s.held.push((cmd_sn, pdu));
        }
        // Outside the window: silently ignored.
    }

    /// Runs held PDUs whose turn has come.
    fn drain_held(&mut self) {
        loop {
            if self.closing.is_some() {
                return;
            }
            let Phase::Full(s) = &mut self.phase else {
                return;
            };
            let exp = s.exp_cmd_sn;
            if !s.held.iter().any(|(sn, _)| *sn == exp) {
                return;
            }
            let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut s.held)
                .into_iter()
                .partition(|(sn, _)| *sn == exp);
            s.held = rest;
            s.exp_cmd_sn = exp.next();
            if let Some(pos) = s.skip.iter().position(|sn| *sn == exp) {
                // Aborted while waiting: dropped with its Data-Out.
                s.skip.swap_remove(pos);
                continue;
            }
            for (_, pdu) in ready {
                self.dispatch(pdu);
            }
        }
    }

    fn dispatch(&mut self, pdu: Pdu) {
        let Phase::Full(s) = &self.phase else {
            return;
        };
        let discovery = s.info.kind == SessionKind::Discovery;
        match pdu {
            Pdu::ScsiCommand(c) if !discovery => self.on_command(c),
            Pdu::DataOut(d) if !discovery => self.on_data_out(d),
            Pdu::TaskMgmtRequest(t) if !discovery => self.on_tmf(t),
            Pdu::NopOut(n) => self.on_nop_out(n),
            Pdu::TextRequest(t) => self.on_text(t),
            Pdu::LogoutRequest(l) => self.on_logout(l),
            Pdu::SnackRequest(_) => self.reject_pdu(RejectReason::SnackReject, &pdu),
            Pdu::Unknown(_) => self.reject_pdu(RejectReason::CommandNotSupported, &pdu),
            other => self.reject_pdu(RejectReason::ProtocolError, &other),
        }
    }

    fn on_command(&mut self, c: ScsiCommand) {
        let limits = self.config.limits;
        let Phase::Full(s) = &mut self.phase else {
            return;
        };
        if s.tasks.iter().any(|t| t.itt == c.itt) || s.tmfs.iter().any(|t| t.itt == c.itt) {
            self.reject_pdu(RejectReason::TaskInProgress, &Pdu::ScsiCommand(c));
            return;
        }
        if c.immediate && s.tasks.len() >= MAX_IMMEDIATE_TASKS + limits.command_window as usize {
            self.reject_pdu(RejectReason::ImmediateCommandReject, &Pdu::ScsiCommand(c));
            return;
        }
        let params = s.info.params;
        let mut cdb = BytesMut::from(&c.cdb[..]);
        let mut bidi_read_length = None;
        for ahs in &c.ahs {
            match ahs {
                Ahs::ExtendedCdb(ext) => cdb.extend_from_slice(ext),
                Ahs::BidiReadLength(n) => bidi_read_length = Some(*n),
                Ahs::Unknown { .. } => {}
            }
        }
        let command = Command {
            lun: c.lun,
            cdb: cdb.freeze(),
            attribute: c.attr,
            read: c.read,
            write: c.write,
            bidi_read_length,
        };
        let id = s.task_id();
        let mut task = Task {
            id,
            itt: c.itt,
            edtl: c.expected_data_length,
            command,
            state: TaskState::Executing,
            r2t_count: 0,
            reserved: 0,
        };
        if !(c.write && c.expected_data_length > 0) {
            if !c.data.is_empty() {
                self.reject_pdu(RejectReason::ProtocolError, &Pdu::ScsiCommand(c));
                return;
            }
            self.start(task, Bytes::new());
            return;
        }
        if c.expected_data_length > limits.max_write_length {
            // Not buffered: CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB.
            s.tasks.push(task);
            self.fail_task(id, 0x05, 0x24, 0x00);
            return;
        }
        let first_burst = params.first_burst_length.min(c.expected_data_length);
        let immediate_len = c.data.len();
        let bad_immediate = immediate_len > 0 && !params.immediate_data;
        let bad_unsolicited = !c.final_bit && params.initial_r2t;
        if bad_immediate || bad_unsolicited || immediate_len > first_burst as usize {
            self.reject_pdu(RejectReason::ProtocolError, &Pdu::ScsiCommand(c));
            return;
        }
        let unsolicited = (!c.final_bit).then_some(first_burst);
        let buffer = WriteBuffer::new(c.expected_data_length, c.data, unsolicited);
        if buffer.is_complete() {
            // All of it came unasked (at most FirstBurstLength): it counts, fit or not.
            task.reserved = task.edtl;
            self.start(task, buffer.into_bytes());
            return;
        }
        task.state = TaskState::Receiving(buffer);
        s.tasks.push(task);
        self.admit_writes();
    }

    /// Lets writes that wait for R2Ts ask for their data, in arrival order, while the
    /// connection's write budget has room for the whole of each: a write admitted can always
    /// finish, and a later, smaller write never overtakes an earlier one.
    fn admit_writes(&mut self) {
        let Phase::Full(s) = &mut self.phase else {
            return;
        };
        let params = s.info.params;
        let budget = u64::from(self.config.limits.write_budget);
        let mut reserved: u64 = s.tasks.iter().map(|t| u64::from(t.reserved)).sum();
        let mut sends = Vec::new();
        for task in s.tasks.iter_mut() {
            if !task.awaits_budget() {
                continue;
            }
            if reserved + u64::from(task.edtl) > budget {
                break;
            }
            let TaskState::Receiving(buffer) = &mut task.state else {
                continue;
            };
            task.reserved = task.edtl;
            reserved += u64::from(task.edtl);
            let r2ts = buffer.solicit(
                params.max_outstanding_r2t,
                params.max_burst_length,
                &mut s.next_ttt,
            );
            task.r2t_count += r2ts.len() as u32;
            sends.push((task.itt, task.command.lun, r2ts));
        }
        for (itt, lun, r2ts) in sends {
            self.send_r2ts(itt, lun, &r2ts);
        }
    }

    fn send_r2ts(&mut self, itt: Itt, lun: Lun, r2ts: &[R2tRequest]) {
        for r in r2ts {
            self.queue(
                Pdu::ReadyToTransfer(ReadyToTransfer {
                    lun,
                    itt,
                    ttt: r.ttt,
                    stat_sn: SerialNumber(0),
                    exp_cmd_sn: SerialNumber(0),
                    max_cmd_sn: SerialNumber(0),
                    r2t_sn: SerialNumber(r.r2t_sn),
                    buffer_offset: r.offset,
                    desired_length: r.length,
                }),
                false,
            );
        }
    }

    /// Hands a task with all its data to the driver.
    fn start(&mut self, mut task: Task, data_out: Bytes) {
        let Phase::Full(s) = &mut self.phase else {
            return;
        };
        let c = &task.command;
        let event = ScsiTask {
            id: task.id,
            lun: lun_number(&c.lun),
            raw_lun: c.lun,
            cdb: c.cdb.clone(),
            expected_length: task.edtl,
            read: c.read,
            write: c.write,
            attribute: c.attribute,
            data_out,
            bidi_read_length: c.bidi_read_length,
        };
        task.state = TaskState::Executing;
        match s.tasks.iter_mut().find(|t| t.id == task.id) {
            Some(slot) => *slot = task,
            None => s.tasks.push(task),
        }
        self.events.push_back(Event::ScsiCommand(event));
    }

    /// Ends task `id` (in the `Executing` state) with CHECK CONDITION, fixed-format sense data
    /// of `key`/`asc`/`ascq` and no data.
    fn fail_task(&mut self, id: TaskId, key: u8, asc: u8, ascq: u8) {
        let sense = Bytes::from(vec![
            0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0,
        ]);
        let _ = self.complete_task(
            id,
            TaskOutcome {
                status: ScsiStatus::CHECK_CONDITION.0,
                sense: Some(sense),
                data_in: Bytes::new(),
                transfer_length: 0,
            },
        );
    }

    fn on_data_out(&mut self, d: DataOut) {
        let Phase::Full(s) = &mut self.phase else {
            return;
        };
        let params = s.info.params;
        let Some(pos) = s
            .tasks
            .iter()
            .position(|t| t.itt == d.itt && matches!(t.state, TaskState::Receiving(_)))
        else {
            // Data for a command still held behind a CmdSN gap waits with it.
            let held_sn = s.held.iter().find_map(|(sn, p)| match p {
                Pdu::ScsiCommand(c) if c.itt == d.itt => Some(*sn),
                _ => None,
            });
            if let Some(sn) = held_sn {
                if s.held.len() < 4 * self.config.limits.command_window as usize {
                    s.held.push((sn, Pdu::DataOut(d)));
                    return;
                }
                self.close(CloseReason::ProtocolError(
                    "too many PDUs held for a CmdSN gap",
                ));
            }
            // Otherwise the task was aborted (or never existed): silently discarded.
            return;
        };
        let task = &mut s.tasks[pos];
        let TaskState::Receiving(buffer) = &mut task.state else {
            return;
        };
        if let Err(e) = buffer.accept(&d) {
            // The connection stays up: the command ends with CHECK CONDITION, ABORTED
            // COMMAND, ASC 4Bh (DATA PHASE ERROR, DATA OFFSET ERROR, ...), and the rest of its
            // Data-Out PDUs are discarded as those of a task that no longer exists. tgt does
            // the same; dropping the connection (session recovery, the only other choice at
            // ErrorRecoveryLevel 0) would also end every other command of the session.
            task.state = TaskState::Executing;
            let id = task.id;
            self.fail_task(id, 0x0b, 0x4b, e.1);
            return;
        }
        if buffer.is_complete() {
            let state = std::mem::replace(&mut task.state, TaskState::Executing);
            let data = match state {
                TaskState::Receiving(b) => b.into_bytes(),
                _ => Bytes::new(),
            };
            // A write that waited for the budget and got all its data unasked holds it now.
            task.reserved = task.edtl;
            let task = s.tasks.remove(pos);
            self.start(task, data);
            return;
        }
        if task.reserved == 0 {
            // Waiting for room in the write budget: its R2Ts come from admit_writes.
            return;
        }
        let r2ts = buffer.solicit(
            params.max_outstanding_r2t,
            params.max_burst_length,
            &mut s.next_ttt,
        );
        task.r2t_count += r2ts.len() as u32;
        let (itt, lun) = (task.itt, task.command.lun);
        self.send_r2ts(itt, lun, &r2ts);
    }

    fn on_tmf(&mut self, t: TaskMgmtRequest) {
        let Phase::Full(s) = &mut self.phase else {
            return;
        };
        if s.tmfs.iter().any(|p| p.itt == t.itt) || s.tasks.iter().any(|p| p.itt == t.itt) {
            self.reject_pdu(RejectReason::TaskInProgress, &Pdu::TaskMgmtRequest(t));
            return;
        }
        // Immediate requests bypass the CmdSN window: bound what the driver is asked to hold.
        if s.tmfs.len() >= MAX_IMMEDIATE_TASKS {
            self.reject_pdu(
                RejectReason::ImmediateCommandReject,
                &Pdu::TaskMgmtRequest(t),
            );
            return;
        }
        let referenced = match t.function {
            TmfFunction::AbortTask => s
                .tasks
                .iter()
                .find(|task| task.itt == t.referenced_task_tag)
                .map(|task| task.id),
            _ => None,
        };
        let affected = |task: &Task| match t.function {
            TmfFunction::AbortTask => Some(task.id) == referenced,
            TmfFunction::AbortTaskSet
            | TmfFunction::ClearTaskSet
            | TmfFunction::LogicalUnitReset => task.command.lun == t.lun,
            TmfFunction::TargetWarmReset | TmfFunction::TargetColdReset => true,
            _ => false,
        };
        let mut aborted = Vec::new();
        s.tasks.retain_mut(|task| {
            if !affected(task) {
                return true;
            }
            aborted.push(task.id);
            match task.state {
                // Waiting for data: forget it; late Data-Out is discarded.
                TaskState::Receiving(_) => false,
                _ => {
                    task.state = TaskState::Aborted;
                    true
                }
            }
        });
        // Held commands an abort covers are dropped too (their CmdSN still counts).
        let exp = s.exp_cmd_sn;
        s.skip.retain(|sn| *sn >= exp);
        let window = self.config.limits.command_window as usize;
        let skip = |sn: SerialNumber, skip_list: &mut Vec<SerialNumber>| {
            if !skip_list.contains(&sn) && skip_list.len() < window {
                skip_list.push(sn);
            }
        };
        for (sn, pdu) in &s.held {
            if let Pdu::ScsiCommand(c) = pdu {
                let covered = match t.function {
                    TmfFunction::AbortTask => c.itt == t.referenced_task_tag,
                    TmfFunction::AbortTaskSet
                    | TmfFunction::ClearTaskSet
                    | TmfFunction::LogicalUnitReset => c.lun == t.lun,
                    TmfFunction::TargetWarmReset | TmfFunction::TargetColdReset => true,
                    _ => false,
                };
                if covered {
                    skip(*sn, &mut s.skip);
                }
            }
        }
        let proposed = match t.function {
            TmfFunction::AbortTask => {
                if referenced.is_some() {
                    TmfResponse::Complete
                } else if exp <= t.ref_cmd_sn && t.ref_cmd_sn < t.cmd_sn {
                    // RFC 7143 §11.5.1 b): a task not received yet, within the window and
                    // older than this request, counts as received and aborted.
                    skip(t.ref_cmd_sn, &mut s.skip);
                    TmfResponse::Complete
                } else {
                    TmfResponse::TaskDoesNotExist
                }
            }
            TmfFunction::AbortTaskSet
            | TmfFunction::ClearTaskSet
            | TmfFunction::LogicalUnitReset
            | TmfFunction::TargetWarmReset
            | TmfFunction::TargetColdReset => TmfResponse::Complete,
            TmfFunction::TaskReassign => TmfResponse::ReassignmentNotSupported,
            TmfFunction::ClearAca | TmfFunction::Unknown(_) => TmfResponse::NotSupported,
        };
        let id = s.task_id();
        s.tmfs.push(PendingTmf {
            id,
            itt: t.itt,
            function: t.function,
        });
        self.events.push_back(Event::TaskManagement(TaskManagement {
            id,
            function: t.function,
            lun: lun_number(&t.lun),
            raw_lun: t.lun,
            referenced_task: referenced,
            aborted,
            proposed,
        }));
        // Writes aborted while waiting for data gave their budget back.
        self.admit_writes();
    }

    fn on_nop_out(&mut self, n: NopOut) {
        if n.itt.is_reserved() {
            // An answer to our ping (or a one-way ping): no response.
            if !n.ttt.is_reserved() && self.timer.ping.is_some_and(|(t, _)| t == n.ttt) {
                self.timer.ping = None;
            }
            return;
        }
        let Phase::Full(s) = &self.phase else {
            return;
        };
        let mrdsl = s.info.params.initiator_max_recv_data_segment_length as usize;
        let data = n.data.slice(..n.data.len().min(mrdsl));
        self.queue(
            Pdu::NopIn(NopIn {
                lun: n.lun,
                itt: n.itt,
                ttt: Ttt::RESERVED,
                stat_sn: SerialNumber(0),
                exp_cmd_sn: SerialNumber(0),
                max_cmd_sn: SerialNumber(0),
                data,
            }),
            true,
        );
    }

    fn on_text(&mut self, t: TextRequest) {
        let config = Arc::clone(&self.config);
        let Phase::Full(s) = &mut self.phase else {
            return;
        };
        let mrdsl = s.info.params.initiator_max_recv_data_segment_length as usize;
        if !t.ttt.is_reserved() {
            // The initiator pulls the next part of a long answer.
            if s.text.ttt != Some(t.ttt) {
                self.reject_pdu(RejectReason::InvalidPduField, &Pdu::TextRequest(t));
                return;
            }
            self.send_text_part(t.itt, t.lun);
            return;
        }
        s.text.pending.clear();
        s.text.ttt = None;
        let pairs = match s.text.assembler.push(&t.data, t.continue_bit) {
            Ok(Some(pairs)) => pairs,
            Ok(None) => {
                // More text follows: acknowledge with an empty, non-final response.
                let ttt = s.ttt();
                self.queue(
                    Pdu::TextResponse(TextResponse {
                        final_bit: false,
                        continue_bit: false,
                        lun: t.lun,
                        itt: t.itt,
                        ttt,
                        stat_sn: SerialNumber(0),
                        exp_cmd_sn: SerialNumber(0),
                        max_cmd_sn: SerialNumber(0),
                        data: Bytes::new(),
                    }),
                    true,
                );
                return;
            }
            Err(_) => {
                self.reject_pdu(RejectReason::InvalidPduField, &Pdu::TextRequest(t));
                return;
            }
        };
        let mut bytes = Vec::new();
        for (key, value) in pairs.iter() {
            if key == "SendTargets" {
                discovery::send_targets(
                    &config,
                    &s.info.initiator_name,
                    s.info.target_name.as_ref(),
                    s.info.kind,
                    value,
                    &mut bytes,
                );
            } else {
                discovery::push(&mut bytes, key, "NotUnderstood");
            }
        }
        s.text.pending = split_for_pdus(&bytes, mrdsl)
            .map(|(chunk, _)| Bytes::copy_from_slice(chunk))
            .collect();
        self.send_text_part(t.itt, t.lun);
    }

    fn send_text_part(&mut self, itt: Itt, lun: Lun) {
        let Phase::Full(s) = &mut self.phase else {
            return;
        };
        let data = s.text.pending.pop_front().unwrap_or_default();
        let last = s.text.pending.is_empty();
        let ttt = if last {
            s.text.ttt = None;
            Ttt::RESERVED
        } else {
            let ttt = s.ttt();
            s.text.ttt = Some(ttt);
            ttt
        };
        self.queue(
            Pdu::TextResponse(TextResponse {
                final_bit: last,
                continue_bit: !last,
                lun,
                itt,
                ttt,
                stat_sn: SerialNumber(0),
                exp_cmd_sn: SerialNumber(0),
                max_cmd_sn: SerialNumber(0),
                data,
            }),
            true,
        );
    }

    fn on_logout(&mut self, l: LogoutRequest) {
        let Phase::Full(s) = &self.phase else {
            return;
        };
        let response = match l.reason {
            LogoutReason::CloseSession => LogoutResult::Success,
            LogoutReason::CloseConnection if l.cid == s.cid => LogoutResult::Success,
            LogoutReason::CloseConnection => LogoutResult::CidNotFound,
            LogoutReason::RemoveForRecovery => LogoutResult::RecoveryNotSupported,
            LogoutReason::Unknown(_) => {
                self.reject_pdu(RejectReason::InvalidPduField, &Pdu::LogoutRequest(l));
                return;
            }
        };
        let pdu = Pdu::LogoutResponse(LogoutResponse {
            response,
            itt: l.itt,
            stat_sn: SerialNumber(0),
            exp_cmd_sn: SerialNumber(0),
            max_cmd_sn: SerialNumber(0),
            time2wait: 0,
            time2retain: 0,
        });
        if response == LogoutResult::Success {
            // The response waits for the driver to see the nexus end (see Event::LoggedOut).
            self.events
                .push_back(Event::LoggedOut { session: s.info.id });
            self.held_response = Some(self.outgoing(pdu, true));
            self.close(CloseReason::Logout);
        } else {
            self.queue(pdu, true);
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Phase::Full(s) = &self.phase {
            self.registry.remove(s.info.id);
        }
    }
}

//! [`Event`]: what the engine asks of its driver.

use bytes::Bytes;
use iscsi_pdu::{LoginStatus, Lun, TaskAttribute, TmfFunction, TmfResponse};

use crate::{SessionId, SessionInfo, TaskId};

/// Something the driver must act on, from [`Connection::poll_event`](crate::Connection::poll_event).
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
///     itt: Itt(1), cmd_sn: SerialNumber(1), cdb: [0; 16], ..ScsiCommand::default() // TEST UNIT READY
/// }));
/// // The driver's loop.
/// while let Some(event) = conn.poll_event() {
///     match event {
///         Event::ScsiCommand(task) => conn.complete_task(task.id, TaskOutcome::done(0))?,
///         Event::TaskManagement(tm) => conn.complete_task_management(tm.id, tm.proposed)?,
///         Event::LoggedIn { .. } | Event::LoggedOut { .. } => {}
///         Event::Close { .. } => break,
///         _ => {} // events of later versions
///     }
/// }
/// assert!(matches!(sent(&mut conn), Some(Pdu::ScsiResponse(r)) if r.status == ScsiStatus::GOOD));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The login succeeded; the connection is in the full feature phase.
    LoggedIn {
        /// The new session.
        session: SessionInfo,
        /// A session this login reinstated (same initiator, ISID and target): close the
        /// connection that carries it (RFC 7143 §6.3.5 "Session Reinstatement") and end its
        /// SCSI I_T nexus while handling this event. The Login Response is handed to
        /// [`Connection::poll_transmit`](crate::Connection::poll_transmit) only once this event
        /// was polled, so that the old nexus's teardown (releasing its SPC-2 reservation, say)
        /// cannot undo what the new session, the same I_T nexus, does first.
        replaces: Option<SessionId>,
    },
    /// A SCSI command with all its data: execute it and call
    /// [`Connection::complete_task`](crate::Connection::complete_task).
    ScsiCommand(ScsiTask),
    /// A task management request: the engine already stopped the affected tasks it holds
    /// (their completions will be ignored); tell the SCSI layer, then call
    /// [`Connection::complete_task_management`](crate::Connection::complete_task_management).
    TaskManagement(TaskManagement),
    /// The initiator logged the session out (RFC 7143 §11.14): its I_T nexus ends here. Release
    /// what the SCSI layer holds for it (SPC-2 reservations, unit attentions) while handling this
    /// event: the Logout Response is handed to
    /// [`Connection::poll_transmit`](crate::Connection::poll_transmit) only once this event was
    /// polled, so that an initiator that has its response finds the nexus gone (libiscsi's
    /// suite takes a reservation on a second session, logs it out and at once expects the
    /// reservation released on the first). [`Event::Close`] follows the response.
    LoggedOut {
        /// The session that ended.
        session: SessionId,
    },
    /// The connection is over: close the socket. Every PDU queued before this event was
    /// already returned by [`Connection::poll_transmit`](crate::Connection::poll_transmit).
    /// Unless [`Event::LoggedOut`] came first, or a later login reinstated the session, its
    /// SCSI I_T nexus still holds what the SCSI layer keeps for it (SPC-2 reservations, unit
    /// attentions): end it now (`scsi::ScsiTarget::nexus_lost`).
    Close {
        /// Why.
        reason: CloseReason,
    },
}

/// A SCSI command ready to execute.
///
/// The engine knows no CDB: it does not check that the R and W bits match the command (a
/// READ sent with W and data-out, as libiscsi's residual tests do, arrives as is), and
/// `data_out` is exactly what the Expected Data Transfer Length announced, which may be more
/// or less than the CDB asks for. The SCSI layer decides, and reports the CDB's length in
/// [`TaskOutcome::transfer_length`].
///
/// ```
/// use iscsi_target::ScsiTask;
/// fn describe(t: &ScsiTask) -> String {
///     format!("LUN {} opcode {:#04x}, {} bytes in", t.lun, t.cdb[0], t.data_out.len())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScsiTask {
    /// The engine's id for this task (pass it to `complete_task`).
    pub id: TaskId,
    /// The LUN number (`Lun::index`), or `u64::MAX` for an addressing method the engine does
    /// not decode (see `raw_lun`).
    pub lun: u64,
    /// The LUN field as sent.
    pub raw_lun: Lun,
    /// The CDB, extended CDB included.
    pub cdb: Bytes,
    /// Expected Data Transfer Length (for a bidirectional command, the write length).
    pub expected_length: u32,
    /// The R bit: the initiator expects data in.
    pub read: bool,
    /// The W bit: the initiator sends data out.
    pub write: bool,
    /// The task attribute.
    pub attribute: TaskAttribute,
    /// The data out, reassembled from immediate, unsolicited and solicited data (empty unless
    /// `write`); exactly `expected_length` bytes for a write.
    pub data_out: Bytes,
    /// Expected read length of a bidirectional command (its AHS), if sent.
    pub bidi_read_length: Option<u32>,
}

/// How a task ended, from the driver's SCSI layer (field for field what the `scsi` crate's
/// `CommandResponse` holds).
///
/// `transfer_length` is what the CDB called for, not what was sent: for a WRITE of 8 blocks
/// it is 4096 whatever the initiator's Expected Data Transfer Length was, and a mismatch
/// becomes the residual over- or underflow of the SCSI Response.
///
/// ```
/// use bytes::Bytes;
/// use iscsi_target::TaskOutcome;
/// let read = TaskOutcome::good(Bytes::from_static(&[0u8; 512]));
/// assert_eq!((read.status, read.transfer_length), (0, 512));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskOutcome {
    /// The SCSI status (0 = GOOD, 2 = CHECK CONDITION, ...).
    pub status: u8,
    /// Sense data, without the 2-byte SenseLength the engine prepends.
    pub sense: Option<Bytes>,
    /// The data the command produced for the initiator. The engine sends at most the
    /// Expected Data Transfer Length of it.
    pub data_in: Bytes,
    /// The bytes the CDB called for, in either direction (for a read, the engine uses the
    /// smaller of this and `data_in.len()`): the residual over- or underflow is computed
    /// against the Expected Data Transfer Length.
    pub transfer_length: u32,
}

impl TaskOutcome {
    /// GOOD status without data for a command whose CDB called for `transfer_length` bytes
    /// (a write, or a command without data with 0).
    ///
    /// ```
    /// use iscsi_target::TaskOutcome;
    /// assert_eq!(TaskOutcome::done(4096).transfer_length, 4096);
    /// ```
    pub fn done(transfer_length: u32) -> Self {
        TaskOutcome {
            transfer_length,
            ..TaskOutcome::default()
        }
    }

    /// GOOD status with data in, whose length is the transfer length.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use iscsi_target::TaskOutcome;
    /// let outcome = TaskOutcome::good(Bytes::from_static(b"INQUIRY data"));
    /// assert_eq!(outcome.transfer_length, 12);
    /// assert_eq!((outcome.status, outcome.sense), (0, None));
    /// ```
    pub fn good(data_in: Bytes) -> Self {
        let transfer_length = u32::try_from(data_in.len()).unwrap_or(u32::MAX);
        TaskOutcome {
            status: 0,
            sense: None,
            data_in,
            transfer_length,
        }
    }
}

/// A task management request for the driver.
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
/// assert_eq!(tm.function, TmfFunction::LogicalUnitReset);
/// assert_eq!(tm.aborted, vec![task.id]); // the READ was stopped
/// conn.complete_task_management(tm.id, tm.proposed)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskManagement {
    /// The id to answer with.
    pub id: TaskId,
    /// The function.
    pub function: TmfFunction,
    /// The LUN number, as in [`ScsiTask::lun`].
    pub lun: u64,
    /// The LUN field as sent.
    pub raw_lun: Lun,
    /// ABORT TASK: the engine's id of the referenced task, if it exists.
    pub referenced_task: Option<TaskId>,
    /// The tasks the engine stopped because of this request (no response will be sent for
    /// them; their completions are ignored).
    pub aborted: Vec<TaskId>,
    /// The response the engine would send (what RFC 7143 §11.5.1 prescribes for the tasks it
    /// knows); the driver may answer something else, e.g. for a LUN it does not have.
    pub proposed: TmfResponse,
}

/// Why a connection ends.
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use iscsi_pdu::*;
/// use iscsi_target::*;
/// // No target is configured, so the login fails.
/// let mut conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [7; 32]);
/// conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
///     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
///     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
///     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
///     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:c\0TargetName=iqn.2026-01.com.example:none\0"),
/// }));
/// while conn.poll_transmit().is_some() {}
/// let reason = CloseReason::LoginFailed(LoginStatus::NOT_FOUND);
/// assert_eq!(conn.poll_event(), Some(Event::Close { reason }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The initiator logged out.
    Logout,
    /// The login failed with this status (the response was sent).
    LoginFailed(LoginStatus),
    /// The initiator broke the protocol in a way ErrorRecoveryLevel 0 answers by dropping the
    /// connection (RFC 7143 §7.1.4); the text says what.
    ProtocolError(&'static str),
    /// The byte stream could not be framed (header digest, or a length over the limits).
    Framing(iscsi_pdu::Error),
    /// The login or a NOP-In ping was not answered in time.
    Timeout,
    /// The driver called [`Connection::shutdown`](crate::Connection::shutdown).
    Shutdown,
    /// A TARGET COLD RESET was answered. RFC 7143 §11.5.1 has the target drop every connection
    /// of every session to it, not only this one: the driver closes the others (with
    /// [`Connection::shutdown`](crate::Connection::shutdown)), since each engine sees one connection.
    ColdReset,
}

//! The code sets of RFC 7143 §11: opcodes, stages, reasons, responses and status values.

use crate::open_enum::{const_newtype, open_enum};

open_enum! {
    /// The 6-bit opcode of a PDU (RFC 7143 §11.1.1). Values 0x00–0x1f are sent by initiators,
    /// 0x20–0x3f by targets; vendor-specific and unassigned codes stay `Unknown`.
    ///
    /// ```
    /// use iscsi_pdu::Opcode;
    /// assert_eq!(Opcode::from(0x01), Opcode::ScsiCommand);
    /// assert_eq!(Opcode::from(0x1c), Opcode::Unknown(0x1c));
    /// assert!(Opcode::ScsiCommand.is_initiator());
    /// ```
    pub enum Opcode(u8) {
        /// NOP-Out (§11.18).
        NopOut = 0x00,
        /// SCSI Command (§11.3).
        ScsiCommand = 0x01,
        /// Task Management Function Request (§11.5).
        TaskMgmtRequest = 0x02,
        /// Login Request (§11.12).
        LoginRequest = 0x03,
        /// Text Request (§11.10).
        TextRequest = 0x04,
        /// SCSI Data-Out (§11.7).
        DataOut = 0x05,
        /// Logout Request (§11.14).
        LogoutRequest = 0x06,
        /// SNACK Request (§11.16).
        SnackRequest = 0x10,
        /// NOP-In (§11.19).
        NopIn = 0x20,
        /// SCSI Response (§11.4).
        ScsiResponse = 0x21,
        /// Task Management Function Response (§11.6).
        TaskMgmtResponse = 0x22,
        /// Login Response (§11.13).
        LoginResponse = 0x23,
        /// Text Response (§11.11).
        TextResponse = 0x24,
        /// SCSI Data-In (§11.7).
        DataIn = 0x25,
        /// Logout Response (§11.15).
        LogoutResponse = 0x26,
        /// Ready To Transfer (§11.8).
        ReadyToTransfer = 0x31,
        /// Asynchronous Message (§11.9).
        AsyncMessage = 0x32,
        /// Reject (§11.17).
        Reject = 0x3f,
    }
}

impl Opcode {
    /// Whether initiators send this opcode (bit 5 clear).
    ///
    /// ```
    /// use iscsi_pdu::Opcode;
    /// assert!(Opcode::LoginRequest.is_initiator());
    /// assert!(!Opcode::LoginResponse.is_initiator());
    /// assert!(!Opcode::Unknown(0x3c).is_initiator()); // a vendor-specific target opcode
    /// ```
    pub fn is_initiator(self) -> bool {
        u8::from(self) & 0x20 == 0
    }
}

open_enum! {
    /// A login stage, as in the CSG and NSG fields (RFC 7143 §11.12.3). The value 2 is reserved.
    ///
    /// ```
    /// assert_eq!(iscsi_pdu::Stage::from(3), iscsi_pdu::Stage::FullFeaturePhase);
    /// ```
    pub enum Stage(u8) {
        /// 0: SecurityNegotiation.
        SecurityNegotiation = 0,
        /// 1: LoginOperationalNegotiation.
        LoginOperationalNegotiation = 1,
        /// 3: FullFeaturePhase.
        FullFeaturePhase = 3,
    }
}

open_enum! {
    /// The task attribute of a SCSI Command (RFC 7143 §11.3.1; SAM-5).
    ///
    /// ```
    /// assert_eq!(u8::from(iscsi_pdu::TaskAttribute::Simple), 1);
    /// ```
    pub enum TaskAttribute(u8) {
        /// 0: Untagged.
        Untagged = 0,
        /// 1: Simple.
        Simple = 1,
        /// 2: Ordered.
        Ordered = 2,
        /// 3: Head of queue.
        HeadOfQueue = 3,
        /// 4: ACA.
        Aca = 4,
    }
}

open_enum! {
    /// The iSCSI service response of a SCSI Response (RFC 7143 §11.4.3).
    ///
    /// ```
    /// assert_eq!(iscsi_pdu::ServiceResponse::from(1), iscsi_pdu::ServiceResponse::TargetFailure);
    /// ```
    pub enum ServiceResponse(u8) {
        /// 0x00: Command Completed at Target.
        CommandCompleted = 0x00,
        /// 0x01: Target Failure.
        TargetFailure = 0x01,
    }
}

const_newtype! {
    /// A SCSI status byte (SAM-5 §5.3), carried in SCSI Response and in a final Data-In.
    ///
    /// ```
    /// use iscsi_pdu::ScsiStatus;
    /// assert_eq!(format!("{:?}", ScsiStatus::CHECK_CONDITION), "CHECK_CONDITION");
    /// assert_eq!(format!("{:?}", ScsiStatus(0x7f)), "ScsiStatus(0x7f)");
    /// ```
    pub struct ScsiStatus(pub u8) {
        /// GOOD.
        GOOD = 0x00,
        /// CHECK CONDITION: sense data follows.
        CHECK_CONDITION = 0x02,
        /// CONDITION MET.
        CONDITION_MET = 0x04,
        /// BUSY.
        BUSY = 0x08,
        /// RESERVATION CONFLICT.
        RESERVATION_CONFLICT = 0x18,
        /// TASK SET FULL.
        TASK_SET_FULL = 0x28,
        /// ACA ACTIVE.
        ACA_ACTIVE = 0x30,
        /// TASK ABORTED.
        TASK_ABORTED = 0x40,
    }
}

open_enum! {
    /// The function of a Task Management Function Request (RFC 7143 §11.5.1).
    ///
    /// ```
    /// assert_eq!(iscsi_pdu::TmfFunction::from(5), iscsi_pdu::TmfFunction::LogicalUnitReset);
    /// ```
    pub enum TmfFunction(u8) {
        /// 1: ABORT TASK.
        AbortTask = 1,
        /// 2: ABORT TASK SET.
        AbortTaskSet = 2,
        /// 3: CLEAR ACA.
        ClearAca = 3,
        /// 4: CLEAR TASK SET.
        ClearTaskSet = 4,
        /// 5: LOGICAL UNIT RESET.
        LogicalUnitReset = 5,
        /// 6: TARGET WARM RESET.
        TargetWarmReset = 6,
        /// 7: TARGET COLD RESET.
        TargetColdReset = 7,
        /// 8: TASK REASSIGN.
        TaskReassign = 8,
    }
}

open_enum! {
    /// The response of a Task Management Function Response (RFC 7143 §11.6.1).
    ///
    /// ```
    /// assert_eq!(u8::from(iscsi_pdu::TmfResponse::Rejected), 255);
    /// ```
    pub enum TmfResponse(u8) {
        /// 0: Function complete.
        Complete = 0,
        /// 1: Task does not exist.
        TaskDoesNotExist = 1,
        /// 2: LUN does not exist.
        LunDoesNotExist = 2,
        /// 3: Task still allegiant.
        TaskStillAllegiant = 3,
        /// 4: Task allegiance reassignment not supported.
        ReassignmentNotSupported = 4,
        /// 5: Task management function not supported.
        NotSupported = 5,
        /// 6: Function authorization failed.
        AuthorizationFailed = 6,
        /// 255: Function rejected.
        Rejected = 255,
    }
}

open_enum! {
    /// The reason code of a Logout Request (RFC 7143 §11.14.1).
    ///
    /// ```
    /// assert_eq!(iscsi_pdu::LogoutReason::from(0), iscsi_pdu::LogoutReason::CloseSession);
    /// ```
    pub enum LogoutReason(u8) {
        /// 0: close the session.
        CloseSession = 0,
        /// 1: close the connection.
        CloseConnection = 1,
        /// 2: remove the connection for recovery.
        RemoveForRecovery = 2,
    }
}

open_enum! {
    /// The Response field of a Logout Response (RFC 7143 §11.15.1).
    ///
    /// ```
    /// assert_eq!(iscsi_pdu::LogoutResult::from(1), iscsi_pdu::LogoutResult::CidNotFound);
    /// ```
    pub enum LogoutResult(u8) {
        /// 0: connection or session closed successfully.
        Success = 0,
        /// 1: CID not found.
        CidNotFound = 1,
        /// 2: connection recovery is not supported.
        RecoveryNotSupported = 2,
        /// 3: cleanup failed for various reasons.
        CleanupFailed = 3,
    }
}

open_enum! {
    /// The type of a SNACK Request (RFC 7143 §11.16.1).
    ///
    /// ```
    /// assert_eq!(iscsi_pdu::SnackType::from(1), iscsi_pdu::SnackType::Status);
    /// ```
    pub enum SnackType(u8) {
        /// 0: Data/R2T SNACK.
        DataR2t = 0,
        /// 1: Status SNACK.
        Status = 1,
        /// 2: DataACK.
        DataAck = 2,
        /// 3: R-Data SNACK.
        RData = 3,
    }
}

open_enum! {
    /// The AsyncEvent of an Asynchronous Message (RFC 7143 §11.9.1).
    ///
    /// ```
    /// assert_eq!(iscsi_pdu::AsyncEvent::from(1), iscsi_pdu::AsyncEvent::LogoutRequest);
    /// ```
    pub enum AsyncEvent(u8) {
        /// 0: a SCSI asynchronous event; sense data follows.
        ScsiEvent = 0,
        /// 1: the target asks the initiator to log out.
        LogoutRequest = 1,
        /// 2: the target will drop the connection.
        DropConnection = 2,
        /// 3: the target will drop all connections of the session.
        DropAllConnections = 3,
        /// 4: the target asks for parameter renegotiation.
        NegotiationRequest = 4,
        /// 5: the target indicates a task progress.
        TaskProgress = 5,
        /// 255: vendor-specific.
        VendorSpecific = 255,
    }
}

open_enum! {
    /// The reason of a Reject (RFC 7143 §11.17.1).
    ///
    /// ```
    /// assert_eq!(iscsi_pdu::RejectReason::from(9), iscsi_pdu::RejectReason::InvalidPduField);
    /// ```
    pub enum RejectReason(u8) {
        /// 0x02: Data (payload) digest error.
        DataDigestError = 0x02,
        /// 0x03: SNACK Reject.
        SnackReject = 0x03,
        /// 0x04: Protocol Error (e.g. a SNACK for a status already acknowledged).
        ProtocolError = 0x04,
        /// 0x05: Command not supported.
        CommandNotSupported = 0x05,
        /// 0x06: Immediate command reject, too many immediate commands.
        ImmediateCommandReject = 0x06,
        /// 0x07: Task in progress.
        TaskInProgress = 0x07,
        /// 0x08: Invalid data ack.
        InvalidDataAck = 0x08,
        /// 0x09: Invalid PDU field.
        InvalidPduField = 0x09,
        /// 0x0a: Long operation reject, can't generate a Target Transfer Tag (out of resources).
        LongOperationReject = 0x0a,
        /// 0x0b: Deprecated (was Negotiation Reset).
        NegotiationReset = 0x0b,
        /// 0x0c: Waiting for Logout.
        WaitingForLogout = 0x0c,
    }
}

const_newtype! {
    /// Status-Class and Status-Detail of a Login Response (RFC 7143 §11.13.5), as
    /// `class << 8 | detail`.
    ///
    /// ```
    /// use iscsi_pdu::LoginStatus;
    /// assert_eq!(LoginStatus::AUTH_FAILURE.class(), 2);
    /// assert_eq!(LoginStatus::AUTH_FAILURE.detail(), 1);
    /// assert!(LoginStatus::SUCCESS.is_success());
    /// assert_eq!(LoginStatus::new(3, 1), LoginStatus::SERVICE_UNAVAILABLE);
    /// ```
    pub struct LoginStatus(pub u16) {
        /// 0/0: login is proceeding OK.
        SUCCESS = 0x0000,
        /// 1/1: the target moved temporarily.
        TARGET_MOVED_TEMPORARILY = 0x0101,
        /// 1/2: the target moved permanently.
        TARGET_MOVED_PERMANENTLY = 0x0102,
        /// 2/0: miscellaneous initiator error.
        INITIATOR_ERROR = 0x0200,
        /// 2/1: the initiator could not be authenticated.
        AUTH_FAILURE = 0x0201,
        /// 2/2: the initiator may not access this target.
        AUTHORIZATION_FAILURE = 0x0202,
        /// 2/3: the requested target name does not exist here.
        NOT_FOUND = 0x0203,
        /// 2/4: the target was removed.
        TARGET_REMOVED = 0x0204,
        /// 2/5: unsupported version.
        UNSUPPORTED_VERSION = 0x0205,
        /// 2/6: too many connections.
        TOO_MANY_CONNECTIONS = 0x0206,
        /// 2/7: a required parameter is missing.
        MISSING_PARAMETER = 0x0207,
        /// 2/8: the connection can't be included in the session.
        CANT_INCLUDE_IN_SESSION = 0x0208,
        /// 2/9: session type not supported.
        SESSION_TYPE_NOT_SUPPORTED = 0x0209,
        /// 2/10: session does not exist.
        SESSION_DOES_NOT_EXIST = 0x020a,
        /// 2/11: invalid request during login.
        INVALID_DURING_LOGIN = 0x020b,
        /// 3/0: target hardware or software error.
        TARGET_ERROR = 0x0300,
        /// 3/1: service unavailable.
        SERVICE_UNAVAILABLE = 0x0301,
        /// 3/2: out of resources.
        OUT_OF_RESOURCES = 0x0302,
    }
}

impl LoginStatus {
    /// Builds a status from its class and detail.
    ///
    /// ```
    /// use iscsi_pdu::LoginStatus;
    /// assert_eq!(LoginStatus::new(2, 3), LoginStatus::NOT_FOUND);
    /// assert_eq!(LoginStatus::new(2, 3).0, 0x0203);
    /// ```
    pub fn new(class: u8, detail: u8) -> Self {
        LoginStatus(u16::from(class) << 8 | u16::from(detail))
    }
    /// Status-Class.
    ///
    /// ```
    /// use iscsi_pdu::LoginStatus;
    /// assert_eq!(LoginStatus::TARGET_MOVED_TEMPORARILY.class(), 1); // redirection
    /// assert_eq!(LoginStatus::OUT_OF_RESOURCES.class(), 3); // target error
    /// ```
    pub fn class(self) -> u8 {
        (self.0 >> 8) as u8
    }
    /// Status-Detail.
    ///
    /// ```
    /// use iscsi_pdu::LoginStatus;
    /// assert_eq!(LoginStatus::NOT_FOUND.detail(), 3);
    /// ```
    pub fn detail(self) -> u8 {
        self.0 as u8
    }
    /// Class 0: success.
    ///
    /// ```
    /// use iscsi_pdu::LoginStatus;
    /// assert!(LoginStatus::SUCCESS.is_success());
    /// assert!(LoginStatus::new(0, 5).is_success()); // any detail of class 0
    /// assert!(!LoginStatus::TARGET_MOVED_PERMANENTLY.is_success());
    /// ```
    pub fn is_success(self) -> bool {
        self.class() == 0
    }
}

//! Task Management Function Request (RFC 7143 §11.5) and Response (§11.6).

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::{Error, Itt, Lun, Opcode, SerialNumber, TmfFunction, TmfResponse};

const FUNCTION_MASK: u8 = 0x7f;
const REFERENCED_TASK_TAG: usize = 20;
const REF_CMD_SN: usize = 32;
const EXP_DATA_SN: usize = 36;
const RESPONSE: usize = 2;

/// Task Management Function Request: abort a task or a task set, reset a LU or the target.
///
/// ```
/// use iscsi_pdu::{Digests, Itt, Lun, Pdu, SerialNumber, TaskMgmtRequest, TmfFunction};
/// let req = TaskMgmtRequest { immediate: true, function: TmfFunction::AbortTask, lun: Lun::ZERO,
///     itt: Itt(9), referenced_task_tag: Itt(7), cmd_sn: SerialNumber(3),
///     exp_stat_sn: SerialNumber(2), ref_cmd_sn: SerialNumber(2), exp_data_sn: SerialNumber(0) };
/// let wire = Pdu::TaskMgmtRequest(req.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(&wire[..2], &[0x42, 0x81]);
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::TaskMgmtRequest(req));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskMgmtRequest {
    /// Immediate delivery.
    pub immediate: bool,
    /// The function.
    pub function: TmfFunction,
    /// LUN the function applies to.
    pub lun: Lun,
    /// This request's task tag.
    pub itt: Itt,
    /// The task to abort (ABORT TASK), else reserved.
    pub referenced_task_tag: Itt,
    /// CmdSN.
    pub cmd_sn: SerialNumber,
    /// ExpStatSN.
    pub exp_stat_sn: SerialNumber,
    /// RefCmdSN: the CmdSN of the task to abort.
    pub ref_cmd_sn: SerialNumber,
    /// ExpDataSN (for task reassignment).
    pub exp_data_sn: SerialNumber,
}

impl Codec for TaskMgmtRequest {
    const OPCODE: Opcode = Opcode::TaskMgmtRequest;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        p.no_data()?;
        let b = &p.bhs;
        Ok(TaskMgmtRequest {
            immediate: b.immediate(),
            function: TmfFunction::from(b.flags() & FUNCTION_MASK),
            lun: b.lun(),
            itt: b.itt(),
            referenced_task_tag: Itt(b.u32_at(REFERENCED_TASK_TAG)),
            cmd_sn: b.sn_at(field::CMD_SN),
            exp_stat_sn: b.sn_at(field::EXP_STAT_SN),
            ref_cmd_sn: b.sn_at(REF_CMD_SN),
            exp_data_sn: b.sn_at(EXP_DATA_SN),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, self.immediate);
        b.set_flags(FINAL | u8::from(self.function) & FUNCTION_MASK);
        b.set_lun(self.lun);
        b.set_itt(self.itt);
        b.set_u32(REFERENCED_TASK_TAG, self.referenced_task_tag.0);
        b.set_sn(field::CMD_SN, self.cmd_sn);
        b.set_sn(field::EXP_STAT_SN, self.exp_stat_sn);
        b.set_sn(REF_CMD_SN, self.ref_cmd_sn);
        b.set_sn(EXP_DATA_SN, self.exp_data_sn);
    }
}

/// Task Management Function Response.
///
/// ```
/// use iscsi_pdu::{Digests, Itt, Pdu, SerialNumber, TaskMgmtResponse, TmfResponse};
/// let rsp = TaskMgmtResponse { response: TmfResponse::Complete, itt: Itt(9),
///     stat_sn: SerialNumber(4), exp_cmd_sn: SerialNumber(4), max_cmd_sn: SerialNumber(35) };
/// let wire = Pdu::TaskMgmtResponse(rsp.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::TaskMgmtResponse(rsp));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskMgmtResponse {
    /// The outcome.
    pub response: TmfResponse,
    /// The request's task tag.
    pub itt: Itt,
    /// StatSN.
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
}

impl Codec for TaskMgmtResponse {
    const OPCODE: Opcode = Opcode::TaskMgmtResponse;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        p.no_data()?;
        let b = &p.bhs;
        Ok(TaskMgmtResponse {
            response: TmfResponse::from(b.u8_at(RESPONSE)),
            itt: b.itt(),
            stat_sn: b.sn_at(field::STAT_SN),
            exp_cmd_sn: b.sn_at(field::EXP_CMD_SN),
            max_cmd_sn: b.sn_at(field::MAX_CMD_SN),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        b.set_flags(FINAL);
        b.set_u8(RESPONSE, self.response.into());
        b.set_itt(self.itt);
        b.set_sn(field::STAT_SN, self.stat_sn);
        b.set_sn(field::EXP_CMD_SN, self.exp_cmd_sn);
        b.set_sn(field::MAX_CMD_SN, self.max_cmd_sn);
    }
}

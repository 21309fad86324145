//! SNACK Request (RFC 7143 §11.16): the initiator asks for PDUs again (ErrorRecoveryLevel ≥ 1).

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::{Error, Itt, Lun, Opcode, SerialNumber, SnackType, Ttt};

const TYPE_MASK: u8 = 0x0f;
const BEG_RUN: usize = 40;
const RUN_LENGTH: usize = 44;

/// SNACK Request.
///
/// ```
/// use iscsi_pdu::*;
/// let snack = SnackRequest { snack_type: SnackType::Status, lun: Lun::ZERO, itt: Itt::RESERVED,
///     ttt: Ttt::RESERVED, exp_stat_sn: SerialNumber(5), beg_run: 3, run_length: 2 };
/// let wire = Pdu::SnackRequest(snack.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(&wire[..2], &[0x10, 0x81]);
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::SnackRequest(snack));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnackRequest {
    /// What to resend.
    pub snack_type: SnackType,
    /// LUN (DataACK), else zero.
    pub lun: Lun,
    /// Initiator Task Tag of the command (Data/R2T, R-Data), else reserved.
    pub itt: Itt,
    /// Target Transfer Tag (DataACK) or SNACK Tag (R-Data), else reserved.
    pub ttt: Ttt,
    /// ExpStatSN.
    pub exp_stat_sn: SerialNumber,
    /// BegRun: the first DataSN, R2TSN or StatSN asked for.
    pub beg_run: u32,
    /// RunLength: how many (0 = all from BegRun on).
    pub run_length: u32,
}

impl Codec for SnackRequest {
    const OPCODE: Opcode = Opcode::SnackRequest;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        p.no_data()?;
        let b = &p.bhs;
        Ok(SnackRequest {
            snack_type: SnackType::from(b.flags() & TYPE_MASK),
            lun: b.lun(),
            itt: b.itt(),
            ttt: Ttt(b.u32_at(field::TTT)),
            exp_stat_sn: b.sn_at(field::EXP_STAT_SN),
            beg_run: b.u32_at(BEG_RUN),
            run_length: b.u32_at(RUN_LENGTH),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        b.set_flags(FINAL | u8::from(self.snack_type) & TYPE_MASK);
        b.set_lun(self.lun);
        b.set_itt(self.itt);
        b.set_u32(field::TTT, self.ttt.0);
        b.set_sn(field::EXP_STAT_SN, self.exp_stat_sn);
        b.set_u32(BEG_RUN, self.beg_run);
        b.set_u32(RUN_LENGTH, self.run_length);
    }
}

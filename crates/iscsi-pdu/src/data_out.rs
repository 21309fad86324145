//! SCSI Data-Out (RFC 7143 §11.7): write data, solicited by an R2T or unsolicited.

use bytes::Bytes;

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::{Error, Itt, Lun, Opcode, SerialNumber, Ttt};

pub(crate) const DATA_SN: usize = 36;
pub(crate) const BUFFER_OFFSET: usize = 40;

/// SCSI Data-Out. The data segment is a slice of the received buffer: decoding does not copy it.
///
/// ```
/// use iscsi_pdu::*;
/// let out = DataOut { final_bit: true, lun: Lun::ZERO, itt: Itt(7), ttt: Ttt(0x100),
///     exp_stat_sn: SerialNumber(3), data_sn: SerialNumber(0), buffer_offset: 8192,
///     data: bytes::Bytes::from(vec![0xab; 8192]) };
/// let wire = bytes::Bytes::from(Pdu::DataOut(out.clone()).to_bytes(Digests::NONE)?);
/// let Pdu::DataOut(back) = Pdu::parse(wire.clone(), Digests::NONE)? else { panic!() };
/// assert_eq!(back.data.as_ptr(), wire[48..].as_ptr()); // zero-copy
/// assert_eq!(back, out);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataOut {
    /// F: the last Data-Out of this R2T (or of the unsolicited burst).
    pub final_bit: bool,
    /// LUN (echoed from the R2T).
    pub lun: Lun,
    /// Initiator Task Tag of the command.
    pub itt: Itt,
    /// The R2T's Target Transfer Tag, or reserved for unsolicited data.
    pub ttt: Ttt,
    /// ExpStatSN.
    pub exp_stat_sn: SerialNumber,
    /// DataSN, counted per R2T from 0 (unsolicited data counts on its own).
    pub data_sn: SerialNumber,
    /// Offset of this data within the command's buffer.
    pub buffer_offset: u32,
    /// The data.
    pub data: Bytes,
}

impl Codec for DataOut {
    const OPCODE: Opcode = Opcode::DataOut;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let b = &p.bhs;
        Ok(DataOut {
            final_bit: b.final_bit(),
            lun: b.lun(),
            itt: b.itt(),
            ttt: Ttt(b.u32_at(field::TTT)),
            exp_stat_sn: b.sn_at(field::EXP_STAT_SN),
            data_sn: b.sn_at(DATA_SN),
            buffer_offset: b.u32_at(BUFFER_OFFSET),
            data: p.data.clone(),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        b.set_flags(if self.final_bit { FINAL } else { 0 });
        b.set_lun(self.lun);
        b.set_itt(self.itt);
        b.set_u32(field::TTT, self.ttt.0);
        b.set_sn(field::EXP_STAT_SN, self.exp_stat_sn);
        b.set_sn(DATA_SN, self.data_sn);
        b.set_u32(BUFFER_OFFSET, self.buffer_offset);
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}

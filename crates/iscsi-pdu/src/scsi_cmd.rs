//! SCSI Command (RFC 7143 §11.3).

use bytes::Bytes;

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::{Ahs, Error, Itt, Lun, Opcode, SerialNumber, TaskAttribute};

const READ: u8 = 0x40;
const WRITE: u8 = 0x20;
const ATTR_MASK: u8 = 0x07;
const EXPECTED_LEN: usize = 20;
const CDB: usize = 32;

/// SCSI Command: a CDB for a LUN, with optional immediate (unsolicited) write data.
///
/// ```
/// use iscsi_pdu::{Digests, Itt, Lun, Pdu, ScsiCommand, SerialNumber, TaskAttribute};
/// let mut cdb = [0u8; 16];
/// cdb[0] = 0x28; // READ(10)
/// cdb[8] = 8;    // 8 blocks
/// let cmd = ScsiCommand { read: true, expected_data_length: 4096, cdb, itt: Itt(7),
///     cmd_sn: SerialNumber(1), ..ScsiCommand::default() };
/// let wire = Pdu::ScsiCommand(cmd.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(&wire[..2], &[0x01, 0xc1]); // opcode; F, R, ATTR=Simple
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::ScsiCommand(cmd));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScsiCommand {
    /// Immediate delivery.
    pub immediate: bool,
    /// F: no unsolicited Data-Out PDUs follow.
    pub final_bit: bool,
    /// R: data will be read from the target.
    pub read: bool,
    /// W: data will be written to the target.
    pub write: bool,
    /// ATTR: the task attribute.
    pub attr: TaskAttribute,
    /// LUN.
    pub lun: Lun,
    /// Initiator Task Tag.
    pub itt: Itt,
    /// Expected Data Transfer Length (the write length for bidirectional commands).
    pub expected_data_length: u32,
    /// CmdSN.
    pub cmd_sn: SerialNumber,
    /// ExpStatSN.
    pub exp_stat_sn: SerialNumber,
    /// The first 16 bytes of the CDB (zero-padded); longer CDBs continue in an
    /// [`Ahs::ExtendedCdb`].
    pub cdb: [u8; 16],
    /// Additional header segments, in wire order.
    pub ahs: Vec<Ahs>,
    /// Immediate data.
    pub data: Bytes,
}

impl Default for ScsiCommand {
    /// A final, simple-attribute command to LUN 0 with everything else zero.
    fn default() -> Self {
        ScsiCommand {
            immediate: false,
            final_bit: true,
            read: false,
            write: false,
            attr: TaskAttribute::Simple,
            lun: Lun::ZERO,
            itt: Itt(0),
            expected_data_length: 0,
            cmd_sn: SerialNumber(0),
            exp_stat_sn: SerialNumber(0),
            cdb: [0; 16],
            ahs: Vec::new(),
            data: Bytes::new(),
        }
    }
}

impl ScsiCommand {
    /// The whole CDB: the 16 BHS bytes followed by the Extended CDB AHS, if any. For CDBs of at
    /// most 16 bytes the trailing zero padding is included.
    ///
    /// ```
    /// use iscsi_pdu::{Ahs, ScsiCommand};
    /// let cmd = ScsiCommand { ahs: vec![Ahs::ExtendedCdb(bytes::Bytes::from_static(&[9; 16]))],
    ///     ..ScsiCommand::default() };
    /// assert_eq!(cmd.full_cdb().len(), 32);
    /// ```
    pub fn full_cdb(&self) -> Vec<u8> {
        let mut cdb = self.cdb.to_vec();
        for ahs in &self.ahs {
            if let Ahs::ExtendedCdb(ext) = ahs {
                cdb.extend_from_slice(ext);
            }
        }
        cdb
    }

    /// The expected read length of a bidirectional command (AHSType 2), if present.
    ///
    /// ```
    /// use iscsi_pdu::{Ahs, ScsiCommand};
    /// let bidi = ScsiCommand { read: true, write: true, expected_data_length: 512,
    ///     ahs: vec![Ahs::BidiReadLength(4096)], ..ScsiCommand::default() };
    /// assert_eq!(bidi.bidi_read_length(), Some(4096));
    /// assert_eq!(ScsiCommand::default().bidi_read_length(), None);
    /// ```
    pub fn bidi_read_length(&self) -> Option<u32> {
        self.ahs.iter().find_map(|a| match a {
            Ahs::BidiReadLength(n) => Some(*n),
            _ => None,
        })
    }
}

impl Codec for ScsiCommand {
    const OPCODE: Opcode = Opcode::ScsiCommand;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        let b = &p.bhs;
        let flags = b.flags();
        Ok(ScsiCommand {
            immediate: b.immediate(),
            final_bit: flags & FINAL != 0,
            read: flags & READ != 0,
            write: flags & WRITE != 0,
            attr: TaskAttribute::from(flags & ATTR_MASK),
            lun: b.lun(),
            itt: b.itt(),
            expected_data_length: b.u32_at(EXPECTED_LEN),
            cmd_sn: b.sn_at(field::CMD_SN),
            exp_stat_sn: b.sn_at(field::EXP_STAT_SN),
            cdb: b.bytes::<16>(CDB),
            ahs: crate::ahs::parse_list(&p.ahs, Self::OPCODE)?,
            data: p.data.clone(),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, self.immediate);
        let mut flags = u8::from(self.attr) & ATTR_MASK;
        if self.final_bit {
            flags |= FINAL;
        }
        if self.read {
            flags |= READ;
        }
        if self.write {
            flags |= WRITE;
        }
        b.set_flags(flags);
        b.set_lun(self.lun);
        b.set_itt(self.itt);
        b.set_u32(EXPECTED_LEN, self.expected_data_length);
        b.set_sn(field::CMD_SN, self.cmd_sn);
        b.set_sn(field::EXP_STAT_SN, self.exp_stat_sn);
        b.set_bytes(CDB, &self.cdb);
    }

    fn ahs(&self) -> &[Ahs] {
        &self.ahs
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}

//! The Basic Header Segment (RFC 7143 §11.2.1): a view over the 48 fixed bytes that begin
//! every PDU, in the style of smoltcp's `wire` views.

use crate::{Error, Itt, Lun, Opcode, SerialNumber};

/// Length of the Basic Header Segment.
pub const BHS_LEN: usize = 48;

/// Byte offsets of the fields that every BHS shares (RFC 7143 §11.2.1).
pub(crate) mod field {
    /// Byte 0: bit 6 is the Immediate bit, bits 0–5 the opcode.
    pub(crate) const OPCODE: usize = 0;
    /// Byte 1: the Final bit (0x80) and opcode-specific flags.
    pub(crate) const FLAGS: usize = 1;
    /// Byte 4: TotalAHSLength, in 4-byte words.
    pub(crate) const TOTAL_AHS_LEN: usize = 4;
    /// Bytes 5–7: DataSegmentLength, in bytes, without padding.
    pub(crate) const DATA_SEG_LEN: usize = 5;
    /// Bytes 8–15: LUN, or opcode-specific fields.
    pub(crate) const LUN: usize = 8;
    /// Bytes 16–19: Initiator Task Tag.
    pub(crate) const ITT: usize = 16;
    /// Bytes 20–23 of most PDUs: Target Transfer Tag.
    pub(crate) const TTT: usize = 20;
    /// Bytes 24–27 of initiator PDUs: CmdSN.
    pub(crate) const CMD_SN: usize = 24;
    /// Bytes 28–31 of initiator PDUs: ExpStatSN.
    pub(crate) const EXP_STAT_SN: usize = 28;
    /// Bytes 24–27 of target PDUs: StatSN.
    pub(crate) const STAT_SN: usize = 24;
    /// Bytes 28–31 of target PDUs: ExpCmdSN.
    pub(crate) const EXP_CMD_SN: usize = 28;
    /// Bytes 32–35 of target PDUs: MaxCmdSN.
    pub(crate) const MAX_CMD_SN: usize = 32;
}

/// The Immediate delivery bit in byte 0.
pub(crate) const IMMEDIATE: u8 = 0x40;
/// The Final bit in byte 1.
pub(crate) const FINAL: u8 = 0x80;

/// A read (and, over `AsMut<[u8]>`, write) view of a Basic Header Segment.
///
/// `new_checked` is for input and fails on fewer than 48 bytes; every getter of a checked view
/// is then infallible. `new_unchecked` is for emitting into a buffer known to be 48 bytes.
///
/// ```
/// use iscsi_pdu::{Bhs, Opcode};
/// let mut raw = [0u8; 48];
/// let mut bhs = Bhs::new_unchecked(&mut raw[..]);
/// bhs.set_opcode(Opcode::NopOut, true);
/// bhs.set_data_segment_len(5);
/// let bhs = Bhs::new_checked(&raw[..]).unwrap();
/// assert_eq!(bhs.opcode(), Opcode::NopOut);
/// assert!(bhs.immediate());
/// assert_eq!(bhs.data_segment_len(), 5);
/// ```
#[derive(Debug, Clone)]
pub struct Bhs<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Bhs<T> {
    /// Wraps a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        Bhs { buffer }
    }

    /// Wraps a buffer of at least [`BHS_LEN`] bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let have = buffer.as_ref().len();
        if have < BHS_LEN {
            return Err(Error::Truncated {
                needed: BHS_LEN,
                have,
            });
        }
        Ok(Bhs { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The opcode (bits 0–5 of byte 0).
    pub fn opcode(&self) -> Opcode {
        Opcode::from(self.b()[field::OPCODE] & 0x3f)
    }

    /// The Immediate bit (bit 6 of byte 0).
    pub fn immediate(&self) -> bool {
        self.b()[field::OPCODE] & IMMEDIATE != 0
    }

    /// Byte 1: the Final bit and the opcode-specific flags.
    pub fn flags(&self) -> u8 {
        self.b()[field::FLAGS]
    }

    /// The Final bit (bit 7 of byte 1).
    pub fn final_bit(&self) -> bool {
        self.flags() & FINAL != 0
    }

    /// TotalAHSLength converted to bytes.
    pub fn total_ahs_len(&self) -> usize {
        usize::from(self.b()[field::TOTAL_AHS_LEN]) * 4
    }

    /// DataSegmentLength, without padding.
    pub fn data_segment_len(&self) -> u32 {
        let b = self.b();
        u32::from_be_bytes([0, b[5], b[6], b[7]])
    }

    /// Bytes 8–15 as a LUN.
    pub fn lun(&self) -> Lun {
        Lun(self.bytes::<8>(field::LUN))
    }

    /// The Initiator Task Tag.
    pub fn itt(&self) -> Itt {
        Itt(self.u32_at(field::ITT))
    }

    /// The byte at `offset`.
    pub fn u8_at(&self, offset: usize) -> u8 {
        self.b()[offset]
    }

    /// The big-endian `u16` at `offset`.
    pub fn u16_at(&self, offset: usize) -> u16 {
        u16::from_be_bytes(self.bytes::<2>(offset))
    }

    /// The big-endian `u32` at `offset`.
    pub fn u32_at(&self, offset: usize) -> u32 {
        u32::from_be_bytes(self.bytes::<4>(offset))
    }

    /// The serial number at `offset`.
    pub fn sn_at(&self, offset: usize) -> SerialNumber {
        SerialNumber(self.u32_at(offset))
    }

    /// `N` bytes starting at `offset`.
    pub fn bytes<const N: usize>(&self, offset: usize) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.b()[offset..offset + N]);
        out
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Bhs<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the opcode and the Immediate bit.
    pub fn set_opcode(&mut self, opcode: Opcode, immediate: bool) {
        self.m()[field::OPCODE] = u8::from(opcode) & 0x3f | if immediate { IMMEDIATE } else { 0 };
    }

    /// Sets byte 1.
    pub fn set_flags(&mut self, flags: u8) {
        self.m()[field::FLAGS] = flags;
    }

    /// Sets TotalAHSLength from a length in bytes (a multiple of 4, at most 1020).
    pub fn set_total_ahs_len(&mut self, bytes: usize) {
        self.m()[field::TOTAL_AHS_LEN] = (bytes / 4) as u8;
    }

    /// Sets DataSegmentLength (24 bits).
    pub fn set_data_segment_len(&mut self, len: u32) {
        let [_, a, b, c] = len.to_be_bytes();
        self.m()[field::DATA_SEG_LEN..field::DATA_SEG_LEN + 3].copy_from_slice(&[a, b, c]);
    }

    /// Sets bytes 8–15.
    pub fn set_lun(&mut self, lun: Lun) {
        self.set_bytes(field::LUN, &lun.0);
    }

    /// Sets the Initiator Task Tag.
    pub fn set_itt(&mut self, itt: Itt) {
        self.set_u32(field::ITT, itt.0);
    }

    /// Sets the byte at `offset`.
    pub fn set_u8(&mut self, offset: usize, value: u8) {
        self.m()[offset] = value;
    }

    /// Sets the big-endian `u16` at `offset`.
    pub fn set_u16(&mut self, offset: usize, value: u16) {
        self.set_bytes(offset, &value.to_be_bytes());
    }

    /// Sets the big-endian `u32` at `offset`.
    pub fn set_u32(&mut self, offset: usize, value: u32) {
        self.set_bytes(offset, &value.to_be_bytes());
    }

    /// Sets the serial number at `offset`.
    pub fn set_sn(&mut self, offset: usize, value: SerialNumber) {
        self.set_u32(offset, value.0);
    }

    /// Copies `bytes` in at `offset`.
    pub fn set_bytes(&mut self, offset: usize, bytes: &[u8]) {
        self.m()[offset..offset + bytes.len()].copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_short_buffer() {
        assert_eq!(
            Bhs::new_checked(&[0u8; 47][..]).unwrap_err(),
            Error::Truncated {
                needed: 48,
                have: 47
            }
        );
    }

    #[test]
    fn common_fields_deconstruct() {
        let raw: [u8; 48] = [
            0x41, // Immediate, SCSI Command
            0xc1, // F, R, ATTR=simple
            0x00, 0x00, // reserved
            0x04, // TotalAHSLength = 4 words
            0x01, 0x02, 0x03, // DataSegmentLength = 0x010203
            0x00, 0x07, 0, 0, 0, 0, 0, 0, // LUN 7
            0xde, 0xad, 0xbe, 0xef, // ITT
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let bhs = Bhs::new_checked(&raw[..]).unwrap();
        assert_eq!(bhs.opcode(), Opcode::ScsiCommand);
        assert!(bhs.immediate());
        assert!(bhs.final_bit());
        assert_eq!(bhs.total_ahs_len(), 16);
        assert_eq!(bhs.data_segment_len(), 0x010203);
        assert_eq!(bhs.lun().index(), Some(7));
        assert_eq!(bhs.itt(), Itt(0xdead_beef));
    }

    #[test]
    fn common_fields_construct() {
        let mut raw = [0u8; 48];
        let mut bhs = Bhs::new_unchecked(&mut raw[..]);
        bhs.set_opcode(Opcode::ScsiCommand, true);
        bhs.set_flags(0xc1);
        bhs.set_total_ahs_len(16);
        bhs.set_data_segment_len(0x010203);
        bhs.set_lun(Lun::from_index(7).unwrap());
        bhs.set_itt(Itt(0xdead_beef));
        assert_eq!(
            &raw[..20],
            &[
                0x41, 0xc1, 0, 0, 4, 1, 2, 3, 0, 7, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef
            ]
        );
    }
}

//! [`BlockCdb`]: the LBA + transfer length layout shared by READ, WRITE, VERIFY, WRITE AND
//! VERIFY, PRE-FETCH, SYNCHRONIZE CACHE, WRITE SAME, ORWRITE and WRITE ATOMIC in their 6, 10,
//! 12 and 16 byte forms (SBC-3 §5).

use super::{cdb_len, field, take};
use crate::error::Error;

/// A CDB of the block command layout.
///
/// | size | flags | LBA | length | group |
/// |---|---|---|---|---|
/// | 6  | byte 1 bits 5-7 | bytes 1-3 (21 bits) | byte 4 | — |
/// | 10 | byte 1 | bytes 2-5 | bytes 7-8 | byte 6 |
/// | 12 | byte 1 | bytes 2-5 | bytes 6-9 | byte 10 |
/// | 16 | byte 1 | bytes 2-9 | bytes 10-13 | byte 14 |
///
/// The length is as encoded: READ(6)/WRITE(6)'s 0 meaning 256 blocks is for the handler.
///
/// ```
/// use scsi::cdb::BlockCdb;
/// let cdb = [0x28, 0x08, 0, 0, 0x10, 0, 0, 0, 8, 0]; // READ(10), FUA, LBA 4096, 8 blocks
/// let read = BlockCdb::parse(&cdb)?;
/// assert_eq!((read.lba, read.length, read.flags), (4096, 8, 0x08));
/// let mut out = [0u8; 10];
/// read.emit(&mut out);
/// assert_eq!(out, cdb);
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockCdb {
    /// The operation code; its group sets the CDB length.
    pub opcode: u8,
    /// Byte 1 (DPO, FUA, RDPROTECT/WRPROTECT, BYTCHK, UNMAP, ...), as received. In the 6 byte
    /// form only bits 5-7 (which hold no LBA bits).
    pub flags: u8,
    /// The logical block address.
    pub lba: u64,
    /// The transfer (or verification, or number of blocks) length, as encoded.
    pub length: u32,
    /// The group number byte, as received (0 in the 6 byte form).
    pub group: u8,
    /// The CONTROL byte.
    pub control: u8,
}

impl BlockCdb {
    /// Parses a block command CDB of any size; the opcode's group decides the layout.
    ///
    /// ```
    /// use scsi::{Error, cdb::BlockCdb};
    /// // WRITE(6): a 21 bit LBA and an 8 bit length, no group byte.
    /// let w = BlockCdb::parse(&[0x0a, 0x01, 0x23, 0x45, 16, 0])?;
    /// assert_eq!((w.lba, w.length, w.group), (0x01_2345, 16, 0));
    /// // READ(10) cut short.
    /// assert_eq!(BlockCdb::parse(&[0x28, 0, 0]), Err(Error::Truncated { needed: 10, have: 3 }));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] when `cdb` is shorter than its group implies,
    /// [`Error::UnsupportedOpcode`] for a group without a block layout.
    pub fn parse(cdb: &[u8]) -> Result<Self, Error> {
        let opcode = *cdb.first().ok_or(Error::Truncated { needed: 1, have: 0 })?;
        let len = cdb_len(opcode).ok_or(Error::UnsupportedOpcode { opcode })?;
        let b = take(cdb, len)?;
        let control = b[len - 1];
        Ok(match len {
            6 => BlockCdb {
                opcode,
                flags: b[1] & 0xe0,
                lba: u64::from(field::u24_at(b, 1) & 0x1f_ffff),
                length: u32::from(b[4]),
                group: 0,
                control,
            },
            10 => BlockCdb {
                opcode,
                flags: b[1],
                lba: u64::from(field::u32_at(b, 2)),
                length: u32::from(field::u16_at(b, 7)),
                group: b[6],
                control,
            },
            12 => BlockCdb {
                opcode,
                flags: b[1],
                lba: u64::from(field::u32_at(b, 2)),
                length: field::u32_at(b, 6),
                group: b[10],
                control,
            },
            _ => BlockCdb {
                opcode,
                flags: b[1],
                lba: field::u64_at(b, 2),
                length: field::u32_at(b, 10),
                group: b[14],
                control,
            },
        })
    }

    /// The CDB length this opcode uses (0 for opcodes without a block layout).
    ///
    /// ```
    /// use scsi::cdb::BlockCdb;
    /// let cdb = |opcode| BlockCdb { opcode, flags: 0, lba: 0, length: 1, group: 0, control: 0 };
    /// assert_eq!(cdb(0x08).buffer_len(), 6); // READ(6)
    /// assert_eq!(cdb(0xa8).buffer_len(), 12); // READ(12)
    /// assert_eq!(cdb(0x88).buffer_len(), 16); // READ(16)
    /// assert_eq!(cdb(0x7f).buffer_len(), 0); // variable length: no block layout
    /// ```
    pub fn buffer_len(&self) -> usize {
        cdb_len(self.opcode).unwrap_or(0)
    }

    /// Writes the CDB into `buf[..buffer_len()]`, truncating fields wider than the form holds
    /// (LBA to 21 or 32 bits, length to 8 or 16 bits). Does nothing if `buf` is too short.
    ///
    /// ```
    /// use scsi::cdb::BlockCdb;
    /// let read = BlockCdb { opcode: 0x28, flags: 0, lba: 0x1_0000_0002, length: 0x1_0003,
    ///                       group: 0, control: 0 };
    /// let mut b = [0u8; 10];
    /// read.emit(&mut b);
    /// assert_eq!(b, [0x28, 0, 0, 0, 0, 2, 0, 0, 3, 0]); // LBA cut to 32 bits, length to 16
    /// let mut short = [0xff; 4];
    /// read.emit(&mut short);
    /// assert_eq!(short, [0xff; 4]); // too short: left alone
    /// ```
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        let Some(b) = buf.get_mut(..len) else {
            return;
        };
        if len == 0 {
            return;
        }
        b.fill(0);
        b[0] = self.opcode;
        b[len - 1] = self.control;
        match len {
            6 => {
                let lba = (self.lba as u32 & 0x1f_ffff).to_be_bytes();
                b[1] = (self.flags & 0xe0) | lba[1];
                b[2] = lba[2];
                b[3] = lba[3];
                b[4] = self.length as u8;
            }
            10 => {
                b[1] = self.flags;
                b[2..6].copy_from_slice(&(self.lba as u32).to_be_bytes());
                b[6] = self.group;
                b[7..9].copy_from_slice(&(self.length as u16).to_be_bytes());
            }
            12 => {
                b[1] = self.flags;
                b[2..6].copy_from_slice(&(self.lba as u32).to_be_bytes());
                b[6..10].copy_from_slice(&self.length.to_be_bytes());
                b[10] = self.group;
            }
            _ => {
                b[1] = self.flags;
                b[2..10].copy_from_slice(&self.lba.to_be_bytes());
                b[10..14].copy_from_slice(&self.length.to_be_bytes());
                b[14] = self.group;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_read16_fields() {
        let cdb = [
            0x88, 0x10, // READ(16), DPO
            0, 0, 0, 1, 0, 0, 0, 2, // LBA
            0, 0, 0, 3, // TRANSFER LENGTH
            0x05, 0, // GROUP NUMBER, CONTROL
        ];
        let c = BlockCdb::parse(&cdb).unwrap();
        assert_eq!(c.lba, (1 << 32) | 2);
        assert_eq!((c.length, c.flags, c.group), (3, 0x10, 5));
    }

    #[test]
    fn rejects_short_cdb() {
        assert_eq!(
            BlockCdb::parse(&[0x28, 0, 0]),
            Err(Error::Truncated {
                needed: 10,
                have: 3
            })
        );
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(bytes in proptest::collection::vec(any::<u8>(), 16)) {
            let Ok(c) = BlockCdb::parse(&bytes) else { return Ok(()) };
            let mut out = vec![0u8; c.buffer_len()];
            c.emit(&mut out);
            prop_assert_eq!(BlockCdb::parse(&out).unwrap(), c);
            // Canonical: every byte comes back, except reserved byte 6's neighbours in 6-byte
            // form (none) — the whole CDB is significant.
            prop_assert_eq!(&out[..], &bytes[..c.buffer_len()]);
        }
    }
}

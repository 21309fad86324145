//! READ CAPACITY(10) and READ CAPACITY(16) (SBC-3 §5.15, §5.16).

use super::{field, reserved, take};
use crate::error::Error;

/// READ CAPACITY(10) (opcode 25h).
///
/// ```
/// use scsi::cdb::ReadCapacity10Cdb;
/// let c = ReadCapacity10Cdb::parse(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0])?;
/// assert_eq!(c, ReadCapacity10Cdb { lba: 0, pmi: false, control: 0 });
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadCapacity10Cdb {
    /// LOGICAL BLOCK ADDRESS (obsolete; must be 0 unless PMI).
    pub lba: u32,
    /// PMI (obsolete).
    pub pmi: bool,
    /// CONTROL.
    pub control: u8,
}

impl ReadCapacity10Cdb {
    /// Parses the 10 byte CDB.
    ///
    /// ```
    /// use scsi::{Error, cdb::ReadCapacity10Cdb};
    /// // PMI, LBA 4096
    /// let c = ReadCapacity10Cdb::parse(&[0x25, 0, 0, 0, 0x10, 0, 0, 0, 0x01, 0])?;
    /// assert!(c.pmi && c.lba == 4096);
    /// assert!(matches!(ReadCapacity10Cdb::parse(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0x02, 0]),
    ///                  Err(Error::InvalidCdbField { byte: 8, bit: Some(1), .. })));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::InvalidCdbField`] for reserved bits.
    pub fn parse(cdb: &[u8]) -> Result<Self, Error> {
        let b = take(cdb, 10)?;
        for i in [1usize, 6, 7] {
            if b[i] != 0 {
                return Err(reserved("reserved", i as u16, b[i]));
            }
        }
        if b[8] & 0xfe != 0 {
            return Err(reserved("reserved", 8, b[8] & 0xfe));
        }
        Ok(ReadCapacity10Cdb {
            lba: field::u32_at(b, 2),
            pmi: b[8] & 1 != 0,
            control: b[9],
        })
    }

    /// 10.
    ///
    /// ```
    /// use scsi::cdb::ReadCapacity10Cdb;
    /// assert_eq!(ReadCapacity10Cdb { lba: 0, pmi: false, control: 0 }.buffer_len(), 10);
    /// ```
    pub fn buffer_len(&self) -> usize {
        10
    }

    /// Writes the CDB (nothing if `buf` is too short).
    ///
    /// ```
    /// use scsi::cdb::ReadCapacity10Cdb;
    /// let mut b = [0u8; 10];
    /// ReadCapacity10Cdb { lba: 0x1000, pmi: true, control: 0 }.emit(&mut b);
    /// assert_eq!(b, [0x25, 0, 0, 0, 0x10, 0, 0, 0, 0x01, 0]);
    /// ```
    pub fn emit(&self, buf: &mut [u8]) {
        let Some(b) = buf.get_mut(..10) else { return };
        b.fill(0);
        b[0] = 0x25;
        b[2..6].copy_from_slice(&self.lba.to_be_bytes());
        b[8] = u8::from(self.pmi);
        b[9] = self.control;
    }
}

/// READ CAPACITY(16) (opcode 9Eh, service action 10h).
///
/// ```
/// use scsi::cdb::ReadCapacity16Cdb;
/// let mut b = [0u8; 16];
/// ReadCapacity16Cdb { lba: 0, allocation_length: 32, pmi: false, control: 0 }.emit(&mut b);
/// assert_eq!((b[0], b[1], b[13]), (0x9e, 0x10, 32));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadCapacity16Cdb {
    /// LOGICAL BLOCK ADDRESS (obsolete).
    pub lba: u64,
    /// ALLOCATION LENGTH.
    pub allocation_length: u32,
    /// PMI (obsolete).
    pub pmi: bool,
    /// CONTROL.
    pub control: u8,
}

impl ReadCapacity16Cdb {
    /// Parses the 16 byte CDB.
    ///
    /// ```
    /// use scsi::{Error, cdb::ReadCapacity16Cdb};
    /// let mut cdb = [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0];
    /// assert_eq!(ReadCapacity16Cdb::parse(&cdb)?.allocation_length, 32);
    /// cdb[1] = 0x12; // GET LBA STATUS: another SERVICE ACTION IN(16) service action
    /// assert_eq!(ReadCapacity16Cdb::parse(&cdb), Err(Error::UnsupportedOpcode { opcode: 0x9e }));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::UnsupportedOpcode`] for another opcode or service
    /// action, [`Error::InvalidCdbField`] for reserved bits.
    pub fn parse(cdb: &[u8]) -> Result<Self, Error> {
        let b = take(cdb, 16)?;
        if b[0] != 0x9e || b[1] & 0x1f != 0x10 {
            return Err(Error::UnsupportedOpcode { opcode: b[0] });
        }
        if b[1] & 0xe0 != 0 {
            return Err(reserved("reserved", 1, b[1] & 0xe0));
        }
        if b[14] & 0xfe != 0 {
            return Err(reserved("reserved", 14, b[14] & 0xfe));
        }
        Ok(ReadCapacity16Cdb {
            lba: field::u64_at(b, 2),
            allocation_length: field::u32_at(b, 10),
            pmi: b[14] & 1 != 0,
            control: b[15],
        })
    }

    /// 16.
    ///
    /// ```
    /// use scsi::cdb::ReadCapacity16Cdb;
    /// let c = ReadCapacity16Cdb { lba: 0, allocation_length: 32, pmi: false, control: 0 };
    /// assert_eq!(c.buffer_len(), 16);
    /// ```
    pub fn buffer_len(&self) -> usize {
        16
    }

    /// Writes the CDB (nothing if `buf` is too short).
    ///
    /// ```
    /// use scsi::cdb::ReadCapacity16Cdb;
    /// let c = ReadCapacity16Cdb { lba: 0, allocation_length: 0x1_0000, pmi: false, control: 0 };
    /// let mut b = [0u8; 16];
    /// c.emit(&mut b);
    /// assert_eq!((b[0], b[1]), (0x9e, 0x10)); // SERVICE ACTION IN(16), READ CAPACITY(16)
    /// assert_eq!(b[10..14], [0, 1, 0, 0]);
    /// ```
    pub fn emit(&self, buf: &mut [u8]) {
        let Some(b) = buf.get_mut(..16) else { return };
        b.fill(0);
        b[0] = 0x9e;
        b[1] = 0x10;
        b[2..10].copy_from_slice(&self.lba.to_be_bytes());
        b[10..14].copy_from_slice(&self.allocation_length.to_be_bytes());
        b[14] = u8::from(self.pmi);
        b[15] = self.control;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn rc10_round_trip(lba: u32, pmi: bool, control: u8) {
            let c = ReadCapacity10Cdb { lba, pmi, control };
            let mut b = [0u8; 10];
            c.emit(&mut b);
            prop_assert_eq!(ReadCapacity10Cdb::parse(&b).unwrap(), c);
        }

        #[test]
        fn rc16_round_trip(lba: u64, allocation_length: u32, pmi: bool, control: u8) {
            let c = ReadCapacity16Cdb { lba, allocation_length, pmi, control };
            let mut b = [0u8; 16];
            c.emit(&mut b);
            prop_assert_eq!(ReadCapacity16Cdb::parse(&b).unwrap(), c);
        }
    }
}

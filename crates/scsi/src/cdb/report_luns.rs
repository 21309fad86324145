//! REPORT LUNS (SPC-4 §6.33).

use super::{field, reserved, take};
use crate::error::Error;

/// The REPORT LUNS CDB (opcode A0h).
///
/// ```
/// use scsi::cdb::ReportLunsCdb;
/// let mut b = [0u8; 12];
/// let c = ReportLunsCdb { select_report: 0, allocation_length: 4096, control: 0 };
/// c.emit(&mut b);
/// assert_eq!(ReportLunsCdb::parse(&b)?, c);
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReportLunsCdb {
    /// SELECT REPORT: 0 all LUNs, 1 well known only, 2 all including well known.
    pub select_report: u8,
    /// ALLOCATION LENGTH.
    pub allocation_length: u32,
    /// CONTROL.
    pub control: u8,
}

impl ReportLunsCdb {
    /// Operation code.
    ///
    /// ```
    /// use scsi::cdb::ReportLunsCdb;
    /// let mut b = [0u8; 12];
    /// ReportLunsCdb { select_report: 0, allocation_length: 16, control: 0 }.emit(&mut b);
    /// assert_eq!(b[0], ReportLunsCdb::OPCODE);
    /// ```
    pub const OPCODE: u8 = 0xa0;

    /// Parses the 12 byte CDB.
    ///
    /// ```
    /// use scsi::{Error, cdb::ReportLunsCdb};
    /// let c = ReportLunsCdb::parse(&[0xa0, 0, 0x02, 0, 0, 0, 0, 0, 0x10, 0, 0, 0])?;
    /// assert_eq!((c.select_report, c.allocation_length), (2, 4096));
    /// // Byte 1 is reserved.
    /// assert!(matches!(ReportLunsCdb::parse(&[0xa0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]),
    ///                  Err(Error::InvalidCdbField { byte: 1, .. })));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::InvalidCdbField`] for reserved bytes.
    pub fn parse(cdb: &[u8]) -> Result<Self, Error> {
        let b = take(cdb, 12)?;
        for i in [1usize, 3, 4, 5, 10] {
            if b[i] != 0 {
                return Err(reserved("reserved", i as u16, b[i]));
            }
        }
        Ok(ReportLunsCdb {
            select_report: b[2],
            allocation_length: field::u32_at(b, 6),
            control: b[11],
        })
    }

    /// 12.
    ///
    /// ```
    /// use scsi::cdb::ReportLunsCdb;
    /// let c = ReportLunsCdb { select_report: 0, allocation_length: 16, control: 0 };
    /// assert_eq!(c.buffer_len(), 12);
    /// ```
    pub fn buffer_len(&self) -> usize {
        12
    }

    /// Writes the CDB (nothing if `buf` is too short).
    ///
    /// ```
    /// use scsi::cdb::ReportLunsCdb;
    /// let mut b = [0u8; 12];
    /// ReportLunsCdb { select_report: 2, allocation_length: 4096, control: 0 }.emit(&mut b);
    /// assert_eq!(b, [0xa0, 0, 0x02, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]);
    /// ```
    pub fn emit(&self, buf: &mut [u8]) {
        let Some(b) = buf.get_mut(..12) else { return };
        b.fill(0);
        b[0] = Self::OPCODE;
        b[2] = self.select_report;
        b[6..10].copy_from_slice(&self.allocation_length.to_be_bytes());
        b[11] = self.control;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(select_report: u8, allocation_length: u32, control: u8) {
            let c = ReportLunsCdb { select_report, allocation_length, control };
            let mut b = [0u8; 12];
            c.emit(&mut b);
            prop_assert_eq!(ReportLunsCdb::parse(&b).unwrap(), c);
        }
    }
}

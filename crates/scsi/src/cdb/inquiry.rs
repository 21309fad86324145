//! INQUIRY (SPC-4 §6.6).

use super::{field, reserved, take};
use crate::error::Error;

/// The INQUIRY CDB.
///
/// ```
/// use scsi::cdb::InquiryCdb;
/// let c = InquiryCdb::parse(&[0x12, 0x01, 0x83, 0x00, 0xff, 0x00])?;
/// assert!(c.evpd && c.page_code == 0x83 && c.allocation_length == 255);
/// let mut out = [0u8; 6];
/// c.emit(&mut out);
/// assert_eq!(out, [0x12, 0x01, 0x83, 0x00, 0xff, 0x00]);
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InquiryCdb {
    /// EVPD: return the vital product data page `page_code`.
    pub evpd: bool,
    /// The VPD page (must be 0 without EVPD).
    pub page_code: u8,
    /// ALLOCATION LENGTH.
    pub allocation_length: u16,
    /// CONTROL.
    pub control: u8,
}

impl InquiryCdb {
    /// Operation code.
    ///
    /// ```
    /// use scsi::cdb::InquiryCdb;
    /// let mut b = [0u8; 6];
    /// InquiryCdb { evpd: false, page_code: 0, allocation_length: 36, control: 0 }.emit(&mut b);
    /// assert_eq!(b[0], InquiryCdb::OPCODE);
    /// ```
    pub const OPCODE: u8 = 0x12;

    /// Parses the 6 byte CDB.
    ///
    /// ```
    /// use scsi::{Error, cdb::InquiryCdb};
    /// let c = InquiryCdb::parse(&[0x12, 0, 0, 0, 36, 0])?; // standard INQUIRY data, 36 bytes
    /// assert!(!c.evpd && c.allocation_length == 36);
    /// // CMDDT (byte 1, bit 1) is obsolete, so reserved here.
    /// assert!(matches!(InquiryCdb::parse(&[0x12, 0x02, 0, 0, 36, 0]),
    ///                  Err(Error::InvalidCdbField { byte: 1, bit: Some(1), .. })));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`]; [`Error::InvalidCdbField`] for reserved or obsolete (CMDDT) bits
    /// in byte 1.
    pub fn parse(cdb: &[u8]) -> Result<Self, Error> {
        let b = take(cdb, 6)?;
        if b[1] & 0xfe != 0 {
            return Err(reserved("byte 1 reserved", 1, b[1] & 0xfe));
        }
        Ok(InquiryCdb {
            evpd: b[1] & 1 != 0,
            page_code: b[2],
            allocation_length: field::u16_at(b, 3),
            control: b[5],
        })
    }

    /// 6.
    ///
    /// ```
    /// use scsi::cdb::InquiryCdb;
    /// let c = InquiryCdb { evpd: true, page_code: 0x80, allocation_length: 255, control: 0 };
    /// let mut b = vec![0u8; c.buffer_len()];
    /// c.emit(&mut b);
    /// assert_eq!(InquiryCdb::parse(&b)?, c);
    /// # Ok::<(), scsi::Error>(())
    /// ```
    pub fn buffer_len(&self) -> usize {
        6
    }

    /// Writes the CDB into `buf[..6]` (nothing if shorter).
    ///
    /// ```
    /// use scsi::cdb::InquiryCdb;
    /// let c = InquiryCdb { evpd: true, page_code: 0xb0, allocation_length: 0x100, control: 0 };
    /// let mut b = [0u8; 6];
    /// c.emit(&mut b);
    /// assert_eq!(b, [0x12, 0x01, 0xb0, 0x01, 0x00, 0x00]);
    /// ```
    pub fn emit(&self, buf: &mut [u8]) {
        let Some(b) = buf.get_mut(..6) else { return };
        b[0] = Self::OPCODE;
        b[1] = u8::from(self.evpd);
        b[2] = self.page_code;
        b[3..5].copy_from_slice(&self.allocation_length.to_be_bytes());
        b[5] = self.control;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_cmddt() {
        assert_eq!(
            InquiryCdb::parse(&[0x12, 0x02, 0, 0, 36, 0]),
            Err(Error::InvalidCdbField {
                field: "byte 1 reserved",
                byte: 1,
                bit: Some(1)
            })
        );
    }

    proptest! {
        #[test]
        fn round_trip(evpd: bool, page_code: u8, allocation_length: u16, control: u8) {
            let c = InquiryCdb { evpd, page_code, allocation_length, control };
            let mut b = [0u8; 6];
            c.emit(&mut b);
            prop_assert_eq!(InquiryCdb::parse(&b).unwrap(), c);
        }
    }
}

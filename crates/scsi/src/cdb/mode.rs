//! MODE SENSE and MODE SELECT, 6 and 10 byte forms (SPC-4 §6.11-6.14).

use super::{field, reserved, take};
use crate::error::Error;

/// MODE SENSE(6) (opcode 1Ah) or MODE SENSE(10) (5Ah).
///
/// ```
/// use scsi::cdb::ModeSenseCdb;
/// let c = ModeSenseCdb::parse(&[0x1a, 0x08, 0x3f, 0x00, 0xff, 0x00])?;
/// assert!(c.dbd && c.page == 0x3f && c.pc == 0 && !c.ten);
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModeSenseCdb {
    /// MODE SENSE(10) rather than (6).
    pub ten: bool,
    /// LLBAA (10 only): long LBA block descriptors allowed.
    pub llbaa: bool,
    /// DBD: disable block descriptors.
    pub dbd: bool,
    /// Page control: 0 current, 1 changeable, 2 default, 3 saved.
    pub pc: u8,
    /// Page code (3Fh: all pages).
    pub page: u8,
    /// Subpage code (FFh: all subpages).
    pub subpage: u8,
    /// ALLOCATION LENGTH.
    pub allocation_length: u16,
    /// CONTROL.
    pub control: u8,
}

impl ModeSenseCdb {
    /// Parses either form, told apart by the opcode.
    ///
    /// ```
    /// use scsi::cdb::ModeSenseCdb;
    /// // MODE SENSE(10), LLBAA, changeable values (PC 1) of the Caching page (08h), 512 bytes.
    /// let c = ModeSenseCdb::parse(&[0x5a, 0x10, 0x48, 0, 0, 0, 0, 0x02, 0x00, 0])?;
    /// assert!(c.ten && c.llbaa && !c.dbd);
    /// assert_eq!((c.pc, c.page, c.allocation_length), (1, 0x08, 512));
    /// // LLBAA is reserved in MODE SENSE(6).
    /// assert!(ModeSenseCdb::parse(&[0x1a, 0x10, 0x3f, 0, 255, 0]).is_err());
    /// # Ok::<(), scsi::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::UnsupportedOpcode`], [`Error::InvalidCdbField`] for
    /// reserved bits in byte 1.
    pub fn parse(cdb: &[u8]) -> Result<Self, Error> {
        let opcode = *cdb.first().ok_or(Error::Truncated { needed: 1, have: 0 })?;
        let ten = match opcode {
            0x1a => false,
            0x5a => true,
            _ => return Err(Error::UnsupportedOpcode { opcode }),
        };
        let b = take(cdb, if ten { 10 } else { 6 })?;
        let allowed = if ten { 0x18 } else { 0x08 };
        if b[1] & !allowed != 0 {
            return Err(reserved("byte 1 reserved", 1, b[1] & !allowed));
        }
        Ok(ModeSenseCdb {
            ten,
            llbaa: ten && b[1] & 0x10 != 0,
            dbd: b[1] & 0x08 != 0,
            pc: b[2] >> 6,
            page: b[2] & 0x3f,
            subpage: b[3],
            allocation_length: if ten {
                field::u16_at(b, 7)
            } else {
                u16::from(b[4])
            },
            control: b[b.len() - 1],
        })
    }

    /// 6 or 10.
    ///
    /// ```
    /// use scsi::cdb::ModeSenseCdb;
    /// let six = ModeSenseCdb { ten: false, llbaa: false, dbd: true, pc: 0, page: 0x3f, subpage: 0,
    ///                          allocation_length: 192, control: 0 };
    /// assert_eq!(six.buffer_len(), 6);
    /// assert_eq!(ModeSenseCdb { ten: true, ..six }.buffer_len(), 10);
    /// ```
    pub fn buffer_len(&self) -> usize {
        if self.ten { 10 } else { 6 }
    }

    /// Writes the CDB (nothing if `buf` is too short). MODE SENSE(6) keeps the low byte of
    /// the allocation length.
    ///
    /// ```
    /// use scsi::cdb::ModeSenseCdb;
    /// let c = ModeSenseCdb { ten: false, llbaa: false, dbd: true, pc: 0, page: 0x3f,
    ///                        subpage: 0xff, allocation_length: 0x1c0, control: 0 };
    /// let mut b = [0u8; 6];
    /// c.emit(&mut b);
    /// assert_eq!(b, [0x1a, 0x08, 0x3f, 0xff, 0xc0, 0]); // the low byte of 1C0h
    /// ```
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        let Some(b) = buf.get_mut(..len) else { return };
        b.fill(0);
        b[0] = if self.ten { 0x5a } else { 0x1a };
        b[1] = (u8::from(self.ten && self.llbaa) << 4) | (u8::from(self.dbd) << 3);
        b[2] = (self.pc << 6) | (self.page & 0x3f);
        b[3] = self.subpage;
        if self.ten {
            b[7..9].copy_from_slice(&self.allocation_length.to_be_bytes());
        } else {
            b[4] = self.allocation_length as u8;
        }
        b[len - 1] = self.control;
    }
}

/// MODE SELECT(6) (opcode 15h) or MODE SELECT(10) (55h).
///
/// ```
/// use scsi::cdb::ModeSelectCdb;
/// let c = ModeSelectCdb::parse(&[0x15, 0x10, 0, 0, 24, 0])?;
/// assert!(c.pf && !c.sp && c.parameter_list_length == 24);
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModeSelectCdb {
    /// MODE SELECT(10) rather than (6).
    pub ten: bool,
    /// PF: the pages follow the standard page format.
    pub pf: bool,
    /// SP: save pages.
    pub sp: bool,
    /// PARAMETER LIST LENGTH.
    pub parameter_list_length: u16,
    /// CONTROL.
    pub control: u8,
}

impl ModeSelectCdb {
    /// Parses either form.
    ///
    /// ```
    /// use scsi::{Error, cdb::ModeSelectCdb};
    /// // MODE SELECT(10), PF and SP, 28 bytes of parameters.
    /// let c = ModeSelectCdb::parse(&[0x55, 0x11, 0, 0, 0, 0, 0, 0, 28, 0])?;
    /// assert!(c.ten && c.pf && c.sp && c.parameter_list_length == 28);
    /// // MODE SENSE(6) is not a MODE SELECT.
    /// assert_eq!(ModeSelectCdb::parse(&[0x1a, 0, 0, 0, 0, 0]),
    ///            Err(Error::UnsupportedOpcode { opcode: 0x1a }));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::UnsupportedOpcode`], [`Error::InvalidCdbField`] for
    /// reserved bits in byte 1.
    pub fn parse(cdb: &[u8]) -> Result<Self, Error> {
        let opcode = *cdb.first().ok_or(Error::Truncated { needed: 1, have: 0 })?;
        let ten = match opcode {
            0x15 => false,
            0x55 => true,
            _ => return Err(Error::UnsupportedOpcode { opcode }),
        };
        let b = take(cdb, if ten { 10 } else { 6 })?;
        if b[1] & !0x11 != 0 {
            return Err(reserved("byte 1 reserved", 1, b[1] & !0x11));
        }
        Ok(ModeSelectCdb {
            ten,
            pf: b[1] & 0x10 != 0,
            sp: b[1] & 0x01 != 0,
            parameter_list_length: if ten {
                field::u16_at(b, 7)
            } else {
                u16::from(b[4])
            },
            control: b[b.len() - 1],
        })
    }

    /// 6 or 10.
    ///
    /// ```
    /// use scsi::cdb::ModeSelectCdb;
    /// let ten = ModeSelectCdb { ten: true, pf: true, sp: false, parameter_list_length: 300,
    ///                           control: 0 };
    /// assert_eq!(ten.buffer_len(), 10);
    /// assert_eq!(ModeSelectCdb { ten: false, ..ten }.buffer_len(), 6);
    /// ```
    pub fn buffer_len(&self) -> usize {
        if self.ten { 10 } else { 6 }
    }

    /// Writes the CDB (nothing if `buf` is too short).
    ///
    /// ```
    /// use scsi::cdb::ModeSelectCdb;
    /// let c = ModeSelectCdb { ten: true, pf: true, sp: false, parameter_list_length: 300,
    ///                         control: 0 };
    /// let mut b = [0u8; 10];
    /// c.emit(&mut b);
    /// assert_eq!(b, [0x55, 0x10, 0, 0, 0, 0, 0, 0x01, 0x2c, 0]);
    /// ```
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        let Some(b) = buf.get_mut(..len) else { return };
        b.fill(0);
        b[0] = if self.ten { 0x55 } else { 0x15 };
        b[1] = (u8::from(self.pf) << 4) | u8::from(self.sp);
        if self.ten {
            b[7..9].copy_from_slice(&self.parameter_list_length.to_be_bytes());
        } else {
            b[4] = self.parameter_list_length as u8;
        }
        b[len - 1] = self.control;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn mode_sense_round_trip(ten: bool, llbaa: bool, dbd: bool, pc in 0u8..4, page in 0u8..64,
                                 subpage: u8, len: u16, control: u8) {
            let c = ModeSenseCdb { ten, llbaa: ten && llbaa, dbd, pc, page, subpage,
                                   allocation_length: if ten { len } else { len & 0xff }, control };
            let mut b = [0u8; 10];
            c.emit(&mut b);
            prop_assert_eq!(ModeSenseCdb::parse(&b).unwrap(), c);
        }

        #[test]
        fn mode_select_round_trip(ten: bool, pf: bool, sp: bool, len: u16, control: u8) {
            let c = ModeSelectCdb { ten, pf, sp,
                                    parameter_list_length: if ten { len } else { len & 0xff }, control };
            let mut b = [0u8; 10];
            c.emit(&mut b);
            prop_assert_eq!(ModeSelectCdb::parse(&b).unwrap(), c);
        }
    }

    #[test]
    fn mode_sense6_rejects_llbaa() {
        assert!(matches!(
            ModeSenseCdb::parse(&[0x1a, 0x10, 0x3f, 0, 255, 0]),
            Err(Error::InvalidCdbField {
                byte: 1,
                bit: Some(4),
                ..
            })
        ));
    }
}

//! The crate's one error type.

/// Everything that can go wrong parsing SCSI structures or configuring a target.
///
/// Command execution never returns this: a command's failure is a [`CommandResponse`]
/// with CHECK CONDITION and sense data. CDB parse errors map to sense data through
/// [`Error::to_sense`].
///
/// ```
/// use scsi::{AscAscq, Error};
/// let e = Error::InvalidCdbField { field: "EVPD", byte: 1, bit: Some(0) };
/// assert_eq!(e.to_sense().code, AscAscq::INVALID_FIELD_IN_CDB);
/// ```
///
/// [`CommandResponse`]: crate::CommandResponse
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is shorter than the structure.
    #[error("truncated: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// A field of a structure other than a CDB holds an invalid value.
    #[error("invalid {field} at byte {offset}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// Its byte offset.
        offset: usize,
    },
    /// A CDB field holds an invalid or unsupported value (reserved bits set, among others).
    #[error("invalid CDB field {field} at byte {byte}")]
    InvalidCdbField {
        /// The field's name.
        field: &'static str,
        /// Its byte offset in the CDB.
        byte: u16,
        /// Its bit, for bit fields.
        bit: Option<u8>,
    },
    /// The operation code (and service action) is not one this crate handles.
    #[error("unsupported operation code {opcode:#04x}")]
    UnsupportedOpcode {
        /// The operation code.
        opcode: u8,
    },
    /// A logical unit already has this number.
    #[error("LUN {lun} is already in use")]
    LunInUse {
        /// The LUN.
        lun: u64,
    },
    /// The LUN cannot be addressed (this crate uses the single level flat space, 0..16384).
    #[error("LUN {lun} is out of range (0..16384)")]
    LunOutOfRange {
        /// The LUN.
        lun: u64,
    },
    /// A logical unit's identity is unusable.
    #[error("invalid logical unit identity: {what}")]
    InvalidIdentity {
        /// What is wrong.
        what: &'static str,
    },
}

impl Error {
    /// The sense data a target returns when a CDB fails to parse with this error.
    ///
    /// ```
    /// use scsi::{AscAscq, Error, Sense, SenseKey, cdb::InquiryCdb};
    /// // The sense-key-specific field points at the reserved bit that was set.
    /// let cmddt = InquiryCdb::parse(&[0x12, 0x02, 0, 0, 36, 0]).map_err(|e| e.to_sense());
    /// assert_eq!(cmddt, Err(Sense::invalid_cdb_field(1, Some(1))));
    /// let sense = Error::UnsupportedOpcode { opcode: 0xc1 }.to_sense();
    /// assert_eq!(sense.key, SenseKey::ILLEGAL_REQUEST);
    /// assert_eq!(sense.code, AscAscq::INVALID_COMMAND_OPERATION_CODE);
    /// ```
    pub fn to_sense(&self) -> crate::Sense {
        use crate::{AscAscq, Sense, SenseKey};
        match *self {
            Error::InvalidCdbField { byte, bit, .. } => Sense::invalid_cdb_field(byte, bit),
            Error::UnsupportedOpcode { .. } => Sense::new(
                SenseKey::ILLEGAL_REQUEST,
                AscAscq::INVALID_COMMAND_OPERATION_CODE,
            ),
            Error::Truncated { .. } => Sense::new(
                SenseKey::ILLEGAL_REQUEST,
                AscAscq::INVALID_COMMAND_OPERATION_CODE,
            ),
            _ => Sense::new(SenseKey::ILLEGAL_REQUEST, AscAscq::INVALID_FIELD_IN_CDB),
        }
    }
}

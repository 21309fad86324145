//! Sense data (SPC-4 §4.5): sense keys, additional sense codes, and the fixed and descriptor
//! formats, with the sense-key-specific field pointer that names an invalid CDB or parameter
//! field.

use crate::const_newtype::const_newtype;
use crate::error::Error;

const_newtype! {
    /// The sense key (SPC-4 table 48).
    ///
    /// ```
    /// use scsi::SenseKey;
    /// assert_eq!(SenseKey::ILLEGAL_REQUEST.0, 5);
    /// ```
    pub struct SenseKey(pub u8) {
        /// No error to report.
        NO_SENSE = 0x0,
        /// The command succeeded after recovery.
        RECOVERED_ERROR = 0x1,
        /// The logical unit cannot be accessed now.
        NOT_READY = 0x2,
        /// A medium flaw or unrecovered data error.
        MEDIUM_ERROR = 0x3,
        /// A hardware failure.
        HARDWARE_ERROR = 0x4,
        /// An invalid CDB or parameter.
        ILLEGAL_REQUEST = 0x5,
        /// A unit attention condition.
        UNIT_ATTENTION = 0x6,
        /// Write protection or access blocked.
        DATA_PROTECT = 0x7,
        /// A blank or non-blank medium was found unexpectedly.
        BLANK_CHECK = 0x8,
        /// Vendor specific.
        VENDOR_SPECIFIC = 0x9,
        /// A copy command failed.
        COPY_ABORTED = 0xa,
        /// The command was aborted.
        ABORTED_COMMAND = 0xb,
        /// The source data did not match the medium (VERIFY, COMPARE AND WRITE).
        MISCOMPARE = 0xe,
    }
}

const_newtype! {
    /// An additional sense code and qualifier, ASC in the high byte (SPC-4 table D.2).
    ///
    /// ```
    /// use scsi::AscAscq;
    /// assert_eq!(AscAscq::LBA_OUT_OF_RANGE.asc(), 0x21);
    /// assert_eq!(format!("{:?}", AscAscq(0x2400)), "INVALID_FIELD_IN_CDB");
    /// ```
    pub struct AscAscq(pub u16) {
        /// No additional sense information.
        NO_ADDITIONAL_SENSE = 0x0000,
        /// Logical unit not ready, cause not reportable.
        NOT_READY_CAUSE_NOT_REPORTABLE = 0x0400,
        /// Logical unit not ready, initializing command required (stopped).
        NOT_READY_INITIALIZING_COMMAND_REQUIRED = 0x0402,
        /// Logical unit not ready, sanitize in progress.
        NOT_READY_SANITIZE_IN_PROGRESS = 0x041b,
        /// Unreachable copy target.
        UNREACHABLE_COPY_TARGET = 0x0804,
        /// Write error.
        WRITE_ERROR = 0x0c00,
        /// Copy target device not reachable.
        COPY_TARGET_DEVICE_NOT_REACHABLE = 0x0d02,
        /// Unrecovered read error.
        UNRECOVERED_READ_ERROR = 0x1100,
        /// Parameter list length error.
        PARAMETER_LIST_LENGTH_ERROR = 0x1a00,
        /// Miscompare during verify operation.
        MISCOMPARE_DURING_VERIFY = 0x1d00,
        /// Miscompare verify of unmapped LBA.
        MISCOMPARE_VERIFY_OF_UNMAPPED_LBA = 0x1d01,
        /// Invalid command operation code.
        INVALID_COMMAND_OPERATION_CODE = 0x2000,
        /// Logical block address out of range.
        LBA_OUT_OF_RANGE = 0x2100,
        /// Invalid field in CDB.
        INVALID_FIELD_IN_CDB = 0x2400,
        /// Logical unit not supported.
        LOGICAL_UNIT_NOT_SUPPORTED = 0x2500,
        /// Invalid field in parameter list.
        INVALID_FIELD_IN_PARAMETER_LIST = 0x2600,
        /// Parameter not supported.
        PARAMETER_NOT_SUPPORTED = 0x2601,
        /// Invalid release of persistent reservation.
        INVALID_RELEASE_OF_PERSISTENT_RESERVATION = 0x2604,
        /// Too many target descriptors (EXTENDED COPY).
        TOO_MANY_TARGET_DESCRIPTORS = 0x2606,
        /// Unsupported target descriptor type code (EXTENDED COPY).
        UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE = 0x2607,
        /// Too many segment descriptors (EXTENDED COPY).
        TOO_MANY_SEGMENT_DESCRIPTORS = 0x2608,
        /// Unsupported segment descriptor type code (EXTENDED COPY).
        UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE = 0x2609,
        /// Write protected.
        WRITE_PROTECTED = 0x2700,
        /// Power on, reset, or bus device reset occurred.
        POWER_ON_RESET = 0x2900,
        /// Power on occurred.
        POWER_ON_OCCURRED = 0x2901,
        /// Bus device reset function occurred (a LOGICAL UNIT RESET).
        BUS_DEVICE_RESET = 0x2903,
        /// I_T nexus loss occurred.
        IT_NEXUS_LOSS = 0x2907,
        /// Mode parameters changed.
        MODE_PARAMETERS_CHANGED = 0x2a01,
        /// Reservations preempted.
        RESERVATIONS_PREEMPTED = 0x2a03,
        /// Reservations released.
        RESERVATIONS_RELEASED = 0x2a04,
        /// Registrations preempted.
        REGISTRATIONS_PREEMPTED = 0x2a05,
        /// Capacity data has changed.
        CAPACITY_DATA_HAS_CHANGED = 0x2a09,
        /// Commands cleared by another initiator.
        COMMANDS_CLEARED_BY_ANOTHER_INITIATOR = 0x2f00,
        /// Sanitize command failed.
        SANITIZE_COMMAND_FAILED = 0x3103,
        /// Saving parameters not supported.
        SAVING_PARAMETERS_NOT_SUPPORTED = 0x3900,
        /// Medium not present.
        MEDIUM_NOT_PRESENT = 0x3a00,
        /// Reported LUNs data has changed.
        REPORTED_LUNS_DATA_HAS_CHANGED = 0x3f0e,
        /// Internal target failure.
        INTERNAL_TARGET_FAILURE = 0x4400,
        /// Medium removal prevented.
        MEDIUM_REMOVAL_PREVENTED = 0x5302,
        /// Insufficient registration resources.
        INSUFFICIENT_REGISTRATION_RESOURCES = 0x5504,
    }
}

impl AscAscq {
    /// The additional sense code.
    ///
    /// ```
    /// use scsi::AscAscq;
    /// assert_eq!(AscAscq::CAPACITY_DATA_HAS_CHANGED.asc(), 0x2a);
    /// ```
    pub fn asc(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// The additional sense code qualifier.
    ///
    /// ```
    /// use scsi::AscAscq;
    /// assert_eq!(AscAscq::CAPACITY_DATA_HAS_CHANGED.ascq(), 0x09);
    /// ```
    pub fn ascq(self) -> u8 {
        self.0 as u8
    }
}

/// The sense-key-specific field (SPC-4 §4.5.2.4).
///
/// ```
/// use scsi::{AscAscq, Sense, SenseFormat, SenseKey, SenseSpecific};
/// let bytes = Sense::invalid_parameter_field(4, None).to_bytes(SenseFormat::Fixed);
/// let field = SenseSpecific::Field { cdb: false, byte: 4, bit: None };
/// assert_eq!(Sense::parse(&bytes)?.specific, Some(field));
/// // A long operation reports its progress: half done.
/// let mut busy = Sense::new(SenseKey::NOT_READY, AscAscq::NOT_READY_SANITIZE_IN_PROGRESS);
/// busy.specific = Some(SenseSpecific::Progress(0x8000));
/// assert_eq!(busy.to_bytes(SenseFormat::Fixed)[15..18], [0x80, 0x80, 0x00]);
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenseSpecific {
    /// ILLEGAL REQUEST: which field is invalid.
    Field {
        /// True for a CDB field, false for a parameter list (data-out) field.
        cdb: bool,
        /// Byte offset of the field.
        byte: u16,
        /// Bit of the byte (0..=7), when the error is in a bit field.
        bit: Option<u8>,
    },
    /// NOT READY / NO SENSE: progress of a long operation, in 1/65536ths.
    Progress(u16),
}

impl SenseSpecific {
    /// The three SKS bytes, SKSV set.
    fn to_bytes(self) -> [u8; 3] {
        match self {
            SenseSpecific::Field { cdb, byte, bit } => {
                let mut b0 = 0x80;
                if cdb {
                    b0 |= 0x40;
                }
                if let Some(bit) = bit {
                    b0 |= 0x08 | (bit & 7);
                }
                let [hi, lo] = byte.to_be_bytes();
                [b0, hi, lo]
            }
            SenseSpecific::Progress(p) => {
                let [hi, lo] = p.to_be_bytes();
                [0x80, hi, lo]
            }
        }
    }

    /// Decodes SKS bytes (SKSV must be set) for a sense key.
    fn from_bytes(key: SenseKey, b: [u8; 3]) -> Option<Self> {
        if b[0] & 0x80 == 0 {
            return None;
        }
        let v = u16::from_be_bytes([b[1], b[2]]);
        if key == SenseKey::ILLEGAL_REQUEST {
            Some(SenseSpecific::Field {
                cdb: b[0] & 0x40 != 0,
                byte: v,
                bit: (b[0] & 0x08 != 0).then_some(b[0] & 7),
            })
        } else {
            Some(SenseSpecific::Progress(v))
        }
    }
}

/// Which sense data format to emit: the D_SENSE bit of the Control mode page chooses.
///
/// ```
/// use scsi::{AscAscq, Sense, SenseFormat, SenseKey};
/// let sense = Sense::new(SenseKey::UNIT_ATTENTION, AscAscq::POWER_ON_RESET);
/// assert_eq!(sense.to_bytes(SenseFormat::Fixed)[0], 0x70);
/// assert_eq!(sense.to_bytes(SenseFormat::Descriptor)[0], 0x72);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenseFormat {
    /// Fixed format (response code 70h), 18 bytes.
    Fixed,
    /// Descriptor format (response code 72h).
    Descriptor,
}

/// Length of fixed-format sense data as this crate emits it.
///
/// ```
/// use scsi::{AscAscq, FIXED_SENSE_LEN, Sense, SenseFormat, SenseKey};
/// let sense = Sense::new(SenseKey::MEDIUM_ERROR, AscAscq::UNRECOVERED_READ_ERROR);
/// assert_eq!(sense.to_bytes(SenseFormat::Fixed).len(), FIXED_SENSE_LEN);
/// ```
pub const FIXED_SENSE_LEN: usize = 18;

/// The meaning of sense data: what [`Sense::emit`] writes in either format and
/// [`Sense::parse`] reads back.
///
/// ```
/// use scsi::{AscAscq, Sense, SenseFormat, SenseKey, SenseSpecific};
/// let sense = Sense::invalid_cdb_field(2, Some(7));
/// let fixed = sense.to_bytes(SenseFormat::Fixed);
/// assert_eq!((fixed[0], fixed[2], fixed[12], fixed[13]), (0x70, 5, 0x24, 0x00));
/// assert_eq!(&fixed[15..18], &[0xcf, 0x00, 0x02]); // SKSV, C/D, BPV, bit 7; byte 2
/// let descriptor = sense.to_bytes(SenseFormat::Descriptor);
/// assert_eq!(Sense::parse(&descriptor)?, sense);
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sense {
    /// The sense key.
    pub key: SenseKey,
    /// The additional sense code and qualifier.
    pub code: AscAscq,
    /// The INFORMATION field (e.g. the offset of a miscompare), when valid.
    pub information: Option<u64>,
    /// The sense-key-specific field, when valid.
    pub specific: Option<SenseSpecific>,
}

impl Sense {
    /// Sense data with a key and code only.
    ///
    /// ```
    /// use scsi::{AscAscq, Sense, SenseFormat, SenseKey};
    /// const NO_MEDIUM: Sense = Sense::new(SenseKey::NOT_READY, AscAscq::MEDIUM_NOT_PRESENT);
    /// assert!(NO_MEDIUM.information.is_none() && NO_MEDIUM.specific.is_none());
    /// let bytes = NO_MEDIUM.to_bytes(SenseFormat::Descriptor);
    /// assert_eq!(bytes, [0x72, 0x02, 0x3a, 0x00, 0, 0, 0, 0]);
    /// ```
    pub const fn new(key: SenseKey, code: AscAscq) -> Self {
        Sense {
            key,
            code,
            information: None,
            specific: None,
        }
    }

    /// ILLEGAL REQUEST / INVALID FIELD IN CDB pointing at `byte` (and `bit`) of the CDB.
    ///
    /// ```
    /// use scsi::{AscAscq, Sense, SenseKey, SenseSpecific};
    /// let sense = Sense::invalid_cdb_field(1, Some(0));
    /// assert_eq!(sense.key, SenseKey::ILLEGAL_REQUEST);
    /// assert_eq!(sense.code, AscAscq::INVALID_FIELD_IN_CDB);
    /// assert_eq!(sense.specific, Some(SenseSpecific::Field { cdb: true, byte: 1, bit: Some(0) }));
    /// ```
    pub const fn invalid_cdb_field(byte: u16, bit: Option<u8>) -> Self {
        Sense {
            key: SenseKey::ILLEGAL_REQUEST,
            code: AscAscq::INVALID_FIELD_IN_CDB,
            information: None,
            specific: Some(SenseSpecific::Field {
                cdb: true,
                byte,
                bit,
            }),
        }
    }

    /// ILLEGAL REQUEST / INVALID FIELD IN PARAMETER LIST pointing at `byte` (and `bit`) of
    /// the data-out buffer.
    ///
    /// ```
    /// use scsi::{AscAscq, Sense, SenseFormat};
    /// let sense = Sense::invalid_parameter_field(4, None);
    /// assert_eq!(sense.code, AscAscq::INVALID_FIELD_IN_PARAMETER_LIST);
    /// let fixed = sense.to_bytes(SenseFormat::Fixed);
    /// assert_eq!(fixed[15..18], [0x80, 0x00, 0x04]); // SKSV, C/D clear (data-out), byte 4
    /// ```
    pub const fn invalid_parameter_field(byte: u16, bit: Option<u8>) -> Self {
        Sense {
            key: SenseKey::ILLEGAL_REQUEST,
            code: AscAscq::INVALID_FIELD_IN_PARAMETER_LIST,
            information: None,
            specific: Some(SenseSpecific::Field {
                cdb: false,
                byte,
                bit,
            }),
        }
    }

    /// Bytes [`emit`](Self::emit) writes in `format`.
    ///
    /// ```
    /// use scsi::{AscAscq, Sense, SenseFormat, SenseKey};
    /// let mut sense = Sense::new(SenseKey::MISCOMPARE, AscAscq::MISCOMPARE_DURING_VERIFY);
    /// assert_eq!(sense.buffer_len(SenseFormat::Descriptor), 8);
    /// sense.information = Some(100); // offset of the first miscompare
    /// // The INFORMATION descriptor adds 12 bytes.
    /// assert_eq!(sense.buffer_len(SenseFormat::Descriptor), 20);
    /// assert_eq!(sense.buffer_len(SenseFormat::Fixed), 18);
    /// ```
    pub fn buffer_len(&self, format: SenseFormat) -> usize {
        match format {
            SenseFormat::Fixed => FIXED_SENSE_LEN,
            SenseFormat::Descriptor => {
                8 + if self.information.is_some() { 12 } else { 0 }
                    + if self.specific.is_some() { 8 } else { 0 }
            }
        }
    }

    /// Writes the sense data in `format` into `buf` (at least
    /// [`buffer_len`](Self::buffer_len) bytes; the rest is left alone). Returns the length.
    ///
    /// In the fixed format, an INFORMATION value above 32 bits is not representable and is
    /// left out (VALID = 0).
    ///
    /// ```
    /// use scsi::{AscAscq, Sense, SenseFormat, SenseKey};
    /// let mut sense = Sense::new(SenseKey::MEDIUM_ERROR, AscAscq::UNRECOVERED_READ_ERROR);
    /// sense.information = Some(1 << 40); // an LBA beyond 32 bits
    /// let mut buf = [0u8; 32];
    /// assert_eq!(sense.emit(SenseFormat::Fixed, &mut buf), 18);
    /// assert_eq!(buf[0], 0x70); // VALID clear: the fixed format cannot hold it
    /// assert_eq!(sense.emit(SenseFormat::Descriptor, &mut buf), 20);
    /// assert_eq!(buf[12..20], (1u64 << 40).to_be_bytes());
    /// ```
    pub fn emit(&self, format: SenseFormat, buf: &mut [u8]) -> usize {
        let len = self.buffer_len(format);
        let Some(out) = buf.get_mut(..len) else {
            return 0;
        };
        out.fill(0);
        match format {
            SenseFormat::Fixed => {
                out[0] = 0x70;
                if let Some(info) = self.information.and_then(|i| u32::try_from(i).ok()) {
                    out[0] |= 0x80;
                    out[3..7].copy_from_slice(&info.to_be_bytes());
                }
                out[2] = self.key.0 & 0x0f;
                out[7] = (FIXED_SENSE_LEN - 8) as u8;
                out[12] = self.code.asc();
                out[13] = self.code.ascq();
                if let Some(s) = self.specific {
                    out[15..18].copy_from_slice(&s.to_bytes());
                }
            }
            SenseFormat::Descriptor => {
                out[0] = 0x72;
                out[1] = self.key.0 & 0x0f;
                out[2] = self.code.asc();
                out[3] = self.code.ascq();
                out[7] = (len - 8) as u8;
                let mut at = 8;
                if let Some(info) = self.information {
                    out[at] = 0x00;
                    out[at + 1] = 0x0a;
                    out[at + 2] = 0x80;
                    out[at + 4..at + 12].copy_from_slice(&info.to_be_bytes());
                    at += 12;
                }
                if let Some(s) = self.specific {
                    out[at] = 0x02;
                    out[at + 1] = 0x06;
                    out[at + 4..at + 7].copy_from_slice(&s.to_bytes());
                }
            }
        }
        len
    }

    /// The sense data in `format` as a new vector.
    ///
    /// ```
    /// use scsi::{AscAscq, Sense, SenseFormat, SenseKey};
    /// let sense = Sense::new(SenseKey::ABORTED_COMMAND, AscAscq::NO_ADDITIONAL_SENSE);
    /// let fixed = sense.to_bytes(SenseFormat::Fixed);
    /// assert_eq!(fixed.len(), 18);
    /// assert_eq!((fixed[2], fixed[7]), (0x0b, 10)); // sense key, ADDITIONAL SENSE LENGTH
    /// ```
    pub fn to_bytes(&self, format: SenseFormat) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len(format)];
        self.emit(format, &mut v);
        v
    }

    /// Parses fixed (70h/71h) or descriptor (72h/73h) sense data. Descriptors other than
    /// INFORMATION and SENSE KEY SPECIFIC are skipped.
    ///
    /// ```
    /// use scsi::{AscAscq, Error, Sense, SenseKey};
    /// // Fixed format, VALID: MEDIUM ERROR / UNRECOVERED READ ERROR at LBA 1234h.
    /// let fixed = [0xf0, 0, 0x03, 0, 0, 0x12, 0x34, 10, 0, 0, 0, 0, 0x11, 0x00, 0, 0, 0, 0];
    /// let sense = Sense::parse(&fixed)?;
    /// assert_eq!(sense.key, SenseKey::MEDIUM_ERROR);
    /// assert_eq!(sense.code, AscAscq::UNRECOVERED_READ_ERROR);
    /// assert_eq!(sense.information, Some(0x1234));
    /// assert_eq!(Sense::parse(&fixed[..3]), Err(Error::Truncated { needed: 18, have: 3 }));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the data is shorter than its format needs,
    /// [`Error::InvalidField`] for an unknown response code or a malformed descriptor.
    pub fn parse(data: &[u8]) -> Result<Self, Error> {
        let code = data
            .first()
            .ok_or(Error::Truncated { needed: 1, have: 0 })?
            & 0x7f;
        match code {
            0x70 | 0x71 => {
                let b: &[u8; FIXED_SENSE_LEN] = data
                    .get(..FIXED_SENSE_LEN)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(Error::Truncated {
                        needed: FIXED_SENSE_LEN,
                        have: data.len(),
                    })?;
                let key = SenseKey(b[2] & 0x0f);
                Ok(Sense {
                    key,
                    code: AscAscq(u16::from_be_bytes([b[12], b[13]])),
                    information: (b[0] & 0x80 != 0)
                        .then(|| u64::from(u32::from_be_bytes([b[3], b[4], b[5], b[6]]))),
                    specific: SenseSpecific::from_bytes(key, [b[15], b[16], b[17]]),
                })
            }
            0x72 | 0x73 => {
                if data.len() < 8 {
                    return Err(Error::Truncated {
                        needed: 8,
                        have: data.len(),
                    });
                }
                let key = SenseKey(data[1] & 0x0f);
                let mut sense = Sense::new(key, AscAscq(u16::from_be_bytes([data[2], data[3]])));
                let end = (8 + usize::from(data[7])).min(data.len());
                let mut rest = &data[8..end];
                while let [kind, len, ..] = *rest {
                    let total = 2 + usize::from(len);
                    let d = rest.get(..total).ok_or(Error::Truncated {
                        needed: total,
                        have: rest.len(),
                    })?;
                    match (kind, len) {
                        (0x00, 0x0a) if d[2] & 0x80 != 0 => {
                            let mut v = [0u8; 8];
                            v.copy_from_slice(&d[4..12]);
                            sense.information = Some(u64::from_be_bytes(v));
                        }
                        (0x00, 0x0a) => {}
                        (0x02, 0x06) => {
                            sense.specific = SenseSpecific::from_bytes(key, [d[4], d[5], d[6]]);
                        }
                        (0x00 | 0x02, _) => {
                            return Err(Error::InvalidField {
                                field: "sense descriptor length",
                                offset: 1,
                            });
                        }
                        _ => {}
                    }
                    rest = &rest[total..];
                }
                Ok(sense)
            }
            _ => Err(Error::InvalidField {
                field: "sense response code",
                offset: 0,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_sense() -> impl Strategy<Value = Sense> {
        let specific = prop_oneof![
            Just(None),
            (any::<bool>(), any::<u16>(), proptest::option::of(0u8..8))
                .prop_map(|(cdb, byte, bit)| Some(SenseSpecific::Field { cdb, byte, bit })),
        ];
        (
            0u8..16,
            any::<u16>(),
            proptest::option::of(any::<u64>()),
            specific,
        )
            .prop_map(|(key, code, information, specific)| Sense {
                key: SenseKey(key),
                code: AscAscq(code),
                information,
                specific,
            })
    }

    #[test]
    fn fixed_format_fields() {
        let mut s = Sense::new(SenseKey::MISCOMPARE, AscAscq::MISCOMPARE_DURING_VERIFY);
        s.information = Some(0x1234);
        let b = s.to_bytes(SenseFormat::Fixed);
        assert_eq!(
            b,
            [
                0xf0, 0, 0x0e, // VALID + 70h, segment, sense key
                0, 0, 0x12, 0x34, // INFORMATION
                10,   // ADDITIONAL SENSE LENGTH
                0, 0, 0, 0, // COMMAND-SPECIFIC INFORMATION
                0x1d, 0x00, // ASC, ASCQ
                0, 0, 0, 0 // FRU, SKS
            ]
        );
        assert_eq!(Sense::parse(&b).unwrap(), s);
    }

    #[test]
    fn rejects_unknown_response_code() {
        assert!(matches!(
            Sense::parse(&[0x7f; 18]),
            Err(Error::InvalidField { .. })
        ));
        assert!(matches!(
            Sense::parse(&[0x70; 5]),
            Err(Error::Truncated { .. })
        ));
    }

    proptest! {
        #[test]
        fn descriptor_round_trips(s in any_sense()) {
            let b = s.to_bytes(SenseFormat::Descriptor);
            let mut want = s;
            if let Some(SenseSpecific::Field { .. }) = s.specific
                && s.key != SenseKey::ILLEGAL_REQUEST {
                    return Ok(()); // a field pointer only decodes under ILLEGAL REQUEST
                }
            want.key = SenseKey(s.key.0 & 0x0f);
            prop_assert_eq!(Sense::parse(&b).unwrap(), want);
            prop_assert_eq!(Sense::parse(&b).unwrap().to_bytes(SenseFormat::Descriptor), b);
        }

        #[test]
        fn fixed_round_trips_when_representable(s in any_sense()) {
            prop_assume!(s.information.is_none_or(|i| i <= u64::from(u32::MAX)));
            prop_assume!(s.key == SenseKey::ILLEGAL_REQUEST || s.specific.is_none());
            let b = s.to_bytes(SenseFormat::Fixed);
            prop_assert_eq!(Sense::parse(&b).unwrap(), s);
        }
    }
}

//! The crate's one error type.

use crate::Opcode;

/// Everything that can be wrong with bytes on the wire.
///
/// Every variant carries the context a target needs to choose its answer (a Reject reason, a
/// login failure, or closing the connection) and a human needs to find the bad byte: the field
/// name and its byte offset from the start of the PDU (or of the text data, for text errors).
///
/// # Example
///
/// ```
/// use iscsi_pdu::{Digests, Error, Pdu};
///
/// let err = Pdu::parse(bytes::Bytes::from_static(&[0u8; 20]), Digests::NONE).unwrap_err();
/// assert_eq!(err, Error::Truncated { needed: 48, have: 20 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than the structure needs.
    #[error("truncated: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// More bytes than the PDU's length fields account for (only from [`Pdu::parse`](crate::Pdu::parse)).
    #[error("trailing bytes: the PDU is {expected} bytes but {have} were given")]
    TrailingBytes {
        /// Length computed from the BHS.
        expected: usize,
        /// Length given.
        have: usize,
    },
    /// A field holds a value this opcode does not allow.
    #[error("invalid {field} at byte {offset} of the {opcode:?} PDU")]
    InvalidField {
        /// The PDU kind.
        opcode: Opcode,
        /// Name of the field as RFC 7143 spells it.
        field: &'static str,
        /// Byte offset of the field from the start of the BHS.
        offset: usize,
    },
    /// A PDU that must not carry a data segment (or an AHS) carries one.
    #[error("{opcode:?} PDU must not carry {what}, but has {length} bytes of it")]
    UnexpectedSegment {
        /// The PDU kind.
        opcode: Opcode,
        /// `"a data segment"` or `"an AHS"`.
        what: &'static str,
        /// Its length in bytes.
        length: usize,
    },
    /// The data segment is longer than the negotiated MaxRecvDataSegmentLength.
    #[error("data segment of {length} bytes exceeds MaxRecvDataSegmentLength {max}")]
    DataSegmentTooLong {
        /// DataSegmentLength from the BHS.
        length: u32,
        /// The negotiated limit.
        max: u32,
    },
    /// The additional header segments are longer than the configured bound.
    #[error("AHS of {length} bytes exceeds the limit of {max}")]
    AhsTooLong {
        /// TotalAHSLength × 4.
        length: usize,
        /// The configured limit.
        max: usize,
    },
    /// An AHS entry's length runs past TotalAHSLength.
    #[error("AHS entry at byte {offset} overruns TotalAHSLength")]
    AhsOverrun {
        /// Offset of the entry from the start of the PDU.
        offset: usize,
    },
    /// The header digest does not match the header.
    #[error("header digest mismatch: computed {expected:#010x}, received {got:#010x}")]
    HeaderDigest {
        /// CRC32C computed over BHS and AHS.
        expected: u32,
        /// The value received.
        got: u32,
    },
    /// The data digest does not match the data segment.
    #[error("data digest mismatch: computed {expected:#010x}, received {got:#010x}")]
    DataDigest {
        /// CRC32C computed over the data segment and its padding.
        expected: u32,
        /// The value received.
        got: u32,
    },
    /// Text data (`key=value\0` pairs) is malformed.
    #[error("text data at byte {offset}: {problem}")]
    Text {
        /// What is wrong.
        problem: TextProblem,
        /// Byte offset from the start of the (reassembled) text data.
        offset: usize,
    },
    /// A text value does not have the type its key requires (RFC 7143 §6.1 and §13).
    #[error("value of {key} is not a valid {expected}")]
    InvalidValue {
        /// The key whose value is wrong.
        key: &'static str,
        /// The value type that was expected, e.g. `"boolean"`.
        expected: &'static str,
    },
    /// An iSCSI name (iqn./eui./naa.) is malformed (RFC 7143 §4.2.7).
    #[error("invalid iSCSI name: {0}")]
    InvalidName(NameProblem),
}

/// What is wrong with text data; see [`Error::Text`].
///
/// ```
/// use iscsi_pdu::{Error, TextProblem, text_data::TextPairs};
/// assert_eq!(
///     TextPairs::parse(b"AuthMethod=None"),
///     Err(Error::Text { problem: TextProblem::Unterminated, offset: 0 }),
/// );
/// assert_eq!(TextProblem::KeyTooLong.to_string(), "key name longer than 63 bytes");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextProblem {
    /// A pair has no `=`.
    #[error("missing '=' in key=value pair")]
    MissingEquals,
    /// The key is empty or holds a character outside the RFC's key-name set.
    #[error("invalid key name")]
    InvalidKey,
    /// The key is longer than 63 bytes (RFC 7143 §6.1).
    #[error("key name longer than 63 bytes")]
    KeyTooLong,
    /// The value is longer than allowed for its type (RFC 7143 §6.1).
    #[error("value longer than {max} bytes")]
    ValueTooLong {
        /// The limit that applies.
        max: usize,
    },
    /// The value is not UTF-8 text.
    #[error("value is not UTF-8")]
    NotUtf8,
    /// The last pair is not terminated by a NUL byte.
    #[error("last key=value pair is not NUL-terminated")]
    Unterminated,
    /// A value given to be sent holds a NUL byte, which would end the pair early (only from
    /// [`TextPairs::push`](crate::text_data::TextPairs::push); received values cannot hold one).
    #[error("value holds a NUL byte")]
    NulInValue,
    /// The same key appears twice in one request or response.
    #[error("key sent twice")]
    DuplicateKey,
    /// More pairs than the configured bound.
    #[error("more than {max} keys")]
    TooManyKeys {
        /// The bound.
        max: usize,
    },
    /// The reassembled text is larger than the configured bound.
    #[error("text data larger than {max} bytes")]
    TooLarge {
        /// The bound.
        max: usize,
    },
}

/// What is wrong with an iSCSI name; see [`Error::InvalidName`].
///
/// ```
/// use iscsi_pdu::{Error, NameProblem, text_data::IscsiName};
/// assert_eq!(IscsiName::parse("iscsi:disk1"), Err(Error::InvalidName(NameProblem::Prefix)));
/// assert_eq!(IscsiName::parse(""), Err(Error::InvalidName(NameProblem::Length)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameProblem {
    /// Empty, or longer than 223 bytes.
    #[error("length must be 1 to 223 bytes")]
    Length,
    /// Not `iqn.`, `eui.` or `naa.`.
    #[error("unknown type prefix (expected iqn., eui. or naa.)")]
    Prefix,
    /// `iqn.` not followed by `yyyy-mm.` and a naming authority.
    #[error("iqn. name without a valid yyyy-mm date and naming authority")]
    IqnDate,
    /// `eui.` not followed by 16 hexadecimal digits, or `naa.` by 16 or 32.
    #[error("wrong number of hexadecimal digits")]
    HexDigits,
    /// A character outside the stringprep'd set (lower-case letters, digits, `-`, `.`, `:`).
    #[error("invalid character (names are lower-case ASCII letters, digits, '-', '.', ':')")]
    Character,
}

impl Error {
    /// The Reject reason (RFC 7143 §11.17.1) a target answers this error with, or `None` if the
    /// error leaves the stream unusable and the connection must be closed.
    ///
    /// ```
    /// use iscsi_pdu::{Error, RejectReason};
    /// let e = Error::DataDigest { expected: 1, got: 2 };
    /// assert_eq!(e.reject_reason(), Some(RejectReason::DataDigestError));
    /// assert_eq!(Error::HeaderDigest { expected: 1, got: 2 }.reject_reason(), None);
    /// ```
    pub fn reject_reason(&self) -> Option<crate::RejectReason> {
        use crate::RejectReason;
        match self {
            Error::DataDigest { .. } => Some(RejectReason::DataDigestError),
            Error::InvalidField { .. }
            | Error::UnexpectedSegment { .. }
            | Error::AhsOverrun { .. }
            | Error::Text { .. }
            | Error::InvalidValue { .. }
            | Error::InvalidName(_) => Some(RejectReason::InvalidPduField),
            Error::Truncated { .. }
            | Error::TrailingBytes { .. }
            | Error::DataSegmentTooLong { .. }
            | Error::AhsTooLong { .. }
            | Error::HeaderDigest { .. } => None,
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

//! The crate's one error type.

use crate::{Issue, Location};

/// Everything that stops a table from being parsed or built.
///
/// Variants carry the structure and byte offset concerned, so that a message names what to fix.
/// [`Ibft::lint`](crate::Ibft::lint) reports the same conditions, and more, as a list of
/// [`Problem`](crate::Problem)s instead of stopping at the first.
///
/// ```
/// use ibft::{Error, Ibft};
/// let err = Ibft::parse(b"iBFT").unwrap_err();
/// assert_eq!(err, Error::Truncated { what: "table header", needed: 48, have: 4 });
/// assert_eq!(err.to_string(), "table header needs 48 bytes, only 4 are there");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ends before the structure does.
    #[error("{what} needs {needed} bytes, only {have} are there")]
    Truncated {
        /// What was being read, e.g. `"table header"`.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// The signature is none of `"iBFT"`, `"IBFT"` or `"BIFT"`.
    #[error("signature is {found:?}, not \"iBFT\", \"IBFT\" or \"BIFT\"")]
    Signature {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// The table header's revision is not 1 (Linux: "iBFT module supports only revision 1").
    #[error("table revision is {found}, only revision 1 exists")]
    Revision {
        /// The revision found.
        found: u8,
    },
    /// The table's Length field is impossible.
    #[error("table length field says {length} bytes: {reason}")]
    TableLength {
        /// The Length field.
        length: u32,
        /// Why it is impossible.
        reason: &'static str,
    },
    /// The bytes of the table do not sum to zero.
    #[error(
        "checksum is wrong: the table's bytes sum to {sum:#04x}, not 0 (checksum byte {stored:#04x} should be {expected:#04x})"
    )]
    Checksum {
        /// The sum of all bytes, modulo 256.
        sum: u8,
        /// The checksum byte stored.
        stored: u8,
        /// The checksum byte that would make the sum zero.
        expected: u8,
    },
    /// A structure's header is wrong: ID, version, length or index.
    #[error("{structure} at byte {offset}: {field} is {found}, expected {expected}")]
    StructureHeader {
        /// The structure.
        structure: Location,
        /// Its offset in the table.
        offset: usize,
        /// `"structure ID"`, `"version"`, `"length"` or `"index"`.
        field: &'static str,
        /// The value found.
        found: u16,
        /// The value required.
        expected: u16,
    },
    /// A structure or string lies (partly) outside the table.
    #[error(
        "{structure}'s {field} at byte {offset} ({len} bytes) runs past the table's end at {table_len}"
    )]
    OutOfBounds {
        /// The structure that holds the offset.
        structure: Location,
        /// The field, e.g. `"structure"` or `"target name"`.
        field: &'static str,
        /// The offset.
        offset: usize,
        /// The length.
        len: usize,
        /// The table's length.
        table_len: usize,
    },
    /// A string with a non-zero length has offset 0, which is the table's signature.
    #[error("{structure}'s {field} has length {len} but offset 0")]
    StringAtZero {
        /// The structure that holds the string.
        structure: Location,
        /// The field, e.g. `"initiator name"`.
        field: &'static str,
        /// The length field.
        len: usize,
    },
    /// A string is not UTF-8.
    #[error("{structure}'s {field} at byte {offset} is not UTF-8 text")]
    NotUtf8 {
        /// The structure that holds the string.
        structure: Location,
        /// The field.
        field: &'static str,
        /// The string's offset in the table.
        offset: usize,
    },
    /// The table would not fit the 16-bit offsets of the format.
    #[error("the table would be {len} bytes; offsets are 16-bit, so it must stay under 65536")]
    TooLarge {
        /// The length the table would have.
        len: usize,
    },
    /// The output buffer is not the table's length.
    #[error("the buffer has {have} bytes, the table needs exactly {needed}")]
    BufferSize {
        /// The table's length.
        needed: usize,
        /// The buffer's length.
        have: usize,
    },
    /// A caller's value cannot be encoded.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// The value, e.g. `"LUN"`.
        what: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The builder's table has a problem that makes it unusable; the [`Issue`] says what.
    #[error("{0}")]
    Rejected(Issue),
}

impl Error {
    /// The structure the error concerns ([`Location::Table`] for the header and checksum).
    ///
    /// ```
    /// use ibft::{Error, Location};
    /// let err = Error::NotUtf8 { structure: Location::Nic(1), field: "hostname", offset: 300 };
    /// assert_eq!(err.location(), Location::Nic(1));
    /// ```
    pub fn location(&self) -> Location {
        match self {
            Error::StructureHeader { structure, .. }
            | Error::OutOfBounds { structure, .. }
            | Error::StringAtZero { structure, .. }
            | Error::NotUtf8 { structure, .. } => *structure,
            Error::Rejected(issue) => issue.location,
            _ => Location::Table,
        }
    }
}

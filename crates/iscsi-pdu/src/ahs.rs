//! Additional Header Segments (RFC 7143 §11.2.2): a list of typed entries after the BHS.
//!
//! ```text
//! byte 0-1  AHSLength   (bytes after AHSType, i.e. including AHS-Specific; no padding)
//! byte 2    AHSType
//! byte 3..  AHS-Specific, padded to a multiple of 4 bytes
//! ```

use bytes::Bytes;
use nom::IResult;
use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, u8 as nom_u8};

use crate::{Error, Opcode};

/// AHSType 1: Extended CDB.
const TYPE_EXTENDED_CDB: u8 = 1;
/// AHSType 2: Bidirectional Read Expected Data Transfer Length.
const TYPE_BIDI_READ_LENGTH: u8 = 2;

/// Most bytes an AHS can occupy: TotalAHSLength is one byte counting 4-byte words.
///
/// ```
/// use iscsi_pdu::{Ahs, Digests, Error, MAX_AHS_LEN, Pdu, ScsiCommand};
/// assert_eq!(MAX_AHS_LEN, 1020);
/// let big = Ahs::Unknown { ahs_type: 0x3f, data: bytes::Bytes::from(vec![0u8; 1100]) };
/// let cmd = Pdu::ScsiCommand(ScsiCommand { ahs: vec![big], ..ScsiCommand::default() });
/// let too_long = Error::AhsTooLong { length: 1104, max: MAX_AHS_LEN };
/// assert_eq!(cmd.to_bytes(Digests::NONE), Err(too_long));
/// ```
pub const MAX_AHS_LEN: usize = 255 * 4;

/// One Additional Header Segment.
///
/// ```
/// use iscsi_pdu::Ahs;
/// let ahs = Ahs::BidiReadLength(4096);
/// assert_eq!(ahs.buffer_len(), 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ahs {
    /// AHSType 1 (§11.3.5): CDB bytes 16 and beyond of a CDB longer than 16 bytes.
    ExtendedCdb(Bytes),
    /// AHSType 2 (§11.3.6): the expected read data length of a bidirectional command.
    BidiReadLength(u32),
    /// Any other type, kept as received: `data` is everything after the AHSType byte
    /// (AHS-Specific included), `AHSLength` bytes long.
    Unknown {
        /// AHSType.
        ahs_type: u8,
        /// The AHSLength bytes that follow AHSType.
        data: Bytes,
    },
}

impl Ahs {
    /// The AHSLength field: bytes after AHSType, without padding.
    fn ahs_length(&self) -> usize {
        match self {
            Ahs::ExtendedCdb(ext) => 1 + ext.len(),
            Ahs::BidiReadLength(_) => 5,
            Ahs::Unknown { data, .. } => data.len(),
        }
    }

    /// Bytes this entry occupies, padding included.
    ///
    /// ```
    /// use iscsi_pdu::Ahs;
    /// // AHSLength, AHSType and a reserved byte, then 17 CDB bytes: 21, padded to 24.
    /// let ext = Ahs::ExtendedCdb(bytes::Bytes::from_static(&[0; 17]));
    /// assert_eq!(ext.buffer_len(), 24);
    /// assert_eq!(Ahs::BidiReadLength(4096).buffer_len(), 8);
    /// ```
    pub fn buffer_len(&self) -> usize {
        (3 + self.ahs_length()).next_multiple_of(4)
    }

    /// Appends the entry, with padding, to `out`.
    ///
    /// # Errors
    /// [`Error::AhsTooLong`] if the entry does not fit the 16-bit AHSLength.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let len = self.ahs_length();
        let len16 = u16::try_from(len).map_err(|_| Error::AhsTooLong {
            length: len,
            max: usize::from(u16::MAX),
        })?;
        let start = out.len();
        out.extend_from_slice(&len16.to_be_bytes());
        match self {
            Ahs::ExtendedCdb(ext) => {
                out.extend_from_slice(&[TYPE_EXTENDED_CDB, 0]);
                out.extend_from_slice(ext);
            }
            Ahs::BidiReadLength(n) => {
                out.extend_from_slice(&[TYPE_BIDI_READ_LENGTH, 0]);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Ahs::Unknown { ahs_type, data } => {
                out.push(*ahs_type);
                out.extend_from_slice(data);
            }
        }
        out.resize(start + self.buffer_len(), 0);
        Ok(())
    }
}

/// Encodes a list of AHS entries.
pub(crate) fn emit_list(list: &[Ahs], out: &mut Vec<u8>) -> Result<(), Error> {
    for ahs in list {
        ahs.emit(out)?;
    }
    let length = out.len();
    if length > MAX_AHS_LEN {
        return Err(Error::AhsTooLong {
            length,
            max: MAX_AHS_LEN,
        });
    }
    Ok(())
}

/// One raw entry: (AHSLength bytes after the type, type, padded size).
fn entry(input: &[u8]) -> IResult<&[u8], (u8, &[u8])> {
    let (rest, (len, ahs_type)) = (be_u16, nom_u8).parse(input)?;
    let (rest, data) = take(len).parse(rest)?;
    let pad = (3 + usize::from(len)).next_multiple_of(4) - (3 + usize::from(len));
    // Padding may be cut off only at the very end; a short tail is simply absent padding.
    let (rest, _) = take(pad.min(rest.len())).parse(rest)?;
    Ok((rest, (ahs_type, data)))
}

/// Parses the AHS of `opcode` from `ahs` (TotalAHSLength × 4 bytes, a slice of `whole`), which
/// starts at byte 48 of the PDU.
#[inline]
pub(crate) fn parse_list(ahs: &Bytes, opcode: Opcode) -> Result<Vec<Ahs>, Error> {
    if ahs.is_empty() {
        return Ok(Vec::new());
    }
    parse_list_slow(ahs, opcode)
}

#[inline(never)]
fn parse_list_slow(ahs: &Bytes, opcode: Opcode) -> Result<Vec<Ahs>, Error> {
    let mut list = Vec::new();
    let mut input: &[u8] = ahs;
    while !input.is_empty() {
        let offset = 48 + ahs.len() - input.len();
        // An all-zero tail shorter than an entry header is padding.
        if input.len() < 4 && input.iter().all(|&b| b == 0) {
            break;
        }
        let (rest, (ahs_type, data)) = entry(input).map_err(|_| Error::AhsOverrun { offset })?;
        let start = ahs.len() - input.len() + 3;
        let data_bytes = ahs.slice(start..start + data.len());
        list.push(match ahs_type {
            TYPE_EXTENDED_CDB if !data.is_empty() => Ahs::ExtendedCdb(data_bytes.slice(1..)),
            TYPE_BIDI_READ_LENGTH if data.len() == 5 => {
                Ahs::BidiReadLength(u32::from_be_bytes([data[1], data[2], data[3], data[4]]))
            }
            TYPE_EXTENDED_CDB | TYPE_BIDI_READ_LENGTH => {
                return Err(Error::InvalidField {
                    opcode,
                    field: "AHSLength",
                    offset,
                });
            }
            other => Ahs::Unknown {
                ahs_type: other,
                data: data_bytes,
            },
        });
        input = rest;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_cdb_and_bidi_round_trip() {
        let list = vec![
            Ahs::ExtendedCdb(Bytes::from_static(&[0xaa; 16])),
            Ahs::BidiReadLength(0x1234),
            Ahs::Unknown {
                ahs_type: 0x3f,
                data: Bytes::from_static(&[1, 2]),
            },
        ];
        let mut out = Vec::new();
        emit_list(&list, &mut out).unwrap();
        assert_eq!(&out[..4], &[0x00, 0x11, 0x01, 0x00]); // AHSLength 17, type 1, reserved
        assert_eq!(out.len(), 20 + 8 + 8);
        assert_eq!(
            &out[20..28],
            &[0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x12, 0x34]
        );
        assert_eq!(&out[28..], &[0x00, 0x02, 0x3f, 1, 2, 0, 0, 0]);
        assert_eq!(
            parse_list(&Bytes::from(out), Opcode::ScsiCommand).unwrap(),
            list
        );
    }

    #[test]
    fn rejects_entry_running_past_total_length() {
        let raw = Bytes::from_static(&[0x00, 0x09, 0x01, 0x00, 1, 2, 3, 4]);
        assert_eq!(
            parse_list(&raw, Opcode::ScsiCommand).unwrap_err(),
            Error::AhsOverrun { offset: 48 }
        );
    }

    #[test]
    fn rejects_bidi_length_of_wrong_size() {
        let raw = Bytes::from_static(&[0x00, 0x01, 0x02, 0x00]);
        assert_eq!(
            parse_list(&raw, Opcode::ScsiCommand).unwrap_err(),
            Error::InvalidField {
                opcode: Opcode::ScsiCommand,
                field: "AHSLength",
                offset: 48
            }
        );
    }
}

//! The private trait every PDU kind implements, and the pieces a parser gets.

use bytes::Bytes;

use crate::bhs::Bhs;
use crate::{Ahs, Error, Opcode};

/// A PDU split into its segments, digests already checked and stripped.
pub(crate) struct Parts<'a> {
    pub(crate) bhs: Bhs<&'a [u8]>,
    pub(crate) ahs: Bytes,
    pub(crate) data: Bytes,
}

impl Parts<'_> {
    /// Fails unless the AHS is empty: only SCSI Command defines AHS types.
    pub(crate) fn no_ahs(&self) -> Result<(), Error> {
        if self.ahs.is_empty() {
            return Ok(());
        }
        Err(Error::UnexpectedSegment {
            opcode: self.bhs.opcode(),
            what: "an AHS",
            length: self.ahs.len(),
        })
    }

    /// Fails unless the data segment is empty, for the PDUs whose DataSegmentLength the RFC
    /// fixes at zero.
    pub(crate) fn no_data(&self) -> Result<(), Error> {
        if self.data.is_empty() {
            return Ok(());
        }
        Err(Error::UnexpectedSegment {
            opcode: self.bhs.opcode(),
            what: "a data segment",
            length: self.data.len(),
        })
    }

    /// An `InvalidField` error for this PDU.
    pub(crate) fn invalid(&self, field: &'static str, offset: usize) -> Error {
        Error::InvalidField {
            opcode: self.bhs.opcode(),
            field,
            offset,
        }
    }
}

/// Parse and emit of one PDU kind. `write_bhs` writes byte 0 (opcode and Immediate bit) and
/// every opcode-specific field; the encoder adds TotalAHSLength, DataSegmentLength, the AHS,
/// the data segment, padding and digests.
pub(crate) trait Codec: Sized {
    /// The opcode this kind is sent with.
    const OPCODE: Opcode;
    /// Builds the typed PDU.
    fn parse(parts: &Parts<'_>) -> Result<Self, Error>;
    /// Writes the BHS fields into a zeroed 48-byte buffer.
    fn write_bhs(&self, bhs: &mut Bhs<&mut [u8]>);
    /// The AHS entries to send.
    fn ahs(&self) -> &[Ahs] {
        &[]
    }
    /// The data segment to send.
    fn data(&self) -> Option<&Bytes> {
        None
    }
}

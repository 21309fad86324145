//! Header and data digests (RFC 7143 §12.1, "Digests"): CRC32C, sent least significant byte
//! first.
//!
//! # Fuzzing
//! Under `cfg(fuzzing)` received digests are not verified, so that fuzzers reach the code behind
//! them; digests are still computed and emitted.

use crate::Error;

/// Which digests a connection uses, as negotiated by the HeaderDigest and DataDigest keys. Both
/// are off during login and may be switched on per connection for the full feature phase.
///
/// ```
/// use iscsi_pdu::Digests;
/// assert_eq!(Digests::default(), Digests::NONE);
/// assert_eq!(Digests::ALL.overhead(true), 8);
/// assert_eq!(Digests::ALL.overhead(false), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Digests {
    /// A CRC32C follows the BHS and AHS.
    pub header: bool,
    /// A CRC32C follows every non-empty data segment (and its padding).
    pub data: bool,
}

impl Digests {
    /// No digests (the RFC default, and always the case during login).
    ///
    /// ```
    /// use iscsi_pdu::{Digests, FramerConfig};
    /// assert_eq!(FramerConfig::default().digests, Digests::NONE);
    /// assert_eq!(Digests::NONE.overhead(true), 0);
    /// ```
    pub const NONE: Digests = Digests {
        header: false,
        data: false,
    };
    /// Header and data digests.
    ///
    /// ```
    /// use iscsi_pdu::{Digests, Pdu, ScsiCommand};
    /// let cmd = Pdu::ScsiCommand(ScsiCommand::default());
    /// assert_eq!(cmd.to_bytes(Digests::ALL)?.len(), 48 + 4); // no data segment, so no data digest
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub const ALL: Digests = Digests {
        header: true,
        data: true,
    };

    /// Bytes the digests add to a PDU that has (or has not) a data segment.
    ///
    /// ```
    /// use iscsi_pdu::Digests;
    /// let header_only = Digests { header: true, data: false };
    /// assert_eq!(header_only.overhead(true), 4);
    /// assert_eq!(Digests::ALL.overhead(true), 8);
    /// assert_eq!(Digests::ALL.overhead(false), 4);
    /// ```
    pub fn overhead(self, has_data: bool) -> usize {
        4 * usize::from(self.header) + 4 * usize::from(self.data && has_data)
    }
}

/// CRC32C of `parts` taken one after the other.
///
/// ```
/// // RFC 7143 appendix A.4 "CRC Examples": 32 bytes of zeroes give aa 36 91 8a on the wire.
/// assert_eq!(iscsi_pdu::crc32c(&[&[0u8; 32]]).to_le_bytes(), [0xaa, 0x36, 0x91, 0x8a]);
/// ```
pub fn crc32c(parts: &[&[u8]]) -> u32 {
    parts
        .iter()
        .fold(0, |crc, part| crc32c::crc32c_append(crc, part))
}

/// Checks a received digest; `kind` builds the error from (expected, got).
pub(crate) fn verify(
    parts: &[&[u8]],
    received: [u8; 4],
    kind: fn(u32, u32) -> Error,
) -> Result<(), Error> {
    let expected = crc32c(parts);
    let got = u32::from_le_bytes(received);
    if expected != got && !cfg!(fuzzing) {
        return Err(kind(expected, got));
    }
    Ok(())
}

pub(crate) fn header_error(expected: u32, got: u32) -> Error {
    Error::HeaderDigest { expected, got }
}

pub(crate) fn data_error(expected: u32, got: u32) -> Error {
    Error::DataDigest { expected, got }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of RFC 7143 appendix A.4, "CRC Examples" (bytes as transmitted).
    #[test]
    fn rfc_7143_crc_examples() {
        let inc: Vec<u8> = (0..32).collect();
        let dec: Vec<u8> = (0..32).rev().collect();
        assert_eq!(
            crc32c(&[&[0u8; 32]]).to_le_bytes(),
            [0xaa, 0x36, 0x91, 0x8a]
        );
        assert_eq!(
            crc32c(&[&[0xffu8; 32]]).to_le_bytes(),
            [0x43, 0xab, 0xa8, 0x62]
        );
        assert_eq!(crc32c(&[&inc]).to_le_bytes(), [0x4e, 0x79, 0xdd, 0x46]);
        assert_eq!(crc32c(&[&dec]).to_le_bytes(), [0x5c, 0xdb, 0x3f, 0x11]);
        assert_eq!(crc32c(&[&inc[..5], &inc[5..]]), crc32c(&[&inc]));
    }

    #[test]
    #[cfg(not(fuzzing))]
    fn reports_mismatch_distinctly() {
        assert_eq!(
            verify(&[b"x"], [0; 4], header_error).unwrap_err(),
            Error::HeaderDigest {
                expected: crc32c(&[b"x"]),
                got: 0
            }
        );
        assert!(matches!(
            verify(&[b"x"], [0; 4], data_error),
            Err(Error::DataDigest { .. })
        ));
    }
}

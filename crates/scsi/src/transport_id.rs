//! iSCSI TransportIDs (SPC-4 §7.6.4.6): how PERSISTENT RESERVE OUT names other initiator
//! ports (REGISTER with SPEC_I_PT, REGISTER AND MOVE) and how READ FULL STATUS reports
//! registrants.

use crate::error::Error;

/// PROTOCOL IDENTIFIER of iSCSI (SPC-4 table 362).
const PROTOCOL_ISCSI: u8 = 5;

/// Longest iSCSI name, in bytes (RFC 7143 §4.2.7.1).
///
/// ```
/// use scsi::{MAX_ISCSI_NAME_LEN, TransportId};
/// let named = |len| TransportId { name: "i".repeat(len), isid: None }.emit();
/// assert!(TransportId::parse(&named(MAX_ISCSI_NAME_LEN)).is_ok());
/// assert!(TransportId::parse(&named(MAX_ISCSI_NAME_LEN + 1)).is_err());
/// ```
pub const MAX_ISCSI_NAME_LEN: usize = 223;

/// The separator between the name and the ISID in the initiator port format.
const SEPARATOR: &[u8] = b",i,0x";

/// An iSCSI TransportID: an initiator's iSCSI name, and the ISID of one of its sessions
/// (FORMAT CODE 01b, one initiator port) or none (00b, every port with that name).
///
/// ```
/// use scsi::TransportId;
/// let id = TransportId { name: "iqn.2026-01.example:host".into(), isid: Some([0x80, 0, 0, 0, 0, 1]) };
/// let bytes = id.emit();
/// assert_eq!(&bytes[4..], b"iqn.2026-01.example:host,i,0x800000000001\0\0\0");
/// assert_eq!(TransportId::parse(&bytes), Ok((id, bytes.len())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransportId {
    /// The initiator's iSCSI name (at most [`MAX_ISCSI_NAME_LEN`] bytes, no NUL or comma).
    pub name: String,
    /// The session's ISID, for one initiator port.
    pub isid: Option<[u8; 6]>,
}

impl TransportId {
    /// Parses one TransportID at the start of `b`; returns it and the bytes it took (4 plus
    /// its ADDITIONAL LENGTH).
    ///
    /// ```
    /// use scsi::TransportId;
    /// let mut list = TransportId { name: "iqn.2026-01.example:a".into(), isid: None }.emit();
    /// let len = list.len();
    /// list.extend_from_slice(&[0xff; 4]); // whatever follows in the parameter list
    /// let (id, used) = TransportId::parse(&list)?;
    /// assert_eq!((id.name.as_str(), id.isid, used), ("iqn.2026-01.example:a", None, len));
    /// assert!(TransportId::parse(&list[..10]).is_err()); // cut short
    /// # Ok::<(), scsi::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] when `b` is shorter than the TransportID says;
    /// [`Error::InvalidField`] for another protocol than iSCSI, an unknown format, an
    /// ADDITIONAL LENGTH that is not a multiple of 4 or is below 20, a name that is not
    /// NUL-terminated, empty, too long or not UTF-8, or a malformed ISID.
    pub fn parse(b: &[u8]) -> Result<(Self, usize), Error> {
        let head = b.get(..4).ok_or(Error::Truncated {
            needed: 4,
            have: b.len(),
        })?;
        if head[0] & 0x0f != PROTOCOL_ISCSI {
            return Err(Error::InvalidField {
                field: "PROTOCOL IDENTIFIER",
                offset: 0,
            });
        }
        let format = head[0] >> 6;
        if format > 1 || head[0] & 0x30 != 0 {
            return Err(Error::InvalidField {
                field: "FORMAT CODE",
                offset: 0,
            });
        }
        let additional = usize::from(u16::from_be_bytes([head[2], head[3]]));
        if additional % 4 != 0 || additional < 20 {
            return Err(Error::InvalidField {
                field: "ADDITIONAL LENGTH",
                offset: 2,
            });
        }
        let total = 4 + additional;
        let body = b.get(4..total).ok_or(Error::Truncated {
            needed: total,
            have: b.len(),
        })?;
        let end = body
            .iter()
            .position(|&c| c == 0)
            .ok_or(Error::InvalidField {
                field: "iSCSI NAME (no NUL terminator)",
                offset: 4,
            })?;
        let text = &body[..end];
        let (name, isid) = if format == 0 {
            (text, None)
        } else {
            let at = text
                .windows(SEPARATOR.len())
                .rposition(|w| w.eq_ignore_ascii_case(SEPARATOR))
                .ok_or(Error::InvalidField {
                    field: "SEPARATOR (,i,0x)",
                    offset: 4,
                })?;
            let hex = &text[at + SEPARATOR.len()..];
            (
                &text[..at],
                Some(parse_isid(hex, 4 + at + SEPARATOR.len())?),
            )
        };
        let bad_name = Error::InvalidField {
            field: "iSCSI NAME",
            offset: 4,
        };
        if name.is_empty() || name.len() > MAX_ISCSI_NAME_LEN || name.contains(&b',') {
            return Err(bad_name);
        }
        let name = core::str::from_utf8(name).map_err(|_| bad_name)?;
        Ok((
            TransportId {
                name: name.to_owned(),
                isid,
            },
            total,
        ))
    }

    /// The TransportID's bytes: NUL-terminated and padded with zeros to a multiple of 4 and
    /// to at least 24 bytes, as SPC-4 asks.
    ///
    /// ```
    /// use scsi::TransportId;
    /// let b = TransportId { name: "iqn.x".into(), isid: None }.emit();
    /// assert_eq!(b.len(), 24); // padded to the 24 byte minimum
    /// assert_eq!(b[..4], [0x05, 0, 0, 20]); // iSCSI, FORMAT CODE 00b, ADDITIONAL LENGTH 20
    /// assert_eq!(&b[4..10], b"iqn.x\0");
    /// ```
    pub fn emit(&self) -> Vec<u8> {
        let mut text: Vec<u8> = self.name.as_bytes().to_vec();
        if let Some(isid) = self.isid {
            text.extend_from_slice(SEPARATOR);
            for b in isid {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                text.push(HEX[usize::from(b >> 4)]);
                text.push(HEX[usize::from(b & 15)]);
            }
        }
        text.push(0);
        let additional = text.len().next_multiple_of(4).max(20);
        text.resize(additional, 0);
        let format = if self.isid.is_some() { 0x40 } else { 0 };
        let mut out = vec![format | PROTOCOL_ISCSI, 0];
        // The name is at most 223 bytes, so the length fits easily.
        out.extend_from_slice(&(additional as u16).to_be_bytes());
        out.extend_from_slice(&text);
        out
    }
}

/// Twelve hex digits of an ISID.
fn parse_isid(hex: &[u8], offset: usize) -> Result<[u8; 6], Error> {
    let bad = Error::InvalidField {
        field: "INITIATOR SESSION ID",
        offset,
    };
    if hex.len() != 12 {
        return Err(bad);
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut isid = [0u8; 6];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let (Some(hi), Some(lo)) = (digit(pair[0]), digit(pair[1])) else {
            return Err(bad);
        };
        isid[i] = hi << 4 | lo;
    }
    Ok(isid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn name_only_is_padded_to_twenty_four_bytes() {
        let id = TransportId {
            name: "iqn.a".into(),
            isid: None,
        };
        let b = id.emit();
        assert_eq!(b.len(), 24);
        assert_eq!(&b[..4], &[0x05, 0, 0, 20]);
        assert_eq!(TransportId::parse(&b), Ok((id, 24)));
    }

    #[test]
    fn malformed_transport_ids_are_typed_errors() {
        let good = TransportId {
            name: "iqn.2026-01.example:i".into(),
            isid: Some([1, 2, 3, 4, 5, 6]),
        }
        .emit();
        let field = |b: &[u8]| match TransportId::parse(b) {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let mut fc = good.clone();
        fc[0] = 0x06; // SAS
        assert_eq!(field(&fc), "PROTOCOL IDENTIFIER");
        fc[0] = 0x85; // format 10b
        assert_eq!(field(&fc), "FORMAT CODE");
        let mut odd = good.clone();
        odd[3] = 21;
        assert_eq!(field(&odd), "ADDITIONAL LENGTH");
        let mut no_nul = good.clone();
        for b in &mut no_nul[4..] {
            *b = b'a';
        }
        assert_eq!(field(&no_nul), "iSCSI NAME (no NUL terminator)");
        let mut bad_hex = good.clone();
        let sep = 4 + "iqn.2026-01.example:i".len() + SEPARATOR.len();
        bad_hex[sep] = b'g';
        assert_eq!(field(&bad_hex), "INITIATOR SESSION ID");
        let mut no_sep = good.clone();
        no_sep[0] = 0x05; // format 00b: the ",i,0x..." is then part of the name
        assert_eq!(field(&no_sep), "iSCSI NAME");
        assert!(matches!(
            TransportId::parse(&good[..good.len() - 1]),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            TransportId::parse(&good[..3]),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn separator_and_hex_digits_are_read_in_either_case() {
        let mut b = vec![0x45, 0, 0, 0];
        b.extend_from_slice(b"iqn.x,I,0X80000000ABcd\0\0");
        b[3] = (b.len() - 4) as u8;
        let (id, n) = TransportId::parse(&b).unwrap();
        assert_eq!(n, b.len());
        assert_eq!(id.isid, Some([0x80, 0, 0, 0, 0xab, 0xcd]));
        assert_eq!(id.name, "iqn.x");
    }

    proptest! {
        #[test]
        fn emit_then_parse_round_trips(
            name in "[a-z0-9.:-]{1,223}",
            isid in proptest::option::of(any::<[u8; 6]>()),
            trailing in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let id = TransportId { name, isid };
            let mut b = id.emit();
            let n = b.len();
            prop_assert_eq!(n % 4, 0);
            b.extend_from_slice(&trailing);
            prop_assert_eq!(TransportId::parse(&b), Ok((id, n)));
        }
    }
}

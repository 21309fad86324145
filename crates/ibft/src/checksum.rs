//! The table checksum (ACPI "Checksum" field, byte 9): all bytes of the table, checksum byte
//! included, sum to zero modulo 256.
//!
//! ```
//! use ibft::{Ibft, checksum};
//! let mut table = Ibft::default().to_bytes()?;
//! assert_eq!(checksum::sum(&table), 0);
//! table[24] = 7; // patch the OEM Revision by hand...
//! assert!(Ibft::parse(&table).is_err());
//! checksum::fix(&mut table); // ...then fix the checksum
//! assert_eq!(Ibft::parse(&table)?.header.oem_revision, 7);
//! # Ok::<(), ibft::Error>(())
//! ```

/// Offset of the checksum byte in the table header.
pub(crate) const CHECKSUM_OFFSET: usize = 9;

/// The sum of `bytes` modulo 256. A table is intact when the sum of its `Length` bytes is 0.
///
/// ```
/// assert_eq!(ibft::checksum::sum(&[0x80, 0x80, 0x01]), 0x01);
/// ```
pub fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b))
}

/// Sets the checksum byte of `table` (the whole table, `Length` bytes) so that its bytes sum to
/// zero. Does nothing on a buffer too short to hold a checksum byte.
///
/// ```
/// let mut table = [7u8; 48];
/// ibft::checksum::fix(&mut table);
/// assert_eq!(ibft::checksum::sum(&table), 0);
/// ```
pub fn fix(table: &mut [u8]) {
    let Some(byte) = table.get(CHECKSUM_OFFSET).copied() else {
        return;
    };
    let rest = sum(table).wrapping_sub(byte);
    table[CHECKSUM_OFFSET] = 0u8.wrapping_sub(rest);
}

/// The checksum byte that makes `table` sum to zero.
pub(crate) fn expected(table: &[u8]) -> u8 {
    let byte = table.get(CHECKSUM_OFFSET).copied().unwrap_or(0);
    0u8.wrapping_sub(sum(table).wrapping_sub(byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_makes_sum_zero_whatever_the_old_byte() {
        for old in [0u8, 1, 0x7f, 0xff] {
            let mut table: [u8; 64] = core::array::from_fn(|i| i as u8 * 3);
            table[CHECKSUM_OFFSET] = old;
            fix(&mut table);
            assert_eq!(sum(&table), 0);
            assert_eq!(expected(&table), table[CHECKSUM_OFFSET]);
        }
    }

    #[test]
    fn fix_ignores_short_buffers() {
        let mut short = [1u8; 5];
        fix(&mut short);
        assert_eq!(short, [1; 5]);
    }
}

//! The one's-complement checksum of the footer and the dynamic header (VHD specification,
//! "Hard Disk Footer Format": "a one's complement of the sum of all the bytes in the footer
//! without the checksum field").

/// The checksum of `structure`, skipping the four bytes at `field` (the checksum itself).
///
/// ```
/// // The fixed footer Azure exports, from the reference notes (rest zero): stored 0xffffe747.
/// let mut footer = [0u8; 512];
/// footer[..0x58].copy_from_slice(&[
///     0x63, 0x6f, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x78, 0, 0, 0, 2, 0, 1, 0, 0,
///     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x2e, 0xc7, 0x9b, 0x96, 0x77, 0x61, 0, 0,
///     0, 7, 0, 0, 0x57, 0x69, 0x32, 0x6b, 0, 0, 0, 1, 0x40, 0, 0, 0,
///     0, 0, 0, 1, 0x40, 0, 0, 0, 0x28, 0xa2, 0x10, 0x3f, 0, 0, 0, 2,
///     0xff, 0xff, 0xe7, 0x47, 0x8c, 0x54, 0xdf, 0x94, 0xbd, 0x35, 0x71, 0x4c, 0x94, 0x5f, 0xe5, 0x44,
///     0x44, 0x53, 0x92, 0x1a, 0, 0, 0, 0,
/// ]);
/// assert_eq!(vhd::checksum(&footer, 64), 0xffff_e747);
/// ```
pub fn checksum(structure: &[u8], field: usize) -> u32 {
    let sum = structure
        .iter()
        .enumerate()
        .filter(|(i, _)| !(field..field + 4).contains(i))
        .fold(0u32, |sum, (_, &b)| sum.wrapping_add(u32::from(b)));
    !sum
}

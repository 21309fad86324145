//! Sector bitmaps (VHD specification, "Block Allocation Table and Data Blocks"): one bit per
//! sector of a block, most significant bit first; in a differencing disk a set bit means "this
//! sector is here", a clear bit "read it from the parent".

/// Whether the bit of `sector` is set.
pub(crate) fn is_set(bitmap: &[u8], sector: u64) -> bool {
    let byte = (sector / 8) as usize;
    bitmap
        .get(byte)
        .is_some_and(|b| b & (0x80 >> (sector % 8)) != 0)
}

/// Sets the bits of sectors `start..end`.
pub(crate) fn set_range(bitmap: &mut [u8], start: u64, end: u64) {
    for sector in start..end {
        if let Some(b) = bitmap.get_mut((sector / 8) as usize) {
            *b |= 0x80 >> (sector % 8);
        }
    }
}

/// Whether every sector `start..end` has its bit set.
pub(crate) fn all_set(bitmap: &[u8], start: u64, end: u64) -> bool {
    (start..end).all(|s| is_set(bitmap, s))
}

/// The length of the run of sectors from `start` (before `end`) whose bits equal `start`'s.
pub(crate) fn run_len(bitmap: &[u8], start: u64, end: u64) -> u64 {
    let value = is_set(bitmap, start);
    (start..end)
        .take_while(|&s| is_set(bitmap, s) == value)
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_significant_bit_is_the_first_sector() {
        let mut bm = [0u8; 2];
        set_range(&mut bm, 0, 1);
        assert_eq!(bm, [0x80, 0]);
        set_range(&mut bm, 8, 16);
        assert_eq!(bm, [0x80, 0xff]);
        assert!(is_set(&bm, 0) && !is_set(&bm, 1) && is_set(&bm, 15));
        assert_eq!(run_len(&bm, 1, 16), 7);
        assert_eq!(run_len(&bm, 8, 16), 8);
        assert!(all_set(&bm, 8, 16) && !all_set(&bm, 0, 2));
        assert!(!is_set(&bm, 100)); // past the bitmap: clear
    }
}

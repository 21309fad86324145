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
/// Whole bytes of equal bits (all that this crate writes) are skipped eight sectors at a time.
pub(crate) fn run_len(bitmap: &[u8], start: u64, end: u64) -> u64 {
    if start >= end {
        return 0;
    }
    let value = is_set(bitmap, start);
    let uniform = if value { 0xff } else { 0x00 };
    let mut s = start;
    while s < end {
        if s.is_multiple_of(8) && end - s >= 8 {
            match bitmap.get((s / 8) as usize) {
                Some(&b) if b == uniform => {
                    s += 8;
                    continue;
                }
                // Past the bitmap every bit reads clear.
                None if !value => {
                    s = end;
                    break;
                }
                _ => {}
            }
        }
        if is_set(bitmap, s) != value {
            break;
        }
        s += 1;
    }
    s - start
}

/// The number of runs of clear bits among sectors `start..end`.
pub(crate) fn clear_runs(bitmap: &[u8], start: u64, end: u64) -> usize {
    let mut runs = 0;
    let mut s = start;
    while s < end {
        let set = is_set(bitmap, s);
        runs += usize::from(!set);
        s += run_len(bitmap, s, end);
    }
    runs
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
        assert_eq!(clear_runs(&bm, 0, 16), 1);
        assert_eq!(clear_runs(&bm, 0, 40), 2);
        assert_eq!(run_len(&bm, 16, 40), 24);
        assert_eq!(run_len(&bm, 5, 5), 0);
    }

    #[test]
    fn run_len_agrees_with_a_bit_walk() {
        let bm = [0xff, 0xff, 0x0f, 0x00, 0x00, 0xf0, 0xff, 0x81];
        for start in 0..64 {
            for end in start..70 {
                let v = is_set(&bm, start);
                let walk = (start..end).take_while(|&s| is_set(&bm, s) == v).count() as u64;
                assert_eq!(run_len(&bm, start, end), walk, "{start}..{end}");
            }
        }
    }
}

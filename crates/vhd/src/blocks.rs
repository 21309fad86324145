//! The block table of an open dynamic or differencing disk: the BAT as it is on disk (one
//! `u32` per block) plus the sector bitmaps of the blocks that are only partly present.
//!
//! A block whose bitmap has every bit set (every block of a golden image, most blocks of a
//! dynamic disk) keeps no bitmap in memory, so the table costs 4 bytes per BAT entry plus the
//! bitmaps of partly written blocks, instead of a 24-byte enum per entry.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::bitmap;
use crate::disk::UNALLOCATED;

/// Where one block lives, as seen by a read or a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block<'a> {
    /// BAT entry `0xffffffff`: zeros, or the parent's data.
    Unallocated,
    /// Every sector's bit is set: data at `sector * 512 + bitmap length`.
    Full { sector: u32 },
    /// Some bits are clear.
    Partial { sector: u32, bitmap: &'a [u8] },
}

impl Block<'_> {
    /// The block's first sector in the file, if it is allocated.
    pub(crate) fn sector(&self) -> Option<u32> {
        match *self {
            Block::Unallocated => None,
            Block::Full { sector } | Block::Partial { sector, .. } => Some(sector),
        }
    }
}

/// A hasher for block indexes: one multiply (Fibonacci hashing), whose high bits (which the
/// table's probing uses) depend on every bit of the index. The keys are BAT indexes, bounded by
/// the BAT the file declares, so hash flooding is not a concern.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.0 = (u64::from(i) ^ self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (i ^ self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The BAT and the bitmaps of partly present blocks.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    /// The BAT entries: a block's first sector, or [`UNALLOCATED`].
    bat: Vec<u32>,
    /// Sector bitmaps of allocated blocks that have a clear bit, by block index.
    partial: HashMap<u32, Box<[u8]>, BuildHasherDefault<IndexHasher>>,
    /// Sectors per block: the bits that must be set for a block to be full.
    sectors_per_block: u64,
}

impl Blocks {
    /// A table of `bat` with every allocated block full, for blocks of `sectors_per_block`.
    pub(crate) fn new(bat: Vec<u32>, sectors_per_block: u64) -> Self {
        Blocks {
            bat,
            partial: HashMap::default(),
            sectors_per_block,
        }
    }

    /// Block `idx` (unallocated past the table's end).
    #[inline]
    pub(crate) fn get(&self, idx: usize) -> Block<'_> {
        let sector = self.bat.get(idx).copied().unwrap_or(UNALLOCATED);
        if sector == UNALLOCATED {
            return Block::Unallocated;
        }
        if !self.partial.is_empty()
            && let Some(bitmap) = self.partial.get(&(idx as u32))
        {
            return Block::Partial { sector, bitmap };
        }
        Block::Full { sector }
    }

    /// Records block `idx` at `sector` with `bitmap` (kept only if some bit is clear). Indexes
    /// past the table are ignored.
    pub(crate) fn set(&mut self, idx: usize, sector: u32, bitmap: &[u8]) {
        let Some(entry) = self.bat.get_mut(idx) else {
            return;
        };
        *entry = sector;
        if bitmap::all_set(bitmap, 0, self.sectors_per_block) {
            self.partial.remove(&(idx as u32));
        } else {
            self.partial.insert(idx as u32, bitmap.into());
        }
    }

    /// Marks block `idx` unallocated.
    pub(crate) fn clear(&mut self, idx: usize) {
        if let Some(entry) = self.bat.get_mut(idx) {
            *entry = UNALLOCATED;
            self.partial.remove(&(idx as u32));
        }
    }

    /// Number of allocated blocks.
    pub(crate) fn allocated(&self) -> usize {
        self.bat.iter().filter(|&&e| e != UNALLOCATED).count()
    }

    /// Bytes of memory held, roughly: the BAT and the partial bitmaps.
    pub(crate) fn memory(&self) -> usize {
        self.bat.capacity() * 4
            + self
                .partial
                .values()
                .map(|b| b.len() + 4 + core::mem::size_of::<Box<[u8]>>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_blocks_keep_no_bitmap() {
        let mut b = Blocks::new(vec![UNALLOCATED; 4], 16);
        assert_eq!(b.get(0), Block::Unallocated);
        b.set(1, 100, &[0xff, 0xff]);
        assert_eq!(b.get(1), Block::Full { sector: 100 });
        b.set(2, 200, &[0xff, 0x00]);
        assert_eq!(
            b.get(2),
            Block::Partial {
                sector: 200,
                bitmap: &[0xff, 0x00]
            }
        );
        assert_eq!(b.allocated(), 2);
        // Filling the bitmap drops it; clearing the block forgets it.
        b.set(2, 200, &[0xff, 0xff]);
        assert_eq!(b.get(2), Block::Full { sector: 200 });
        b.set(3, 300, &[0x0f, 0x00]);
        b.clear(3);
        assert_eq!(b.get(3), Block::Unallocated);
        assert!(b.partial.is_empty());
        assert_eq!(b.get(99), Block::Unallocated);
        b.set(99, 1, &[0]); // ignored
        assert_eq!(b.bat.len(), 4);
        assert_eq!(b.memory(), 16);
    }

    #[test]
    fn index_hasher_spreads_neighbours() {
        let h = |i: u32| {
            let mut s = IndexHasher::default();
            s.write_u32(i);
            s.finish() >> 57
        };
        let tags: std::collections::HashSet<u64> = (0..64).map(h).collect();
        assert!(tags.len() > 32, "{} distinct tags", tags.len());
    }
}

//! What the model tests (`model.rs`, `cache.rs`) share: the disk size, the block sizes, random
//! writes, and a golden parent.

use std::sync::Arc;

use proptest::prelude::*;
use vhd::*;

/// 256 KiB: 64 blocks of 4 KiB, or 4 of 64 KiB.
pub(crate) const SIZE: u64 = 256 << 10;
/// The block sizes the tests cover.
pub(crate) const BLOCK_SIZES: [u32; 3] = [4096, 16384, 65536];

/// A write anywhere in the disk: unaligned offset, 1 to 20 000 bytes.
pub(crate) fn write_op() -> impl Strategy<Value = (u64, Vec<u8>)> {
    (0..SIZE).prop_flat_map(|offset| {
        let max = (SIZE - offset).min(20_000) as usize;
        (
            Just(offset),
            proptest::collection::vec(any::<u8>(), 1..=max),
        )
    })
}

/// A read-only dynamic disk of [`SIZE`] holding `contents` in every other 8 KiB, the rest left
/// unallocated, written through the crate: a golden parent.
pub(crate) fn golden(contents: &[u8], block_size: u32) -> Arc<Disk<MemStorage>> {
    let mut p = VhdBuilder::dynamic(SIZE)
        .block_size(block_size)
        .create(MemStorage::default())
        .unwrap();
    for (i, chunk) in contents
        .chunks(8192)
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
    {
        p.write_at(chunk, i as u64 * 8192).unwrap();
    }
    let bytes = p.into_storage().into_inner();
    Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only()).unwrap())
}

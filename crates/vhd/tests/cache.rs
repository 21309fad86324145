//! A [`CachedParent`] changes nothing but speed: random writes (unaligned, crossing blocks and
//! extents) into differencing disks over a cached parent, with budgets small enough to evict,
//! read back exactly as the same writes over the uncached parent and as a plain byte array;
//! the parent's bytes never change; concurrent readers see the parent's bytes; writable
//! parents are refused.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use std::sync::Arc;

use common::{BLOCK_SIZES, SIZE, golden, write_op};
use proptest::prelude::*;
use vhd::*;

mod common;

const EXTENTS: [u64; 3] = [4096, 16384, 65536];

fn read_op() -> impl Strategy<Value = (u64, usize)> {
    (0..SIZE).prop_flat_map(|offset| (Just(offset), 1..=(SIZE - offset).min(80_000) as usize))
}

fn link_to(parent: &dyn ParentDisk) -> ParentLink {
    ParentLink {
        unique_id: parent.unique_id(),
        size: parent.size(),
        timestamp: VhdTime(0),
        name: "parent.vhd".into(),
        absolute_path: None,
        relative_path: Some(r".\parent.vhd".into()),
    }
}

fn child_of(parent: Arc<dyn ParentDisk>, block_size: u32) -> Disk<MemStorage> {
    let mut child = VhdBuilder::differencing(link_to(&*parent))
        .block_size(block_size)
        .create(MemStorage::default())
        .unwrap();
    child.attach_parent(parent).unwrap();
    child
}

fn read(disk: &dyn ParentDisk, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    disk.read_at(&mut buf, offset).unwrap();
    buf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn cached_reads_equal_uncached_reads_and_the_parent_is_never_written(
        seed in proptest::collection::vec(any::<u8>(), SIZE as usize),
        mid_ops in proptest::collection::vec(write_op(), 0..8),
        ops in proptest::collection::vec(write_op(), 1..24),
        reads in proptest::collection::vec(read_op(), 1..12),
        block in proptest::sample::select(&BLOCK_SIZES[..]),
        extent in proptest::sample::select(&EXTENTS[..]),
        budget_extents in 0u64..80,
    ) {
        // golden <- mid (read-only once written) <- child; the child's parent is `mid`, cached
        // or not.
        let golden = golden(&seed, block);
        let golden_bytes = golden.storage().to_vec();
        let mut mid = child_of(golden.clone(), block);
        for (offset, data) in &mid_ops {
            mid.write_at(data, *offset).unwrap();
        }
        let mid_bytes = mid.into_storage().into_inner();
        let mid = Arc::new(
            Disk::open_with_parent(
                MemStorage::read_only(mid_bytes.clone()),
                OpenOptions::read_only(),
                golden.clone(),
            )
            .unwrap(),
        );
        let options = CacheOptions::with_budget(budget_extents * extent).extent(extent);
        let cached = Arc::new(CachedParent::new(mid.clone(), options).unwrap());
        let mut plain = child_of(mid.clone(), block);
        let mut through_cache = child_of(cached.clone(), block);
        let mut model = read(&*mid, 0, SIZE as usize);
        for (i, (offset, data)) in ops.iter().enumerate() {
            plain.write_at(data, *offset).unwrap();
            through_cache.write_at(data, *offset).unwrap();
            model[*offset as usize..*offset as usize + data.len()].copy_from_slice(data);
            // Reads between writes, so that the cache is warm while the child changes.
            let (r, len) = reads[i % reads.len()];
            prop_assert_eq!(read(&through_cache, r, len), read(&plain, r, len));
        }
        for &(offset, len) in &reads {
            let want = &model[offset as usize..offset as usize + len];
            prop_assert_eq!(&read(&through_cache, offset, len)[..], want);
            prop_assert_eq!(&read(&plain, offset, len)[..], want);
            // The cache itself reads as its parent.
            prop_assert_eq!(read(&*cached, offset, len), read(&*mid, offset, len));
        }
        prop_assert!(read(&through_cache, 0, SIZE as usize) == model);
        // The same child file, written through the cache, reads the same over the plain parent.
        let bytes = through_cache.into_storage().into_inner();
        let reopened = Disk::open_with_parent(MemStorage::new(bytes), OpenOptions::read_only(), mid.clone()).unwrap();
        prop_assert!(read(&reopened, 0, SIZE as usize) == model);
        // Neither parent was written.
        prop_assert!(golden.storage().to_vec() == golden_bytes, "the golden image changed");
        prop_assert!(mid.storage().to_vec() == mid_bytes, "the middle layer changed");
        let stats = cached.stats();
        prop_assert!(stats.resident <= stats.capacity && stats.capacity <= options.budget);
    }
}

#[test]
fn concurrent_readers_through_a_small_cache_see_the_parent() {
    let seed: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 253) as u8).collect();
    let golden = golden(&seed, 16384);
    let want = read(&*golden, 0, SIZE as usize);
    let options = CacheOptions::with_budget(64 << 10).extent(4096);
    let cached = Arc::new(CachedParent::new(golden, options).unwrap());
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (cached, want) = (cached.clone(), &want);
            s.spawn(move || {
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ t;
                for _ in 0..2000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let offset = x % SIZE;
                    let len = ((x >> 32) % 20_000).min(SIZE - offset) as usize;
                    let got = read(&*cached, offset, len.max(1).min((SIZE - offset) as usize));
                    assert!(got[..] == want[offset as usize..offset as usize + got.len()]);
                }
            });
        }
    });
    let stats = cached.stats();
    assert!(stats.hits > 0 && stats.misses > 0, "{stats:?}");
    assert!(stats.resident <= 64 << 10);
}

#[test]
fn writable_and_unknown_parents_are_refused() {
    let writable = Arc::new(
        VhdBuilder::dynamic(SIZE)
            .create(MemStorage::default())
            .unwrap(),
    );
    let err = CachedParent::new(writable, CacheOptions::with_budget(1 << 20)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // A raw image does not say that it is read-only.
    let raw = Arc::new(RawImage::new(MemStorage::new(vec![0; 4096])).unwrap());
    assert!(CachedParent::new(raw, CacheOptions::with_budget(1 << 20)).is_err());
    // A cache is itself read-only, and may be cached again (pointlessly) or shared.
    let golden = golden(&[1; SIZE as usize], 4096);
    let cached = Arc::new(CachedParent::new(golden, CacheOptions::with_budget(1 << 20)).unwrap());
    assert!(cached.is_read_only());
    assert!(CachedParent::new(cached, CacheOptions::with_budget(1 << 20)).is_ok());
}

//! `Disk::discard` and `Disk::allocation`: discards interleaved with writes read back as a
//! byte array where discarded ranges are zeros, on dynamic, differencing and fixed disks;
//! the allocation map agrees with what the file holds; whole blocks of a dynamic disk are
//! released, and `check` stays clean (released space is a warning, or leaked at the end).

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use std::sync::Arc;

use proptest::prelude::*;
use vhd::*;

const SIZE: u64 = 512 << 10; // 128 blocks of 4 KiB, 8 of 64 KiB
const BLOCK_SIZES: [u32; 3] = [4096, 16384, 65536];

#[derive(Debug, Clone)]
enum Op {
    Write(u64, Vec<u8>),
    Discard(u64, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let write = (0..SIZE).prop_flat_map(|offset| {
        let max = (SIZE - offset).min(20_000) as usize;
        proptest::collection::vec(1u8..=255, 1..=max).prop_map(move |d| Op::Write(offset, d))
    });
    // Discards: any range, often block-aligned and long, so whole blocks are released.
    let discard = (0..SIZE, 1..SIZE, any::<bool>()).prop_map(|(offset, len, aligned)| {
        let offset = if aligned {
            offset / 4096 * 4096
        } else {
            offset
        };
        let len = if aligned {
            len.next_multiple_of(4096)
        } else {
            len % 30_000 + 1
        };
        Op::Discard(offset, len.min(SIZE - offset))
    });
    prop_oneof![write, discard]
}

fn apply(disk: &mut Disk<MemStorage>, model: &mut [u8], op: &Op) {
    match op {
        Op::Write(offset, data) => {
            disk.write_at(data, *offset).unwrap();
            model[*offset as usize..][..data.len()].copy_from_slice(data);
        }
        Op::Discard(offset, len) => {
            disk.discard(*offset, *len).unwrap();
            model[*offset as usize..][..*len as usize].fill(0);
        }
    }
}

fn read_all<S: Storage>(disk: &Disk<S>) -> Vec<u8> {
    let mut all = vec![0u8; disk.size() as usize];
    disk.read_at(&mut all, 0).unwrap();
    all
}

/// Walks the whole disk through `allocation` and checks each run against `is_allocated`:
/// runs tile the disk, and a run's bytes are all stored here or all not.
fn allocation_map<S: Storage>(disk: &Disk<S>) -> Vec<(bool, u64, u64)> {
    let mut runs = Vec::new();
    let mut pos = 0;
    while pos < disk.size() {
        let (allocated, len) = disk.allocation(pos).unwrap();
        assert!(len >= 1 && pos + len <= disk.size(), "run {len} at {pos}");
        // Sector by sector, the run holds what it says.
        let mut at = pos;
        while at < pos + len {
            let n = (512 - at % 512).min(pos + len - at);
            assert_eq!(disk.is_allocated(at, n), allocated, "byte {at}");
            at += n;
        }
        runs.push((allocated, pos, len));
        pos += len;
    }
    runs
}

/// A golden parent, every other 8 KiB written with non-zero bytes.
fn golden(block_size: u32) -> Arc<Disk<MemStorage>> {
    let mut p = VhdBuilder::dynamic(SIZE)
        .block_size(block_size)
        .create(MemStorage::default())
        .unwrap();
    for i in (0..SIZE / 8192).step_by(2) {
        p.write_at(&[0xa5; 8192], i * 8192).unwrap();
    }
    let bytes = p.into_storage().into_inner();
    Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only()).unwrap())
}

fn child_of(parent: &Arc<Disk<MemStorage>>, block_size: u32) -> Disk<MemStorage> {
    let link = ParentLink {
        unique_id: parent.footer().unique_id,
        size: SIZE,
        timestamp: VhdTime(0),
        name: "golden.vhd".into(),
        absolute_path: None,
        relative_path: None,
    };
    let mut child = VhdBuilder::differencing(link)
        .block_size(block_size)
        .create(MemStorage::default())
        .unwrap();
    child.attach_parent(parent.clone()).unwrap();
    child
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn dynamic_discard_matches_byte_array(
        ops in proptest::collection::vec(op(), 1..24),
        block in proptest::sample::select(&BLOCK_SIZES[..]),
    ) {
        let mut disk = VhdBuilder::dynamic(SIZE).block_size(block).create(MemStorage::default()).unwrap();
        let mut model = vec![0u8; SIZE as usize];
        for op in &ops {
            apply(&mut disk, &mut model, op);
        }
        prop_assert!(read_all(&disk) == model);
        // Bytes read as non-zero only where the file holds them (writes never write zeros here).
        for (allocated, pos, len) in allocation_map(&disk) {
            if !allocated {
                prop_assert!(model[pos as usize..][..len as usize].iter().all(|&b| b == 0));
            }
        }
        // The file checks clean but for released space (a warning) and, when the last block
        // in the file was released, leaked space at its end; discards leave no non-zero data
        // behind clear bits.
        let bytes = disk.into_storage().into_inner();
        let report = check_with(&MemStorage::new(bytes.clone()), &CheckOptions { scan_unwritten_sectors: true }).unwrap();
        prop_assert!(
            report.problems.iter().all(|p| matches!(p, Problem::UnusedSpace { .. } | Problem::LeakedSpace { .. })),
            "{report}"
        );
        let reopened = Disk::open(MemStorage::new(bytes), OpenOptions::read_write()).unwrap();
        prop_assert!(read_all(&reopened) == model);
    }

    #[test]
    fn differencing_discard_hides_the_parent(
        ops in proptest::collection::vec(op(), 1..16),
        block in proptest::sample::select(&BLOCK_SIZES[..]),
    ) {
        let parent = golden(block);
        let parent_file = parent.storage().to_vec();
        let mut model = read_all(&*parent);
        let mut child = child_of(&parent, block);
        for op in &ops {
            apply(&mut child, &mut model, op);
        }
        prop_assert!(read_all(&child) == model);
        allocation_map(&child);
        prop_assert!(parent.storage().to_vec() == parent_file, "the parent changed");
        let bytes = child.into_storage().into_inner();
        prop_assert!(check(&MemStorage::new(bytes.clone())).unwrap().is_clean());
        let reopened = Disk::open_with_parent(MemStorage::new(bytes), OpenOptions::read_only(), parent).unwrap();
        prop_assert!(read_all(&reopened) == model);
    }

    #[test]
    fn fixed_discard_writes_zeros(ops in proptest::collection::vec(op(), 1..16)) {
        let mut disk = VhdBuilder::fixed(SIZE).create(MemStorage::default()).unwrap();
        let mut model = vec![0u8; SIZE as usize];
        for op in &ops {
            apply(&mut disk, &mut model, op);
        }
        prop_assert!(read_all(&disk) == model);
        prop_assert_eq!(disk.allocation(0).unwrap(), (true, SIZE));
    }
}

#[test]
fn whole_blocks_are_released_and_their_space_reported() {
    let bs = 64u64 << 10;
    let mut disk = VhdBuilder::dynamic(SIZE)
        .block_size(bs as u32)
        .create(MemStorage::default())
        .unwrap();
    disk.write_at(&vec![3; 3 * bs as usize], 0).unwrap(); // blocks 0, 1, 2
    assert_eq!(disk.allocated_blocks(), 3);
    // Block 1 whole, block 2 but for its last sector.
    disk.discard(bs, 2 * bs - 512).unwrap();
    assert_eq!(disk.allocated_blocks(), 2);
    assert_eq!(disk.allocation(0).unwrap(), (true, bs));
    assert_eq!(disk.allocation(bs).unwrap(), (false, bs));
    // Block 2 is still allocated and its bits set: its zeros were written.
    assert_eq!(disk.allocation(2 * bs).unwrap(), (true, bs));
    let mut buf = vec![9u8; 2 * bs as usize];
    disk.read_at(&mut buf, bs).unwrap();
    assert!(buf[..2 * bs as usize - 512].iter().all(|&b| b == 0));
    assert!(buf[2 * bs as usize - 512..].iter().all(|&b| b == 3));
    // Block 1's space lies between blocks 0 and 2: unused, a warning only.
    let storage = disk.into_storage();
    let report = check(&storage).unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(
        matches!(report.problems[..], [Problem::UnusedSpace { len, .. }] if len >= bs + 512),
        "{report}"
    );
    // A new write allocates at the end; the released space is not reused.
    let mut disk = Disk::open(storage, OpenOptions::read_write()).unwrap();
    let len_before = disk.storage().len().unwrap();
    disk.write_at(b"x", bs).unwrap();
    assert!(disk.storage().len().unwrap() > len_before);
    // Discarding the last block in the file leaves leaked space at the end, which repair
    // truncates.
    disk.discard(bs, bs).unwrap();
    let storage = disk.into_storage();
    let report = check(&storage).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::LeakedSpace { .. })),
        "{report}"
    );
    let repaired = repair(&storage).unwrap();
    assert!(repaired.is_clean(), "{repaired}");
    assert_eq!(storage.len().unwrap(), len_before);
}

#[test]
fn discard_on_read_only_and_out_of_bounds_is_refused() {
    let bytes = VhdBuilder::dynamic(SIZE)
        .create(MemStorage::default())
        .unwrap()
        .into_storage()
        .into_inner();
    let mut ro = Disk::open(MemStorage::new(bytes.clone()), OpenOptions::read_only()).unwrap();
    assert!(matches!(ro.discard(0, 1), Err(Error::ReadOnly)));
    let mut rw = Disk::open(MemStorage::new(bytes), OpenOptions::read_write()).unwrap();
    assert!(matches!(
        rw.discard(SIZE - 1, 2),
        Err(Error::OutOfBounds { .. })
    ));
    assert!(matches!(
        rw.discard(u64::MAX, 2),
        Err(Error::OutOfBounds { .. })
    ));
    assert!(matches!(
        rw.allocation(SIZE),
        Err(Error::OutOfBounds { .. })
    ));
    rw.discard(SIZE, 0).unwrap(); // an empty range at the end is fine
}

#[test]
fn allocation_runs_follow_the_bitmap_and_span_blocks() {
    let bs = 16u64 << 10;
    let parent = golden(bs as u32);
    let mut child = child_of(&parent, bs as u32);
    // Granules 1 and 2 of block 0; all of blocks 2 and 3.
    child.write_at(&[1; 8192], 4096).unwrap();
    child.write_at(&vec![2; 2 * bs as usize], 2 * bs).unwrap();
    assert_eq!(child.allocation(0).unwrap(), (false, 4096));
    assert_eq!(child.allocation(100).unwrap(), (false, 3996));
    assert_eq!(child.allocation(4096).unwrap(), (true, 8192));
    assert_eq!(child.allocation(5000).unwrap(), (true, 8192 - 904));
    // Rest of block 0, then unallocated block 1: one run.
    assert_eq!(child.allocation(12288).unwrap(), (false, 4096 + bs));
    // Blocks 2 and 3 are full: one run across them.
    assert_eq!(child.allocation(2 * bs).unwrap(), (true, 2 * bs));
    // The rest of the disk.
    assert_eq!(child.allocation(4 * bs).unwrap(), (false, SIZE - 4 * bs));
    assert_eq!(child.allocation(SIZE - 1).unwrap(), (false, 1));
}

#[test]
fn large_blocks_start_their_data_on_4k_boundaries() {
    for bs in [64u32 << 10, 2 << 20] {
        let size = 8u64 << 20;
        let mut disk = VhdBuilder::dynamic(size)
            .block_size(bs)
            .create(MemStorage::default())
            .unwrap();
        for i in (0..size / u64::from(bs)).rev() {
            disk.write_at(&[i as u8 + 1; 4096], i * u64::from(bs))
                .unwrap();
        }
        let bytes = disk.into_storage().into_inner();
        let header = 512;
        let table = u64::from_be_bytes(bytes[header + 16..header + 24].try_into().unwrap());
        for i in 0..size / u64::from(bs) {
            let at = table as usize + 4 * i as usize;
            let sector = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
            let data = u64::from(sector) * 512 + 512; // one-sector bitmaps here
            assert_eq!(
                data % DATA_ALIGNMENT,
                0,
                "block {i} of {bs}: data at {data}"
            );
            assert_eq!(bytes[data as usize], i as u8 + 1);
        }
        let report = check(&MemStorage::new(bytes)).unwrap();
        assert!(report.problems.is_empty(), "{report}");
    }
}

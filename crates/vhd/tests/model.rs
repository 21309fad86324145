//! Random writes (unaligned offsets and lengths, crossing block boundaries) into dynamic and
//! differencing disks read back exactly as a plain byte array does, and the parent's bytes are
//! unchanged afterwards.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use common::{BLOCK_SIZES, SIZE, golden, write_op};
use proptest::prelude::*;
use vhd::*;

mod common;

fn check_reads(disk: &Disk<MemStorage>, model: &[u8]) {
    let mut all = vec![0u8; model.len()];
    disk.read_at(&mut all, 0).unwrap();
    assert!(all == model, "whole-disk read differs from the model");
    // Unaligned reads too.
    for (off, len) in [(1u64, 4095usize), (4095, 2), (65535, 70_000), (SIZE - 3, 3)] {
        let mut buf = vec![0u8; len];
        disk.read_at(&mut buf, off).unwrap();
        assert_eq!(buf, &model[off as usize..off as usize + len]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn dynamic_disk_matches_byte_array(
        ops in proptest::collection::vec(write_op(), 1..24),
        block in proptest::sample::select(&BLOCK_SIZES[..]),
    ) {
        let mut disk = VhdBuilder::dynamic(SIZE).block_size(block).create(MemStorage::default()).unwrap();
        let mut model = vec![0u8; SIZE as usize];
        for (offset, data) in &ops {
            disk.write_at(data, *offset).unwrap();
            model[*offset as usize..*offset as usize + data.len()].copy_from_slice(data);
        }
        check_reads(&disk, &model);
        // And again after closing and reopening the file.
        let bytes = disk.into_storage().into_inner();
        let reopened = Disk::open(MemStorage::new(bytes), OpenOptions::read_only()).unwrap();
        check_reads(&reopened, &model);
    }

    #[test]
    fn differencing_disk_matches_byte_array_and_leaves_parent_alone(
        seed in proptest::collection::vec(any::<u8>(), SIZE as usize),
        ops in proptest::collection::vec(write_op(), 1..24),
        block in proptest::sample::select(&BLOCK_SIZES[..]),
    ) {
        let golden = golden(&seed, block);
        let golden_bytes = golden.storage().to_vec();
        let mut model = vec![0u8; SIZE as usize];
        golden.read_at(&mut model, 0).unwrap();
        let link = ParentLink {
            unique_id: golden.footer().unique_id,
            size: golden.size(),
            timestamp: VhdTime(0),
            name: "golden.vhd".into(),
            absolute_path: None,
            relative_path: Some(r".\golden.vhd".into()),
        };
        let mut child = VhdBuilder::differencing(link).block_size(block).create(MemStorage::default()).unwrap();
        child.attach_parent(golden.clone()).unwrap();
        for (offset, data) in &ops {
            child.write_at(data, *offset).unwrap();
            model[*offset as usize..*offset as usize + data.len()].copy_from_slice(data);
        }
        check_reads(&child, &model);
        prop_assert!(golden.storage().to_vec() == golden_bytes, "the parent changed");
        // Every bitmap byte written is 0x00 or 0xff (4 KiB copy-up granules).
        let bytes = child.into_storage().into_inner();
        let reopened = Disk::open_with_parent(MemStorage::new(bytes), OpenOptions::read_only(), golden).unwrap();
        check_reads(&reopened, &model);
    }
}

#[test]
fn writes_to_read_only_disks_are_refused() {
    let bytes = VhdBuilder::dynamic(SIZE)
        .create(MemStorage::default())
        .unwrap()
        .into_storage()
        .into_inner();
    let mut disk = Disk::open(MemStorage::new(bytes), OpenOptions::read_only()).unwrap();
    assert!(matches!(disk.write_at(b"x", 0), Err(Error::ReadOnly)));
}

#[test]
fn out_of_bounds_access_is_an_error() {
    let mut disk = VhdBuilder::fixed(SIZE)
        .create(MemStorage::default())
        .unwrap();
    let mut buf = [0u8; 2];
    assert!(matches!(
        disk.read_at(&mut buf, SIZE - 1),
        Err(Error::OutOfBounds { .. })
    ));
    assert!(matches!(
        disk.write_at(&buf, u64::MAX),
        Err(Error::OutOfBounds { .. })
    ));
}

#[test]
fn differencing_disk_without_parent_says_so() {
    let link = ParentLink {
        unique_id: uuid::Uuid::from_u128(9),
        size: SIZE,
        timestamp: VhdTime(0),
        name: "golden.vhd".into(),
        absolute_path: None,
        relative_path: None,
    };
    let child = VhdBuilder::differencing(link)
        .create(MemStorage::default())
        .unwrap();
    let mut buf = [0u8; 1];
    assert!(matches!(
        child.read_at(&mut buf, 0),
        Err(Error::ParentRequired { .. })
    ));
}

#[test]
fn wrong_parent_is_refused() {
    let golden = golden(&[1u8; SIZE as usize], 4096);
    let link = ParentLink {
        unique_id: uuid::Uuid::from_u128(9),
        size: SIZE,
        timestamp: VhdTime(0),
        name: "golden.vhd".into(),
        absolute_path: None,
        relative_path: None,
    };
    let mut child = VhdBuilder::differencing(link)
        .create(MemStorage::default())
        .unwrap();
    assert!(matches!(
        child.attach_parent(golden),
        Err(Error::ParentMismatch { .. })
    ));
}

#[test]
fn writes_into_the_last_partial_granule() {
    // 8 MiB + 512: the last 4 KiB granule holds one sector.
    let size = (8 << 20) + 512;
    let mut disk = VhdBuilder::dynamic(size)
        .create(MemStorage::default())
        .unwrap();
    disk.write_at(b"x", 8 << 20).unwrap();
    disk.write_at(&[7u8; 512], size - 512).unwrap();
    let mut buf = [0u8; 512];
    disk.read_at(&mut buf, size - 512).unwrap();
    assert_eq!(buf, [7u8; 512]);
}

//! Merging a child into its parent, and converting between raw images and VHDs.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use proptest::prelude::*;
use vhd::*;

const SIZE: u64 = 1 << 20;
const BLOCK: u32 = 64 << 10;

fn link_to(parent: &Disk<MemStorage>) -> ParentLink {
    ParentLink {
        unique_id: parent.footer().unique_id,
        size: parent.size(),
        timestamp: VhdTime(0),
        name: "golden.vhd".into(),
        absolute_path: None,
        relative_path: Some(r".\golden.vhd".into()),
    }
}

/// A golden image (blocks 0, 2, 4, ... hold a pattern; the others are unallocated) and a
/// read-only view of it to serve as a child's parent.
fn golden() -> (Disk<MemStorage>, Arc<Disk<MemStorage>>) {
    let mut g = VhdBuilder::dynamic(SIZE)
        .block_size(BLOCK)
        .create(MemStorage::default())
        .unwrap();
    for b in (0..SIZE / u64::from(BLOCK)).step_by(2) {
        let data: Vec<u8> = (0..BLOCK).map(|i| (i as u64 * 7 + b) as u8).collect();
        g.write_at(&data, b * u64::from(BLOCK)).unwrap();
    }
    let view = Disk::open(
        MemStorage::read_only(g.storage().to_vec()),
        OpenOptions::read_only(),
    )
    .unwrap();
    (g, Arc::new(view))
}

fn child_of(view: &Arc<Disk<MemStorage>>) -> Disk<MemStorage> {
    let mut c = VhdBuilder::differencing(link_to(view))
        .block_size(BLOCK)
        .create(MemStorage::default())
        .unwrap();
    c.attach_parent(view.clone()).unwrap();
    c
}

fn all(disk: &dyn ParentDisk) -> Vec<u8> {
    let mut buf = vec![0u8; disk.size() as usize];
    disk.read_at(&mut buf, 0).unwrap();
    buf
}

#[test]
fn merge_writes_the_childs_sectors_into_the_parent() {
    let (mut g, view) = golden();
    let before = all(&*view);
    let mut c = child_of(&view);
    c.write_at(&[0xaa; 10_000], 3).unwrap(); // block 0, unaligned
    c.write_at(&[0xbb; 70_000], 65_000).unwrap(); // crosses into blocks 1 and 2
    c.write_at(&[0xcc; 512], SIZE - 512).unwrap(); // last sector
    let expected = all(&c);
    let mut calls = Vec::new();
    let stats = merge(&c, &mut g, &mut |done, total| calls.push((done, total))).unwrap();
    assert!(
        all(&g) == expected,
        "the parent does not read as the child did"
    );
    // Exactly the 4 KiB groups the child holds were copied: 12 KiB in block 0, 70 000 bytes
    // rounded out to groups over blocks 0..2, and the last 4 KiB.
    let groups = |from: u64, to: u64| (to.div_ceil(4096) - from / 4096) * 4096;
    let copied = groups(0, 10_003) + groups(65_000, 135_000) + 4096;
    assert_eq!(stats.bytes_copied, copied);
    assert_eq!(stats.blocks, c.allocated_blocks());
    assert_eq!(stats.blocks, 4);
    let total = 4 * u64::from(BLOCK);
    assert_eq!(calls.first(), Some(&(0, total)));
    assert_eq!(calls.last(), Some(&(total, total)));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
    // Untouched parts of the parent are as before.
    let after = all(&g);
    assert_eq!(
        after[200_000..SIZE as usize - 4096],
        before[200_000..SIZE as usize - 4096]
    );
    // And they survive reopening the parent.
    let reopened = Disk::open(
        MemStorage::new(g.into_storage().into_inner()),
        OpenOptions::read_only(),
    )
    .unwrap();
    assert!(all(&reopened) == expected);
}

#[test]
fn merge_copies_single_sectors_of_partial_bitmaps() {
    let (mut g, view) = golden();
    let mut c = child_of(&view);
    c.write_at(&[0x5c; 4096], 0).unwrap();
    // As another writer may leave it: only sectors 0 and 2 of the block present.
    let table = c.header().unwrap().table_offset;
    let mut bytes = c.into_storage().into_inner();
    let t = table as usize;
    let entry = u32::from_be_bytes(bytes[t..t + 4].try_into().unwrap()) as usize;
    bytes[entry * 512] = 0xa0;
    let c = Disk::open_with_parent(
        MemStorage::new(bytes),
        OpenOptions::read_only(),
        view.clone(),
    )
    .unwrap();
    let before = all(&*view);
    let stats = merge(&c, &mut g, &mut |_, _| {}).unwrap();
    assert_eq!(
        stats,
        MergeStats {
            bytes_copied: 1024,
            blocks: 1
        }
    );
    let after = all(&g);
    assert_eq!(after[..512], [0x5c; 512]);
    assert_eq!(after[512..1024], before[512..1024]);
    assert_eq!(after[1024..1536], [0x5c; 512]);
    assert_eq!(after[1536..], before[1536..]);
}

#[test]
fn merge_refuses_a_read_only_or_foreign_parent() {
    let (_, view) = golden();
    let mut c = child_of(&view);
    c.write_at(b"x", 0).unwrap();
    let mut ro = Disk::open(
        MemStorage::new(view.storage().to_vec()),
        OpenOptions::read_only(),
    )
    .unwrap();
    assert!(matches!(
        merge(&c, &mut ro, &mut |_, _| {}),
        Err(Error::ReadOnly)
    ));
    let mut stranger = VhdBuilder::dynamic(SIZE)
        .create(MemStorage::default())
        .unwrap();
    assert!(matches!(
        merge(&c, &mut stranger, &mut |_, _| {}),
        Err(Error::ParentMismatch { .. })
    ));
    let dynamic = VhdBuilder::dynamic(SIZE)
        .create(MemStorage::default())
        .unwrap();
    assert!(matches!(
        merge(&dynamic, &mut stranger, &mut |_, _| {}),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn merge_of_files_opened_by_path() {
    let dir = std::env::temp_dir().join(format!("vhd-merge-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let golden: PathBuf = dir.join("golden.vhd");
    let child: PathBuf = dir.join("client.vhd");
    {
        let mut g = VhdBuilder::dynamic(SIZE)
            .create(FileStorage::create_new(&golden).unwrap())
            .unwrap();
        g.write_at(&[1; 8192], 0).unwrap();
        g.flush().unwrap();
        let link = ParentLink::for_files(&g, &golden, &child).unwrap();
        VhdBuilder::differencing(link)
            .create(FileStorage::create_new(&child).unwrap())
            .unwrap();
    }
    let mut c = open_file(&child, OpenOptions::read_write()).unwrap();
    c.write_at(&[2; 100], 4096).unwrap();
    c.flush().unwrap();
    // The child opened with its chain holds a shared lock on the golden image: no writer.
    let busy = open_file(&golden, OpenOptions::read_write()).unwrap_err();
    assert!(
        matches!(&busy, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::ResourceBusy),
        "{busy}"
    );
    drop(c);
    // A merge reads only what the child holds: open it alone.
    let c = Disk::open(
        FileStorage::open_read_only(&child).unwrap(),
        OpenOptions::read_only(),
    )
    .unwrap();
    let mut g = open_file(&golden, OpenOptions::read_write()).unwrap();
    merge(&c, &mut g, &mut |_, _| {}).unwrap();
    drop(g);
    let g = open_file(&golden, OpenOptions::read_only()).unwrap();
    let mut buf = [0u8; 8192];
    g.read_at(&mut buf, 0).unwrap();
    assert_eq!(buf[..4096], [1; 4096]);
    assert_eq!(buf[4096..4196], [2; 100]);
    assert_eq!(buf[4196..], [1; 8192 - 4196]);
    let _ = fs::remove_dir_all(&dir);
}

/// A raw image with data in a few places, zeros elsewhere.
fn raw_bytes() -> Vec<u8> {
    let mut raw = vec![0u8; SIZE as usize];
    raw[100..5000].fill(3); // block 0
    raw[300_000] = 9; // block 4
    raw[SIZE as usize - 10..].fill(7); // block 15
    raw
}

#[test]
fn raw_to_fixed_and_dynamic_round_trip() {
    let bytes = raw_bytes();
    let raw = RawImage::new(MemStorage::new(bytes.clone())).unwrap();
    let fixed = convert(
        &raw,
        VhdBuilder::fixed(SIZE),
        MemStorage::default(),
        None,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(fixed.disk_type(), DiskType::Fixed);
    assert!(all(&fixed) == bytes);
    let mut last = (0, 0);
    let dynamic = convert(
        &raw,
        VhdBuilder::dynamic(SIZE).block_size(BLOCK),
        MemStorage::default(),
        None,
        &mut |d, t| last = (d, t),
    )
    .unwrap();
    assert_eq!(last, (SIZE, SIZE));
    assert!(all(&dynamic) == bytes);
    assert_eq!(
        dynamic.allocated_blocks(),
        3,
        "all-zero blocks stay unallocated"
    );
    // Also after reopening.
    let reopened = Disk::open(
        MemStorage::new(dynamic.into_storage().into_inner()),
        OpenOptions::read_only(),
    )
    .unwrap();
    assert!(all(&reopened) == bytes);
}

#[test]
fn differencing_output_stores_only_what_differs_from_the_parent() {
    let (_, view) = golden();
    let mut image = all(&*view);
    image[10] ^= 0xff; // block 0
    image[7 * BLOCK as usize + 4096..7 * BLOCK as usize + 4200].fill(0x11); // block 7
    image[3 * BLOCK as usize] = 0; // block 3 is unallocated (zeros) in the parent: no change
    let raw = RawImage::new(MemStorage::new(image.clone())).unwrap();
    let parent: Arc<dyn ParentDisk> = view.clone();
    let child = convert(
        &raw,
        VhdBuilder::differencing(link_to(&view)).block_size(BLOCK),
        MemStorage::default(),
        Some(parent),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(child.allocated_blocks(), 2);
    assert!(child.is_allocated(0, 4096) && !child.is_allocated(4096, 512));
    assert!(child.is_allocated(7 * u64::from(BLOCK) + 4096, 4096));
    assert!(all(&child) == image);
}

#[test]
fn differencing_output_keeps_zeros_that_hide_parent_data() {
    let (_, view) = golden();
    let image = vec![0u8; SIZE as usize]; // the parent's data is all gone
    let raw = RawImage::new(MemStorage::new(image.clone())).unwrap();
    let child = convert(
        &raw,
        VhdBuilder::differencing(link_to(&view)).block_size(BLOCK),
        MemStorage::default(),
        Some(view.clone()),
        &mut |_, _| {},
    )
    .unwrap();
    // Only the parent's allocated blocks (every other one) had to be overwritten.
    assert_eq!(child.allocated_blocks(), SIZE / u64::from(BLOCK) / 2);
    assert!(all(&child) == image);
}

#[test]
fn convert_checks_its_arguments() {
    let raw = RawImage::new(MemStorage::new(vec![0; SIZE as usize])).unwrap();
    let small = convert(
        &raw,
        VhdBuilder::dynamic(SIZE / 2),
        MemStorage::default(),
        None,
        &mut |_, _| {},
    );
    assert!(matches!(small, Err(Error::InvalidInput { .. })));
    let (_, view) = golden();
    let no_parent = convert(
        &raw,
        VhdBuilder::differencing(link_to(&view)),
        MemStorage::default(),
        None,
        &mut |_, _| {},
    );
    assert!(matches!(no_parent, Err(Error::InvalidInput { .. })));
    let stray_parent = convert(
        &raw,
        VhdBuilder::dynamic(SIZE),
        MemStorage::default(),
        Some(view.clone()),
        &mut |_, _| {},
    );
    assert!(matches!(stray_parent, Err(Error::InvalidInput { .. })));
    let stranger: Arc<dyn ParentDisk> = Arc::new(
        VhdBuilder::dynamic(SIZE)
            .create(MemStorage::default())
            .unwrap(),
    );
    let wrong_parent = convert(
        &raw,
        VhdBuilder::differencing(link_to(&view)),
        MemStorage::default(),
        Some(stranger),
        &mut |_, _| {},
    );
    assert!(matches!(wrong_parent, Err(Error::ParentMismatch { .. })));
}

#[test]
fn raw_source_smaller_than_the_disk_is_padded_with_zeros() {
    let raw = RawImage::new(MemStorage::new(vec![4; 1000])).unwrap();
    let disk = convert(
        &raw,
        VhdBuilder::dynamic(64 << 10).block_size(4096),
        MemStorage::default(),
        None,
        &mut |_, _| {},
    )
    .unwrap();
    let got = all(&disk);
    assert_eq!(got[..1000], [4; 1000]);
    assert!(got[1000..].iter().all(|&b| b == 0));
}

#[test]
fn vhd_to_raw_equals_what_the_disk_reads() {
    let (_, view) = golden();
    let mut c = child_of(&view);
    c.write_at(&[0xee; 3000], 123_456).unwrap();
    let expected = all(&c);
    let out = MemStorage::new(vec![1; 17]); // truncated first
    assert_eq!(to_raw(&c, &out, &mut |_, _| {}).unwrap(), SIZE);
    assert!(out.to_vec() == expected);
    let mut stream = Vec::new();
    let mut last = (0, 0);
    to_writer(&c, &mut stream, &mut |d, t| last = (d, t)).unwrap();
    assert!(stream == expected);
    assert_eq!(last, (SIZE, SIZE));
}

#[test]
fn raw_file_to_dynamic_file_and_back() {
    let dir = std::env::temp_dir().join(format!("vhd-convert-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let bytes = raw_bytes();
    fs::write(dir.join("disk.img"), &bytes).unwrap();
    let raw = RawFile::open(dir.join("disk.img")).unwrap();
    assert_eq!(raw.size(), SIZE);
    let disk = convert(
        &raw,
        VhdBuilder::dynamic(SIZE),
        FileStorage::create_new(dir.join("disk.vhd")).unwrap(),
        None,
        &mut |_, _| {},
    )
    .unwrap();
    drop(disk);
    let disk = open_file(dir.join("disk.vhd"), OpenOptions::read_only()).unwrap();
    let back = FileStorage::create_new(dir.join("back.img")).unwrap();
    to_raw(&disk, &back, &mut |_, _| {}).unwrap();
    assert!(fs::read(dir.join("back.img")).unwrap() == bytes);
    let _ = fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn conversions_round_trip(
        writes in proptest::collection::vec((0..SIZE, 1..9000usize, any::<u8>()), 0..12),
        block in proptest::sample::select(&[4096u32, 65536, 2 << 20][..]),
    ) {
        let (_, view) = golden();
        let mut image = all(&*view);
        for (off, len, byte) in writes {
            let end = (off as usize + len).min(SIZE as usize);
            image[off as usize..end].fill(byte);
        }
        let raw = RawImage::new(MemStorage::new(image.clone())).unwrap();
        for builder in [VhdBuilder::fixed(SIZE), VhdBuilder::dynamic(SIZE).block_size(block)] {
            let disk = convert(&raw, builder, MemStorage::default(), None, &mut |_, _| {}).unwrap();
            prop_assert!(all(&disk) == image);
        }
        let child = convert(
            &raw,
            VhdBuilder::differencing(link_to(&view)).block_size(block.min(1 << 20)),
            MemStorage::default(),
            Some(view.clone()),
            &mut |_, _| {},
        ).unwrap();
        prop_assert!(all(&child) == image);
        let out = MemStorage::default();
        to_raw(&child, &out, &mut |_, _| {}).unwrap();
        prop_assert!(out.to_vec() == image);
    }
}

#[test]
fn conversions_of_sizes_that_are_not_a_multiple_of_4_kib() {
    let size = 3 * 4096 + 512;
    let image: Vec<u8> = (0..size).map(|i| (i % 251) as u8 + 1).collect();
    let raw = RawImage::new(MemStorage::new(image.clone())).unwrap();
    let parent = convert(
        &raw,
        VhdBuilder::dynamic(size).block_size(4096),
        MemStorage::default(),
        None,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(all(&parent) == image);
    let mut changed = image.clone();
    changed[size as usize - 1] ^= 0xff; // only the last, short, group differs
    let parent: Arc<Disk<MemStorage>> = Arc::new(parent);
    let child = convert(
        &RawImage::new(MemStorage::new(changed.clone())).unwrap(),
        VhdBuilder::differencing(link_to(&parent)).block_size(4096),
        MemStorage::default(),
        Some(parent.clone()),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(child.allocated_blocks(), 1);
    assert!(all(&child) == changed);
    let mut merged = Disk::open(
        MemStorage::new(parent.storage().to_vec()),
        OpenOptions::read_write(),
    )
    .unwrap();
    let stats = merge(&child, &mut merged, &mut |_, _| {}).unwrap();
    assert_eq!(stats.bytes_copied, 512);
    assert!(all(&merged) == changed);
}

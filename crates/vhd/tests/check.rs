//! `check` and `repair`: every problem is produced by a crafted corruption of a freshly
//! created disk, reported with the right offset, and (when repairable) repaired so that the
//! disk checks clean, opens read-write and reads the same data.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use std::sync::Arc;

use vhd::*;

const SIZE: u64 = 256 << 10;
/// Dynamic disks below: footer copy, header at 512, BAT (64 entries) at 1536, blocks from 2048.
const HEADER: usize = 512;
const BAT: usize = 1536;
const FIRST_BLOCK: u64 = 2048;
/// A 4 KiB block with its 512-byte bitmap.
const SPAN: u64 = 4096 + 512;

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(29) ^ seed | 1)
        .collect()
}

/// A dynamic disk with blocks 0, 1 and 5 written (in that order), and what it reads.
fn dynamic() -> (Vec<u8>, Vec<u8>) {
    let mut disk = VhdBuilder::dynamic(SIZE)
        .block_size(4096)
        .create(MemStorage::default())
        .unwrap();
    let mut model = vec![0u8; SIZE as usize];
    for (i, block) in [0u64, 1, 5].into_iter().enumerate() {
        let data = pattern(i as u8, 4096);
        disk.write_at(&data, block * 4096).unwrap();
        model[block as usize * 4096..][..4096].copy_from_slice(&data);
    }
    (disk.into_storage().into_inner(), model)
}

fn read_all(bytes: Vec<u8>) -> Vec<u8> {
    let disk = Disk::open(MemStorage::new(bytes), OpenOptions::read_write()).unwrap();
    let mut all = vec![0u8; disk.size() as usize];
    disk.read_at(&mut all, 0).unwrap();
    all
}

fn problems(bytes: &[u8]) -> Vec<Problem> {
    check(&MemStorage::new(bytes.to_vec())).unwrap().problems
}

/// Repairs `bytes`, asserts the result is clean and opens read-write, and returns the bytes.
fn repaired(bytes: Vec<u8>, options: &CheckOptions) -> (Vec<u8>, RepairReport) {
    let storage = MemStorage::new(bytes);
    let report = repair_with(&storage, options).unwrap();
    assert!(report.is_clean(), "not clean after repair:\n{report}");
    assert!(check_with(&storage, options).unwrap().is_clean());
    let bytes = storage.into_inner();
    Disk::open(MemStorage::new(bytes.clone()), OpenOptions::read_write()).unwrap();
    (bytes, report)
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn fix_header_checksum(b: &mut [u8]) {
    let sum = checksum(&b[HEADER..HEADER + 1024], 36);
    put32(b, HEADER + 36, sum);
}

/// Rewrites both footers with `f` applied to the trailing one's raw bytes, checksum fixed.
fn edit_footers(b: &mut [u8], f: impl Fn(&mut [u8])) {
    let at = b.len() - 512;
    f(&mut b[at..]);
    let sum = checksum(&b[at..], 64);
    put32(b, at + 64, sum);
    let copy = b[at..].to_vec();
    b[..512].copy_from_slice(&copy);
}

#[test]
fn fresh_disks_have_no_problems() {
    let (bytes, _) = dynamic();
    assert_eq!(problems(&bytes), []);
    let fixed = VhdBuilder::fixed(SIZE)
        .create(MemStorage::default())
        .unwrap();
    let report = check(fixed.storage()).unwrap();
    assert_eq!(report.problems, []);
    assert_eq!(report.disk_type, Some(DiskType::Fixed));
    let child = VhdBuilder::differencing(ParentLink {
        unique_id: uuid::Uuid::from_u128(3),
        size: SIZE,
        timestamp: VhdTime(0),
        name: "golden.vhd".into(),
        absolute_path: Some(r"C:\images\golden.vhd".into()),
        relative_path: Some(r".\golden.vhd".into()),
    })
    .block_size(4096)
    .create(MemStorage::default())
    .unwrap();
    let report = check(child.storage()).unwrap();
    assert_eq!(report.problems, []);
    assert!(report.is_clean());
    assert_eq!(report.data_end, Some(report.file_len - 512));
    // Nothing to do: repair changes nothing.
    let storage = MemStorage::new(bytes.clone());
    let report = repair(&storage).unwrap();
    assert_eq!(report.actions, []);
    assert_eq!(storage.into_inner(), bytes);
}

#[test]
fn damaged_trailing_footer_is_rewritten_from_the_copy() {
    let (mut bytes, model) = dynamic();
    let at = bytes.len() - 512;
    bytes[at + 64] ^= 0x40; // the stored checksum
    let p = problems(&bytes);
    assert!(
        matches!(
            p[..],
            [Problem::TrailingFooterDamaged {
                offset,
                damage: FooterDamage::Checksum { .. }
            }] if offset == at as u64
        ),
        "{p:?}"
    );
    assert!(p[0].is_repairable());
    assert!(Disk::open(MemStorage::new(bytes.clone()), OpenOptions::read_write()).is_err());
    let (fixed, report) = repaired(bytes, &CheckOptions::default());
    assert_eq!(
        report.actions,
        [RepairAction::FooterWritten {
            offset: at as u64,
            from_copy: true
        }]
    );
    assert_eq!(fixed[at..], fixed[..512]);
    assert_eq!(read_all(fixed), model);
}

#[test]
fn damaged_or_different_copy_is_rewritten_from_the_trailing_footer() {
    let (bytes, model) = dynamic();
    let mut missing = bytes.clone();
    missing[..8].copy_from_slice(b"garbage!");
    assert_eq!(
        problems(&missing),
        [Problem::FooterCopyDamaged {
            damage: FooterDamage::Missing
        }]
    );
    let (fixed, report) = repaired(missing, &CheckOptions::default());
    assert_eq!(report.actions, [RepairAction::FooterCopyWritten]);
    assert_eq!(fixed, bytes);

    // A valid copy that differs (saved state set): the trailing footer wins.
    let mut different = bytes.clone();
    different[84] = 1;
    let sum = checksum(&different[..512], 64);
    put32(&mut different, 64, sum);
    assert_eq!(
        problems(&different),
        [Problem::FooterCopyMismatch {
            first_difference: 67 // the checksum's last byte
        }]
    );
    let (fixed, _) = repaired(different, &CheckOptions::default());
    assert_eq!(fixed, bytes);
    assert_eq!(read_all(fixed), model);
}

#[test]
fn no_valid_footer_is_not_repairable() {
    let (mut bytes, _) = dynamic();
    let at = bytes.len() - 512;
    bytes[at] = b'C';
    bytes[100] ^= 1; // the copy's checksum no longer matches
    let p = problems(&bytes);
    assert!(
        matches!(
            p[..],
            [Problem::NoValidFooter {
                damage: FooterDamage::Missing,
                copy: Some(FooterDamage::Checksum { .. }),
                ..
            }]
        ),
        "{p:?}"
    );
    let storage = MemStorage::new(bytes.clone());
    let report = repair(&storage).unwrap();
    assert!(report.actions.is_empty() && !report.is_clean());
    assert_eq!(storage.into_inner(), bytes);
    assert_eq!(problems(&[0; 100]), [Problem::FileTooShort { len: 100 }]);
    // A fixed disk has no copy.
    let fixed = VhdBuilder::fixed(SIZE)
        .create(MemStorage::default())
        .unwrap();
    let mut bytes = fixed.into_storage().into_inner();
    let at = bytes.len() - 512;
    bytes[at + 70] ^= 1;
    assert!(matches!(
        problems(&bytes)[..],
        [Problem::NoValidFooter {
            copy: Some(FooterDamage::Missing),
            ..
        }]
    ));
}

#[test]
fn header_checksum_is_recomputed_when_the_header_is_sane() {
    let (bytes, model) = dynamic();
    let mut bad = bytes.clone();
    bad[HEADER + 39] ^= 0xff;
    let p = problems(&bad);
    assert!(
        matches!(p[..], [Problem::HeaderChecksum { offset: 512, .. }]),
        "{p:?}"
    );
    let (fixed, report) = repaired(bad, &CheckOptions::default());
    assert!(matches!(
        report.actions[..],
        [RepairAction::HeaderChecksumRewritten { offset: 512, .. }]
    ));
    assert_eq!(fixed, bytes);
    assert_eq!(read_all(fixed), model);

    // A header that is not sane is not "repaired" by a new checksum.
    let mut bad = bytes.clone();
    bad[HEADER..HEADER + 8].copy_from_slice(b"cxsparsE");
    assert!(matches!(
        problems(&bad)[..],
        [Problem::HeaderUnreadable { offset: 512, .. }]
    ));
    let storage = MemStorage::new(bad.clone());
    assert!(repair(&storage).unwrap().actions.is_empty());
    let mut bad = bytes.clone();
    put32(&mut bad, HEADER + 32, 3000); // block size
    fix_header_checksum(&mut bad);
    assert!(!check(&MemStorage::new(bad)).unwrap().is_repairable());
}

#[test]
fn header_offset_and_bat_placement_are_checked() {
    let (bytes, _) = dynamic();
    let mut bad = bytes.clone();
    edit_footers(&mut bad, |f| {
        f[16..24].copy_from_slice(&700u64.to_be_bytes())
    });
    assert_eq!(
        problems(&bad),
        [Problem::HeaderOffsetInvalid { offset: 700 }]
    );
    let mut bad = bytes.clone();
    put32(&mut bad, HEADER + 28, 10); // Max Table Entries
    fix_header_checksum(&mut bad);
    assert_eq!(
        problems(&bad),
        [Problem::BatTooSmall {
            offset: 540,
            entries: 10,
            needed: 64
        }]
    );
    let mut bad = bytes.clone();
    bad[HEADER + 16..HEADER + 24].copy_from_slice(&(1u64 << 40).to_be_bytes());
    fix_header_checksum(&mut bad);
    assert_eq!(
        problems(&bad),
        [Problem::BatOutOfFile {
            offset: 1 << 40,
            len: 256
        }]
    );
    for p in problems(&bad) {
        assert_eq!(p.severity(), Severity::Error);
        assert!(!p.is_repairable());
    }
}

fn set_entry(b: &mut [u8], block: usize, sector: u32) {
    put32(b, BAT + 4 * block, sector);
}

fn entry(b: &[u8], block: usize) -> u32 {
    u32::from_be_bytes(b[BAT + 4 * block..][..4].try_into().unwrap())
}

#[test]
fn bat_entry_past_the_end_is_cleared() {
    let (bytes, mut model) = dynamic();
    let mut bad = bytes.clone();
    set_entry(&mut bad, 9, 1 << 20);
    let p = problems(&bad);
    assert_eq!(
        p,
        [Problem::BatEntryOutOfFile {
            block: 9,
            entry_offset: BAT as u64 + 36,
            block_offset: 512 << 20
        }]
    );
    assert_eq!(p[0].offset(), Some(BAT as u64 + 36));
    // The last block, moved so that it reaches into the footer.
    let mut bad = bytes.clone();
    let last = entry(&bad, 5);
    set_entry(&mut bad, 5, last + 1);
    assert!(matches!(
        problems(&bad)[..],
        [
            Problem::BatEntryOutOfFile { block: 5, .. },
            Problem::LeakedSpace { .. }
        ]
    ));
    let (fixed, report) = repaired(bad, &CheckOptions::default());
    assert!(matches!(
        report.actions[..],
        [
            RepairAction::BatEntryCleared { block: 5, was, .. },
            RepairAction::FooterWritten { from_copy: false, .. },
            RepairAction::FileTruncated { .. }
        ] if was == last + 1
    ));
    assert_eq!(fixed.len() as u64, FIRST_BLOCK + 2 * SPAN + 512);
    model[5 * 4096..6 * 4096].fill(0);
    assert_eq!(read_all(fixed), model);
}

#[test]
fn bat_entry_into_metadata_is_cleared() {
    let (bytes, mut model) = dynamic();
    let mut bad = bytes.clone();
    set_entry(&mut bad, 1, 2); // byte 1024: the header
    // Block 1's real place, between blocks 0 and 5, is now unreferenced: a warning.
    let unused = Problem::UnusedSpace {
        offset: FIRST_BLOCK + SPAN,
        len: SPAN,
    };
    assert_eq!(
        problems(&bad),
        [
            Problem::BatEntryInMetadata {
                block: 1,
                entry_offset: BAT as u64 + 4,
                block_offset: 1024,
                structure: "dynamic header"
            },
            unused.clone()
        ]
    );
    assert_eq!(unused.severity(), Severity::Warning);
    let (fixed, report) = repaired(bad, &CheckOptions::default());
    // Block 1's old place is between blocks 0 and 5: not at the end, so nothing is truncated.
    assert!(matches!(
        report.actions[..],
        [RepairAction::BatEntryCleared {
            block: 1,
            was: 2,
            ..
        }]
    ));
    model[4096..8192].fill(0);
    assert_eq!(read_all(fixed), model);
}

#[test]
fn overlapping_bat_entries_keep_the_first_block() {
    let (bytes, mut model) = dynamic();
    let mut bad = bytes.clone();
    let one = entry(&bad, 1);
    set_entry(&mut bad, 7, one + 2); // block 7 starts 1 KiB into block 1
    let p = problems(&bad);
    assert_eq!(
        p,
        [Problem::BatEntriesOverlap {
            a: 1,
            b: 7,
            a_offset: u64::from(one) * 512,
            b_offset: u64::from(one) * 512 + 1024
        }]
    );
    assert!(Disk::open(MemStorage::new(bad.clone()), OpenOptions::read_only()).is_err());
    let (fixed, report) = repaired(bad, &CheckOptions::default());
    assert_eq!(
        report.actions,
        [RepairAction::BatEntryCleared {
            block: 7,
            entry_offset: BAT as u64 + 28,
            was: one + 2
        }]
    );
    assert_eq!(fixed, bytes);
    // Two entries pointing at the same block: the lower index is kept.
    let mut bad = bytes.clone();
    set_entry(&mut bad, 3, entry(&bytes, 5));
    assert!(matches!(
        problems(&bad)[..],
        [Problem::BatEntriesOverlap { a: 3, b: 5, .. }]
    ));
    let (fixed, _) = repaired(bad, &CheckOptions::default());
    model.copy_within(5 * 4096..6 * 4096, 3 * 4096);
    model[5 * 4096..6 * 4096].fill(0);
    assert_eq!(read_all(fixed), model);
}

#[test]
fn leaked_space_is_reclaimed() {
    let (bytes, model) = dynamic();
    let mut leaky = bytes.clone();
    let footer = leaky.split_off(leaky.len() - 512);
    let leak_at = leaky.len() as u64;
    leaky.extend_from_slice(&[0xc7; 3 * 512]);
    leaky.extend_from_slice(&footer);
    let p = problems(&leaky);
    assert_eq!(
        p,
        [Problem::LeakedSpace {
            offset: leak_at,
            len: 1536
        }]
    );
    assert_eq!(p[0].severity(), Severity::Leak);
    // It opens: a leak is harmless.
    Disk::open(MemStorage::new(leaky.clone()), OpenOptions::read_write()).unwrap();
    let (fixed, report) = repaired(leaky, &CheckOptions::default());
    assert_eq!(
        report.actions,
        [
            RepairAction::FooterWritten {
                offset: leak_at,
                from_copy: false
            },
            RepairAction::FileTruncated {
                from: leak_at + 2048,
                to: leak_at + 512
            }
        ]
    );
    assert_eq!(report.before.leaked_bytes(), 1536);
    assert_eq!(fixed, bytes);
    assert_eq!(read_all(fixed), model);
}

#[test]
fn unaligned_length_is_repaired() {
    let (bytes, model) = dynamic();
    let mut odd = bytes.clone();
    odd.extend_from_slice(&[1; 100]);
    let p = problems(&odd);
    assert!(
        matches!(
            p[..],
            [
                Problem::TrailingFooterDamaged { .. },
                Problem::UnalignedLength { len },
                Problem::LeakedSpace { .. }
            ] if len == bytes.len() as u64 + 100
        ),
        "{p:?}"
    );
    let (fixed, _) = repaired(odd, &CheckOptions::default());
    assert_eq!(fixed, bytes);
    assert_eq!(read_all(fixed), model);
}

#[test]
fn non_zero_data_behind_clear_bits_is_zeroed() {
    let mut disk = VhdBuilder::dynamic(SIZE)
        .block_size(16384)
        .create(MemStorage::default())
        .unwrap();
    disk.write_at(&[9; 4096], 0).unwrap(); // granule 0 of block 0; granules 1..4 clear
    let mut bytes = disk.into_storage().into_inner();
    let data = FIRST_BLOCK as usize + 512;
    bytes[data + 5000..data + 5010].fill(0xee); // sector 9: clear bit
    bytes[data + 6144] = 1; // sector 12: clear bit
    bytes[data + 100] = 0; // sector 0: set bit, any value is fine
    assert_eq!(problems(&bytes), []);
    let scan = CheckOptions {
        scan_unwritten_sectors: true,
    };
    let report = check_with(&MemStorage::new(bytes.clone()), &scan).unwrap();
    assert_eq!(
        report.problems,
        [
            Problem::BitmapClearButDataNonZero {
                block: 0,
                offset: data as u64 + 4608,
                len: 512
            },
            Problem::BitmapClearButDataNonZero {
                block: 0,
                offset: data as u64 + 6144,
                len: 512
            }
        ]
    );
    let (fixed, report) = repaired(bytes, &scan);
    assert_eq!(report.actions.len(), 2);
    assert!(fixed[data + 4096..data + 16384].iter().all(|&b| b == 0));
    let mut expected = vec![0u8; SIZE as usize];
    expected[..4096].fill(9);
    expected[100] = 0;
    assert_eq!(read_all(fixed), expected);
}

fn child() -> Vec<u8> {
    VhdBuilder::differencing(ParentLink {
        unique_id: uuid::Uuid::from_u128(3),
        size: SIZE,
        timestamp: VhdTime(0),
        name: "golden.vhd".into(),
        absolute_path: None,
        relative_path: Some(r".\golden.vhd".into()),
    })
    .block_size(4096)
    .create(MemStorage::default())
    .unwrap()
    .into_storage()
    .into_inner()
}

#[test]
fn locators_are_checked() {
    let bytes = child();
    let loc = HEADER + 576 + 24; // locator 1: W2ru (0, W2ku, is unused)
    let mut bad = bytes.clone();
    bad[loc + 16..loc + 24].copy_from_slice(&(1u64 << 30).to_be_bytes());
    fix_header_checksum(&mut bad);
    let p = problems(&bad);
    assert_eq!(
        p,
        [
            Problem::LocatorOutOfFile {
                index: 1,
                offset: 1 << 30,
                len: 512
            },
            Problem::LeakedSpace {
                offset: 2048,
                len: 512
            }
        ]
    );
    let storage = MemStorage::new(bad.clone());
    assert!(repair(&storage).unwrap().actions.is_empty());

    let mut odd = bytes.clone();
    odd[loc..loc + 4].copy_from_slice(b"Odd!");
    odd[loc + 12] = 1; // reserved
    fix_header_checksum(&mut odd);
    let report = check(&MemStorage::new(odd)).unwrap();
    assert_eq!(
        report.problems,
        [
            Problem::NonZeroReserved {
                structure: "parent locator",
                offset: loc as u64 + 12
            },
            Problem::UnknownLocatorPlatform {
                index: 1,
                code: PlatformCode(u32::from_be_bytes(*b"Odd!"))
            }
        ]
    );
    assert!(report.is_clean(), "warnings only");
}

#[test]
fn warnings_do_not_make_a_disk_unclean() {
    let (bytes, _) = dynamic();
    let mut odd = bytes.clone();
    edit_footers(&mut odd, |f| {
        f[8..12].copy_from_slice(&0x8000_0000u32.to_be_bytes()); // features
        f[68..84].fill(0); // unique id
        f[200] = 7; // reserved
    });
    odd[HEADER + 8] = 0; // header data offset
    odd[HEADER + 40] = 1; // parent unique id in a dynamic disk
    odd[HEADER + 800] = 1; // reserved
    fix_header_checksum(&mut odd);
    let at = odd.len() as u64 - 512;
    let report = check(&MemStorage::new(odd.clone())).unwrap();
    assert_eq!(
        report.problems,
        [
            Problem::FooterFeatures {
                features: 0x8000_0000
            },
            Problem::NullUniqueId,
            Problem::NonZeroReserved {
                structure: "footer",
                offset: at + 200
            },
            Problem::UnexpectedDataOffset {
                offset: 520,
                value: 0x00ff_ffff_ffff_ffff
            },
            Problem::NonZeroReserved {
                structure: "dynamic header",
                offset: 512 + 800
            },
            Problem::UnexpectedParentFields,
        ]
    );
    assert!(report.is_clean() && !report.has_errors());
    for p in &report.problems {
        assert_eq!(p.severity(), Severity::Warning, "{p}");
    }
    let storage = MemStorage::new(odd.clone());
    assert!(repair(&storage).unwrap().actions.is_empty());
    assert_eq!(storage.into_inner(), odd);
}

#[test]
fn fixed_size_mismatch() {
    let fixed = VhdBuilder::fixed(SIZE)
        .create(MemStorage::default())
        .unwrap();
    let bytes = fixed.into_storage().into_inner();
    let mut big = bytes.clone();
    let at = big.len() - 512;
    big[at + 48..at + 56].copy_from_slice(&(SIZE + 512).to_be_bytes());
    let sum = checksum(&big[at..], 64);
    put32(&mut big, at + 64, sum);
    let p = problems(&big);
    assert_eq!(
        p,
        [Problem::FixedSizeMismatch {
            current_size: SIZE + 512,
            data_len: SIZE
        }]
    );
    assert_eq!(p[0].severity(), Severity::Error);
    assert!(!check(&MemStorage::new(big)).unwrap().is_repairable());
    // Extra data before the footer: a warning.
    let mut small = bytes[..at].to_vec();
    small.extend_from_slice(&[0; 512]);
    small.extend_from_slice(&bytes[at..]);
    let p = problems(&small);
    assert_eq!(p[0].severity(), Severity::Warning);
}

#[test]
fn reports_display_every_problem() {
    let (mut bytes, _) = dynamic();
    set_entry(&mut bytes, 9, 1 << 20);
    bytes[..8].copy_from_slice(b"garbage!");
    let report = repair(&MemStorage::new(bytes)).unwrap();
    let text = report.to_string();
    assert!(text.contains("error: BAT entry 9"), "{text}");
    assert!(text.contains("repair: cleared BAT entry 9"), "{text}");
    assert!(text.contains("after: dynamic disk"), "{text}");
    assert!(text.ends_with("no problems found"), "{text}");
}

/// The parent of a differencing disk is never written by a repair of the child (it is not
/// even read): repair takes only the child's storage.
#[test]
fn repairing_a_child_leaves_it_attachable() {
    let golden = VhdBuilder::dynamic(SIZE)
        .block_size(4096)
        .create(MemStorage::default())
        .unwrap();
    let id = golden.footer().unique_id;
    let golden: Arc<dyn ParentDisk> = Arc::new(golden);
    let mut child = VhdBuilder::differencing(ParentLink {
        unique_id: id,
        size: SIZE,
        timestamp: VhdTime(0),
        name: "golden.vhd".into(),
        absolute_path: None,
        relative_path: None,
    })
    .block_size(4096)
    .create(MemStorage::default())
    .unwrap();
    child.attach_parent(golden.clone()).unwrap();
    child.write_at(&[5; 100], 10_000).unwrap();
    let mut bytes = child.into_storage().into_inner();
    let footer = bytes.split_off(bytes.len() - 512);
    bytes.extend_from_slice(&[0; 512]);
    bytes.extend_from_slice(&footer);
    let (fixed, _) = repaired(bytes, &CheckOptions::default());
    let child =
        Disk::open_with_parent(MemStorage::new(fixed), OpenOptions::read_write(), golden).unwrap();
    let mut buf = [0u8; 102];
    child.read_at(&mut buf, 9_999).unwrap();
    assert_eq!(buf[0], 0);
    assert_eq!(&buf[1..101], &[5; 100]);
}

/// A dynamic disk with 64 KiB blocks (data aligned to 4 KiB) whose trailing footer sits where
/// Windows keeps it: where the next block would start, after up to 3.5 KiB of padding.
fn windows_layout() -> (Vec<u8>, u64) {
    let mut disk = VhdBuilder::dynamic(SIZE)
        .block_size(64 << 10)
        .create(MemStorage::default())
        .unwrap();
    disk.write_at(&[4; 70_000], 10_000).unwrap(); // blocks 0 and 1
    let mut bytes = disk.into_storage().into_inner();
    let footer = bytes.split_off(bytes.len() - 512);
    let data_end = bytes.len() as u64;
    // Where the next block starts: its data (after a one-sector bitmap) on a 4 KiB boundary.
    let next = (data_end + 512).next_multiple_of(4096) - 512;
    bytes.resize(next as usize, 0);
    bytes.extend_from_slice(&footer);
    (bytes, data_end)
}

#[test]
fn windows_alignment_padding_is_not_leaked() {
    let (bytes, data_end) = windows_layout();
    let footer_at = bytes.len() as u64 - 512;
    assert_eq!(footer_at - data_end, 3584);
    let storage = MemStorage::new(bytes.clone());
    let report = check(&storage).unwrap();
    assert!(report.problems.is_empty(), "{report}");
    assert_eq!(report.data_end, Some(footer_at));
    // Repair leaves it alone, also when it has something else to fix.
    let mut bad = bytes.clone();
    bad[100] ^= 1; // the footer copy
    let storage = MemStorage::new(bad);
    let repaired = repair(&storage).unwrap();
    assert!(
        matches!(repaired.actions[..], [RepairAction::FooterCopyWritten]),
        "{repaired}"
    );
    assert_eq!(storage.to_vec(), bytes);
    // The next block goes exactly where the footer was.
    let mut disk = Disk::open(MemStorage::new(bytes), OpenOptions::read_write()).unwrap();
    disk.write_at(&[5; 10], 200_000).unwrap();
    let bytes = disk.into_storage().into_inner();
    assert_eq!(bytes.len() as u64, footer_at + 512 + (64 << 10) + 512);
    assert!(check(&MemStorage::new(bytes)).unwrap().problems.is_empty());
}

#[test]
fn padding_that_no_alignment_explains_is_leaked() {
    let (bytes, data_end) = windows_layout();
    for pad in [512u64, 3072, 4096] {
        let mut odd = bytes[..data_end as usize].to_vec();
        odd.resize((data_end + pad) as usize, 0);
        odd.extend_from_slice(&bytes[bytes.len() - 512..]);
        assert_eq!(
            problems(&odd),
            [Problem::LeakedSpace {
                offset: data_end,
                len: pad
            }],
            "{pad} bytes of padding"
        );
    }
}

/// The differencing disk Windows made (dfvfs `fat-differential.vhd`: 2 MiB blocks, data on
/// 4 KiB boundaries, 3.5 KiB before the trailing footer), when the reference samples are on
/// this machine; the project does not ship them.
#[test]
fn windows_made_differencing_disk_checks_clean() {
    let path = std::path::Path::new("/work/shared/reference/vhd-samples/fat-differential.vhd");
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("skipped: {} is not here", path.display());
        return;
    };
    let report = check(&MemStorage::new(bytes.clone())).unwrap();
    assert!(report.problems.is_empty(), "{report}");
    assert_eq!(report.data_end, Some(bytes.len() as u64 - 512));
    assert_eq!(report.allocated_blocks, 1);
    let repaired = repair(&MemStorage::new(bytes)).unwrap();
    assert!(repaired.actions.is_empty(), "{repaired}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A child with locators and three blocks: every structure is within the first 16 KiB.
    fn base() -> Vec<u8> {
        let golden: Arc<dyn ParentDisk> = Arc::new(
            VhdBuilder::dynamic(SIZE)
                .unique_id(uuid::Uuid::from_u128(3))
                .create(MemStorage::default())
                .unwrap(),
        );
        let mut child =
            Disk::open_with_parent(MemStorage::new(child()), OpenOptions::read_write(), golden)
                .unwrap();
        child.write_at(&[1; 5000], 3000).unwrap();
        child.write_at(&[2; 10], 100_000).unwrap();
        child.into_storage().into_inner()
    }

    /// A byte position: mostly metadata (footer copy, header, BAT, locators, the first
    /// bitmaps) or the trailing footer.
    fn position(len: usize) -> impl Strategy<Value = usize> {
        prop_oneof![0..4096usize, (len - 512)..len, 0..len]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// `check` never panics; a clean report means the disk opens read-write; a repairable
        /// one is repaired clean and then opens read-write.
        #[test]
        fn check_repair_and_open_agree(
            flips in proptest::collection::vec((position(base().len()), any::<u8>()), 1..4),
            extra in prop_oneof![Just(0usize), 1..2000usize],
        ) {
            let mut bytes = base();
            for (at, x) in flips {
                bytes[at] ^= x | 1;
            }
            let end = bytes.len() - 512;
            let footer = bytes.split_off(end);
            bytes.extend(std::iter::repeat_n(0, extra));
            bytes.extend_from_slice(&footer);
            let storage = MemStorage::new(bytes);
            let report = check(&storage).unwrap();
            let opens = Disk::open(&storage, OpenOptions::read_write()).is_ok();
            prop_assert!(!report.is_clean() || opens, "clean but does not open: {report}");
            let _ = report.to_string();
            if report.is_repairable() {
                let repaired = repair(&storage).unwrap();
                prop_assert!(repaired.is_clean(), "{repaired}");
                prop_assert!(Disk::open(&storage, OpenOptions::read_write()).is_ok(), "{repaired}");
            }
        }
    }
}

//! Entry points of the cargo-fuzz targets in `fuzz/` (rustls's `internal::fuzzing` idea): each
//! takes arbitrary bytes and asserts the crate's invariants, panicking only when one is broken,
//! which is what the fuzzer looks for. `tests/fuzz_corpus.rs` replays the committed seeds through
//! them in `cargo test`.
//!
//! The library verifies the footer and dynamic header checksums even under `cfg(fuzzing)`, so
//! the entry points also run each input a second time with those checksums recomputed
//! ([`repair_checksums`]): random mutations then reach the code behind them.
//!
//! The "no allocation sized by a field that the file's length does not back" invariant of
//! [`Disk::open`] needs a counting global allocator, which this crate cannot have (it forbids
//! `unsafe`); the `vhd_open` fuzz target installs one and checks the peak of
//! [`vhd_open_read`] against [`vhd_open_alloc_bound`].

use std::sync::Arc;

use uuid::Uuid;

use crate::footer::{DiskType, FOOTER_LEN};
use crate::{
    COPY_UP_GRANULE, Disk, DynamicHeader, ErrorKind, Footer, HEADER_LEN, MemStorage, OpenOptions,
    ParentDisk, ParentLink, Result, Storage, VhdBuilder, VhdTime, checksum, decode_locator_path,
};

/// The footer's Checksum field.
const FOOTER_CHECKSUM: usize = 64;
/// The dynamic header's Checksum field.
const HEADER_CHECKSUM: usize = 36;
/// Most bytes `vhd_open` reads through one opened disk, spread over its size.
const READ_BUDGET: u64 = 1 << 20;
/// Largest single read of `vhd_open`.
const CHUNK: u64 = 64 << 10;
/// Largest block size the write probe of `vhd_open` writes into (an allocation appends a
/// whole block to the storage).
const PROBE_MAX_BLOCK: u64 = 64 << 10;

/// Live heap bytes per input byte that [`vhd_open_read`] may reach. Opening holds the input
/// (in the [`MemStorage`], 1×), the raw BAT and the decoded BAT (1× each at most: the BAT must
/// lie inside the file), the per-block table (24 bytes per 4-byte BAT entry: 6×) and the sector
/// bitmaps of partly written blocks (at most 1×: blocks may not overlap): 10×, rounded up.
pub const OPEN_ALLOC_PER_INPUT_BYTE: usize = 12;

/// The constant part of [`vhd_open_alloc_bound`]: `Disk::open`'s scratch sector bitmap (up to
/// 64 KiB, for 256 MiB blocks, whatever the file's length) and this module's two read buffers
/// of 64 KiB, plus small metadata (parent name, locator list, paths).
pub const OPEN_ALLOC_SLACK: usize = 512 << 10;

/// The most live heap bytes [`vhd_open_read`] may hold for an input of `input_len` bytes.
pub fn vhd_open_alloc_bound(input_len: usize) -> usize {
    input_len
        .saturating_mul(OPEN_ALLOC_PER_INPUT_BYTE)
        .saturating_add(OPEN_ALLOC_SLACK)
}

/// Panics with `what` and the error if `r` failed.
fn ok<T, E: core::fmt::Display>(r: core::result::Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// The byte that [`PatternParent`] holds at `pos`: varies within every sector and between
/// sectors, so misplaced reads show.
fn pattern(pos: u64) -> u8 {
    (pos ^ (pos >> 9) ^ (pos >> 17)).wrapping_mul(0x9d) as u8
}

/// A synthetic parent: [`pattern`] bytes, and a panic if the child reads outside it.
#[derive(Debug)]
struct PatternParent {
    id: Uuid,
    size: u64,
}

impl ParentDisk for PatternParent {
    fn unique_id(&self) -> Uuid {
        self.id
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let end = offset.checked_add(buf.len() as u64);
        assert!(
            end.is_some_and(|end| end <= self.size),
            "the child read {} bytes at {offset} from a parent of {} bytes",
            buf.len(),
            self.size
        );
        for (i, b) in buf.iter_mut().enumerate() {
            *b = pattern(offset + i as u64);
        }
        Ok(())
    }
}

/// Writes the checksum of `structure` (skipping the field at `field`) into that field.
fn fix_checksum(structure: &mut [u8], field: usize) {
    let sum = checksum(structure, field);
    structure[field..field + 4].copy_from_slice(&sum.to_be_bytes());
}

/// `data` with the checksums of the trailing footer, the footer copy at offset 0 (when it does
/// not overlap the trailing one) and the dynamic header the footer points at recomputed, or
/// `None` if they were all right already.
pub fn repair_checksums(data: &[u8]) -> Option<Vec<u8>> {
    let len = data.len();
    if len < FOOTER_LEN {
        return None;
    }
    let mut v = data.to_vec();
    let footer_at = len - FOOTER_LEN;
    fix_checksum(&mut v[footer_at..], FOOTER_CHECKSUM);
    if len >= 2 * FOOTER_LEN {
        fix_checksum(&mut v[..FOOTER_LEN], FOOTER_CHECKSUM);
    }
    let mut raw = [0u8; FOOTER_LEN];
    raw.copy_from_slice(&v[footer_at..]);
    if let Ok(footer) = Footer::parse(&raw, footer_at as u64) {
        let header_at = footer.data_offset;
        if footer.disk_type.is_sparse()
            && header_at >= FOOTER_LEN as u64
            && header_at.saturating_add(HEADER_LEN as u64) <= footer_at as u64
        {
            let at = header_at as usize;
            fix_checksum(&mut v[at..at + HEADER_LEN], HEADER_CHECKSUM);
        }
    }
    (v != data).then_some(v)
}

/// `vhd_open`: the bytes are a whole VHD file. Runs [`vhd_open_read`] and
/// [`vhd_open_write_probe`].
pub fn vhd_open(data: &[u8]) {
    vhd_open_read(data);
    vhd_open_write_probe(data);
}

/// The read-only half of `vhd_open`, for the input as it is and with its checksums repaired.
/// Opening read-only must not panic; once it opens, every byte of the virtual disk must read
/// (sampled: at most 1 MiB in 64 KiB pieces spread over the size), the same whether read
/// whole or in two pieces, and every sector the disk does not hold must read as zeros (dynamic)
/// or as the parent's bytes (differencing, with a synthetic parent attached). Without a parent,
/// a differencing disk must read exactly the ranges it holds.
pub fn vhd_open_read(data: &[u8]) {
    open_and_read(data.to_vec());
    if let Some(repaired) = repair_checksums(data) {
        open_and_read(repaired);
    }
}

fn open_and_read(bytes: Vec<u8>) {
    let file_len = bytes.len() as u64;
    let Ok(mut disk) = Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only()) else {
        return;
    };
    check_metadata(&disk, file_len);
    let mut bufs = (Vec::new(), Vec::new());
    if let Some(id) = disk.parent_unique_id() {
        for (offset, len) in samples(disk.size()) {
            let r = read_region(&disk, offset, len, &mut bufs);
            let held = disk.is_allocated(offset, len);
            match r {
                Ok(()) => assert!(held, "read {len} bytes at {offset} that need the parent"),
                Err(e) => assert!(
                    !held && e.kind() == ErrorKind::Parent,
                    "reading {len} bytes at {offset} without the parent: {e}"
                ),
            }
        }
        let parent = PatternParent {
            id,
            size: disk.size(),
        };
        ok(disk.attach_parent(Arc::new(parent)), "attaching the parent");
    }
    for (offset, len) in samples(disk.size()) {
        ok(
            read_region(&disk, offset, len, &mut bufs),
            "reading an opened disk",
        );
        check_absent_sectors(&disk, offset, &bufs.0);
    }
}

/// The accessors of an opened disk, and the locator payloads that the file holds.
fn check_metadata(disk: &Disk<MemStorage>, file_len: u64) {
    let sparse = disk.disk_type().is_sparse();
    assert_eq!(disk.header().is_some(), sparse, "header iff sparse");
    assert_eq!(disk.block_size().is_some(), sparse, "block size iff sparse");
    if let Some(block_size) = disk.block_size() {
        // Blocks may not overlap, and each has a sector bitmap of at least one sector.
        assert!(
            disk.allocated_blocks() <= file_len / (block_size + 512),
            "more allocated blocks than fit in the file"
        );
    }
    let _ = disk.parent_name();
    for loc in disk.parent_locators() {
        let len = u64::from(loc.data_length);
        if len > 64 << 10 || loc.data_offset.saturating_add(len) > file_len {
            continue;
        }
        let mut payload = vec![0u8; len as usize];
        ok(
            disk.storage().read_exact_at(&mut payload, loc.data_offset),
            "reading a locator payload inside the file",
        );
        let _ = decode_locator_path(loc.platform, &payload);
    }
}

/// The `(offset, len)` pieces `vhd_open` reads: the whole disk in 64 KiB pieces up to 1 MiB,
/// else 16 pieces spread evenly from the start to the end.
fn samples(size: u64) -> Vec<(u64, u64)> {
    if size <= READ_BUDGET {
        return (0..size.div_ceil(CHUNK))
            .map(|i| (i * CHUNK, CHUNK.min(size - i * CHUNK)))
            .collect();
    }
    let n = READ_BUDGET / CHUNK;
    (0..n)
        .map(|i| {
            let offset = u128::from(size - CHUNK) * u128::from(i) / u128::from(n - 1);
            (offset as u64, CHUNK)
        })
        .collect()
}

/// Reads `len` bytes at `offset` into `bufs.0`, then again in two pieces split at an odd
/// point into `bufs.1`, and asserts that both agree.
fn read_region(
    disk: &Disk<MemStorage>,
    offset: u64,
    len: u64,
    bufs: &mut (Vec<u8>, Vec<u8>),
) -> Result<()> {
    let len = len as usize;
    let (whole, pieces) = bufs;
    whole.resize(len, 0);
    pieces.resize(len, 0);
    let r = disk.read_at(whole, offset);
    let split = (len / 3) | 1;
    if r.is_ok() && split < len {
        let (a, b) = pieces.split_at_mut(split);
        ok(disk.read_at(a, offset), "re-reading the first piece");
        ok(
            disk.read_at(b, offset + split as u64),
            "re-reading the rest",
        );
        assert!(whole == pieces, "a read in two pieces differs at {offset}");
    }
    r
}

/// Every sector of `buf` (read at `offset`) that the disk does not hold reads as zeros, or
/// as the [`PatternParent`]'s bytes.
fn check_absent_sectors(disk: &Disk<MemStorage>, offset: u64, buf: &[u8]) {
    if disk.disk_type() == DiskType::Fixed {
        return;
    }
    let differencing = disk.disk_type() == DiskType::Differencing;
    let end = offset + buf.len() as u64;
    let mut pos = offset;
    while pos < end {
        let next = (pos / 512 + 1) * 512;
        let n = next.min(end) - pos;
        if !disk.is_allocated(pos, n) {
            let got = &buf[(pos - offset) as usize..(pos - offset + n) as usize];
            for (i, &b) in got.iter().enumerate() {
                let at = pos + i as u64;
                let want = if differencing { pattern(at) } else { 0 };
                assert_eq!(b, want, "byte {at} is not held, yet reads {b:#04x}");
            }
        }
        pos += n;
    }
}

/// The writing half of `vhd_open`, for the input as it is and with its checksums repaired:
/// if the file opens read-write (blocks of at most 64 KiB), an unaligned write of 4 KiB + 7
/// bytes in the middle of the disk must succeed, read back, leave the other sampled bytes
/// alone, and leave a file that opens again (read-write) and reads the same.
pub fn vhd_open_write_probe(data: &[u8]) {
    write_probe(data.to_vec());
    if let Some(repaired) = repair_checksums(data) {
        write_probe(repaired);
    }
}

fn write_probe(bytes: Vec<u8>) {
    let Ok(mut disk) = Disk::open(MemStorage::new(bytes), OpenOptions::read_write()) else {
        return;
    };
    if disk.block_size().is_some_and(|b| b > PROBE_MAX_BLOCK) {
        return;
    }
    let parent = disk.parent_unique_id().map(|id| {
        let parent: Arc<dyn ParentDisk> = Arc::new(PatternParent {
            id,
            size: disk.size(),
        });
        ok(disk.attach_parent(parent.clone()), "attaching the parent");
        parent
    });
    let size = disk.size();
    let offset = size / 2 / 512 * 512 + 3;
    let len = (4096 + 7).min(size.saturating_sub(offset)) as usize;
    if len == 0 {
        return;
    }
    let regions = samples(size);
    let mut bufs = (Vec::new(), Vec::new());
    let before: Vec<Vec<u8>> = regions
        .iter()
        .map(|&(o, l)| {
            ok(
                read_region(&disk, o, l, &mut bufs),
                "reading before writing",
            );
            bufs.0.clone()
        })
        .collect();
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ 0xa5)
        .collect();
    ok(disk.write_at(&data, offset), "writing into an opened disk");
    let check = |disk: &Disk<MemStorage>, bufs: &mut (Vec<u8>, Vec<u8>), when: &str| {
        for (&(o, l), old) in regions.iter().zip(&before) {
            ok(read_region(disk, o, l, bufs), when);
            let mut want = old.clone();
            let from = offset.max(o);
            let to = (offset + len as u64).min(o + l);
            if from < to {
                let dst = (from - o) as usize..(to - o) as usize;
                let src = (from - offset) as usize..(to - offset) as usize;
                want[dst].copy_from_slice(&data[src]);
            }
            assert!(bufs.0 == want, "{when}: the disk differs at {o}..{}", o + l);
        }
    };
    check(&disk, &mut bufs, "after the probe write");
    ok(disk.flush(), "flushing");
    let bytes = disk.into_storage().into_inner();
    let reopened = Disk::open(MemStorage::new(bytes), OpenOptions::read_write());
    let mut reopened = ok(reopened, "reopening after the probe write");
    if let Some(parent) = parent {
        ok(reopened.attach_parent(parent), "re-attaching the parent");
    }
    check(&reopened, &mut bufs, "after reopening");
}

/// Asserts the footer round trip for one 512-byte input.
fn footer_round_trip(b: &[u8; FOOTER_LEN]) {
    let Ok(footer) = Footer::parse(b, 0) else {
        return;
    };
    let emitted = footer.to_bytes();
    let again = ok(
        Footer::parse(&emitted, 0),
        "an emitted footer failed to parse",
    );
    assert_eq!(again, footer, "parse(emit(footer)) != footer");
    assert!(again.to_bytes() == emitted, "footer emit is not stable");
    // What parse ignores: the checksum (recomputed), Saved State beyond zero/non-zero, and
    // the 427 reserved bytes. Every other byte must come back as it was.
    for (i, (&was, &now)) in b.iter().zip(&emitted).enumerate() {
        let ignored = (FOOTER_CHECKSUM..FOOTER_CHECKSUM + 4).contains(&i) || i >= 84;
        assert!(
            ignored || was == now,
            "footer byte {i} was {was:#04x}, emitted {now:#04x}"
        );
    }
    if b[84] <= 1 && b[85..].iter().all(|&x| x == 0) {
        assert!(emitted == *b, "a canonical footer did not emit as parsed");
    }
}

/// `vhd_footer`: the first 512 bytes (zero-padded) parsed as a footer, as they are and with
/// the checksum recomputed. A footer that parses must emit bytes that parse back equal and
/// re-emit identically, and that differ from the input only where parse ignores it.
pub fn vhd_footer(data: &[u8]) {
    let mut b = [0u8; FOOTER_LEN];
    let n = data.len().min(FOOTER_LEN);
    b[..n].copy_from_slice(&data[..n]);
    footer_round_trip(&b);
    fix_checksum(&mut b, FOOTER_CHECKSUM);
    footer_round_trip(&b);
}

/// Asserts the dynamic header round trip for one 1024-byte input.
fn header_round_trip(b: &[u8; HEADER_LEN]) {
    let Ok(header) = DynamicHeader::parse(b, 512) else {
        return;
    };
    let _ = header.bitmap_len();
    let emitted = ok(header.to_bytes(), "a parsed header failed to emit");
    let again = ok(
        DynamicHeader::parse(&emitted, 512),
        "an emitted header failed to parse",
    );
    assert_eq!(again, header, "parse(emit(header)) != header");
    assert!(
        again.to_bytes().ok() == Some(emitted),
        "header emit is not stable"
    );
    // What parse ignores: Data Offset (always 0xffffffff_ffffffff), the checksum, the reserved
    // fields, the parent name after its terminating NUL, and each locator's reserved field.
    let name_end = 64 + 2 * header.parent_name.encode_utf16().count();
    for (i, (&was, &now)) in b.iter().zip(&emitted).enumerate() {
        let ignored = (8..16).contains(&i)
            || (HEADER_CHECKSUM..HEADER_CHECKSUM + 4).contains(&i)
            || (60..64).contains(&i)
            || (name_end..576).contains(&i)
            || ((576..768).contains(&i) && (12..16).contains(&((i - 576) % 24)))
            || i >= 768;
        assert!(
            ignored || was == now,
            "header byte {i} was {was:#04x}, emitted {now:#04x}"
        );
    }
}

/// `vhd_header`: the first 1024 bytes (zero-padded) parsed as a dynamic header, as they are
/// and with the checksum recomputed; the same properties as [`vhd_footer`].
pub fn vhd_header(data: &[u8]) {
    let mut b = [0u8; HEADER_LEN];
    let n = data.len().min(HEADER_LEN);
    b[..n].copy_from_slice(&data[..n]);
    header_round_trip(&b);
    fix_checksum(&mut b, HEADER_CHECKSUM);
    header_round_trip(&b);
}

/// Takes `N` bytes from the front of `ops`.
fn take<const N: usize>(ops: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = ops.split_first_chunk::<N>()?;
    *ops = rest;
    Some(*head)
}

/// A disk under test and the byte array it must equal.
struct Model {
    disk: Disk<MemStorage>,
    bytes: Vec<u8>,
    parent: Option<Arc<dyn ParentDisk>>,
}

impl Model {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Reads `len` bytes at `offset` and compares them with the model.
    fn check(&self, offset: u64, len: usize) {
        let mut buf = vec![0u8; len];
        ok(self.disk.read_at(&mut buf, offset), "reading");
        let want = &self.bytes[offset as usize..offset as usize + len];
        if buf != want {
            let at = buf.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
            panic!(
                "read of {len} bytes at {offset} differs from the model at byte {}",
                offset + at as u64
            );
        }
    }

    fn check_all(&self) {
        self.check(0, self.bytes.len());
    }

    /// Closes the disk and opens its bytes again with `options`.
    fn reopen(self, options: OpenOptions) -> Self {
        let sparse = self.disk.disk_type().is_sparse();
        let bytes = self.disk.into_storage().into_inner();
        assert_eq!(bytes.len() % 512, 0, "file length is not whole sectors");
        let footer = &bytes[bytes.len() - FOOTER_LEN..];
        if sparse {
            assert!(
                &bytes[..FOOTER_LEN] == footer,
                "the footer copy differs from the footer"
            );
        }
        let mut disk = ok(Disk::open(MemStorage::new(bytes), options), "reopening");
        if let Some(parent) = &self.parent {
            ok(
                disk.attach_parent(parent.clone()),
                "re-attaching the parent",
            );
        }
        Model { disk, ..self }
    }
}

/// `vhd_write`: byte 0 picks the disk type (bits 0-1: fixed, dynamic, differencing over a
/// synthetic parent) and block size (bits 2-4: 4, 8, 32, 64 KiB or 1 MiB), bytes 1-2 the size
/// (1 to 1024 sectors); the rest is a list of operations, each an op byte then its arguments:
///
/// - `0..=3`: write `len` (2 bytes, +1) bytes at `offset` (3 bytes; bit 3 of the op aligns it to
///   a sector, bit 4 to 4 KiB) with contents derived from a fill byte (1 byte);
/// - `4`: read `len` bytes at `offset`; `5`: close and reopen read-write; `6`: flush;
/// - `7`: a write that ends past the disk (2 bytes), which must fail and change nothing.
///
/// Every read must equal a plain byte array that took the same writes, after every write, after
/// reopening, and at the end read-only.
pub fn vhd_write(data: &[u8]) {
    let Some(([kind, lo, hi], mut ops)) = data.split_first_chunk::<3>().map(|(h, r)| (*h, r))
    else {
        return;
    };
    let size = (u64::from(u16::from_le_bytes([lo, hi])) % 1024 + 1) * 512;
    let block_size = [4096u32, 8192, 32768, 65536, 1 << 20][usize::from(kind >> 2 & 7) % 5];
    let (disk, parent, bytes) = match kind & 3 {
        0 => {
            let disk = VhdBuilder::fixed(size).create(MemStorage::default());
            (disk, None, vec![0u8; size as usize])
        }
        1 => {
            let builder = VhdBuilder::dynamic(size).block_size(block_size);
            (
                builder.create(MemStorage::default()),
                None,
                vec![0u8; size as usize],
            )
        }
        _ => {
            let id = Uuid::from_u128(u128::from(kind) << 64 | u128::from(size));
            let parent: Arc<dyn ParentDisk> = Arc::new(PatternParent { id, size });
            let link = ParentLink {
                unique_id: id,
                size,
                timestamp: VhdTime(0),
                name: "parent.vhd".into(),
                absolute_path: Some(r"C:\images\parent.vhd".into()),
                relative_path: Some(r".\parent.vhd".into()),
            };
            let builder = VhdBuilder::differencing(link).block_size(block_size);
            let bytes = (0..size).map(pattern).collect();
            (builder.create(MemStorage::default()), Some(parent), bytes)
        }
    };
    let mut disk = ok(disk, "creating the disk");
    if let Some(parent) = &parent {
        ok(disk.attach_parent(parent.clone()), "attaching the parent");
    }
    let mut m = Model {
        disk,
        bytes,
        parent,
    };
    while let Some([op]) = take::<1>(&mut ops) {
        match op & 7 {
            0..=3 => {
                let Some([a, b, c, l0, l1, fill]) = take::<6>(&mut ops) else {
                    break;
                };
                let mut offset = u64::from(u32::from_le_bytes([a, b, c, 0])) % m.size();
                if op & 0x10 != 0 {
                    offset = offset / 4096 * 4096;
                } else if op & 0x08 != 0 {
                    offset = offset / 512 * 512;
                }
                let len = (usize::from(u16::from_le_bytes([l0, l1])) + 1)
                    .min((m.size() - offset) as usize);
                let data: Vec<u8> = (0..len)
                    .map(|i| (i as u8).wrapping_mul(31).wrapping_add(fill))
                    .collect();
                ok(m.disk.write_at(&data, offset), "writing");
                m.bytes[offset as usize..offset as usize + len].copy_from_slice(&data);
                // The write and a copy-up granule either side.
                let from = offset.saturating_sub(COPY_UP_GRANULE);
                let to = (offset + len as u64 + COPY_UP_GRANULE).min(m.size());
                m.check(from, (to - from) as usize);
            }
            4 => {
                let Some([a, b, c, l0, l1]) = take::<5>(&mut ops) else {
                    break;
                };
                let offset = u64::from(u32::from_le_bytes([a, b, c, 0])) % m.size();
                let len = (usize::from(u16::from_le_bytes([l0, l1])) + 1)
                    .min((m.size() - offset) as usize);
                m.check(offset, len);
            }
            5 => {
                m = m.reopen(OpenOptions::read_write());
                m.check_all();
            }
            6 => ok(m.disk.flush(), "flushing"),
            _ => {
                let Some([back, extra]) = take::<2>(&mut ops) else {
                    break;
                };
                let back = u64::from(back).min(m.size());
                let offset = m.size() - back;
                let data = vec![0xee; back as usize + usize::from(extra) + 1];
                match m.disk.write_at(&data, offset) {
                    Err(e) if e.kind() == ErrorKind::OutOfBounds => {}
                    other => panic!("a write past the end gave {other:?}"),
                }
            }
        }
    }
    m.check_all();
    let m = m.reopen(OpenOptions::read_only());
    m.check_all();
}

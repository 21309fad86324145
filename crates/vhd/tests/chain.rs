//! Opening differencing disks with their parent chains from real files: locator order, moved
//! images, mismatches, loops, depth, shared parents, and parents that are never written.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use uuid::Uuid;
use vhd::*;

const SIZE: u64 = 1 << 20;
const BLOCK: u32 = 64 << 10;

/// A directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("vhd-chain-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, rel: &str) -> PathBuf {
        let p = self.0.join(rel);
        if let Some(dir) = p.parent() {
            fs::create_dir_all(dir).unwrap();
        }
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A dynamic disk at `path` whose every 64 KiB block starts with 4 KiB of `fill`.
fn make_golden(path: &Path, fill: u8) -> Uuid {
    let mut disk = VhdBuilder::dynamic(SIZE)
        .block_size(BLOCK)
        .create(FileStorage::create_new(path).unwrap())
        .unwrap();
    for block in 0..SIZE / u64::from(BLOCK) {
        disk.write_at(&[fill; 4096], block * u64::from(BLOCK))
            .unwrap();
    }
    disk.flush().unwrap();
    disk.footer().unique_id
}

/// A differencing disk at `child` over the disk at `parent`, linked by `ParentLink::for_files`.
fn make_child(parent: &Path, child: &Path) -> Uuid {
    let p = Disk::open(
        FileStorage::open_read_only(parent).unwrap(),
        OpenOptions::read_only(),
    )
    .unwrap();
    let link = ParentLink::for_files(&p, parent, child).unwrap();
    craft_child(child, link, None)
}

/// A differencing disk at `child` with exactly `link` (and `id` if given).
fn craft_child(child: &Path, link: ParentLink, id: Option<Uuid>) -> Uuid {
    let mut b = VhdBuilder::differencing(link).block_size(BLOCK);
    if let Some(id) = id {
        b = b.unique_id(id);
    }
    let disk = b.create(FileStorage::create_new(child).unwrap()).unwrap();
    disk.footer().unique_id
}

fn link_to(
    unique_id: Uuid,
    name: &str,
    absolute: Option<&str>,
    relative: Option<&str>,
) -> ParentLink {
    ParentLink {
        unique_id,
        size: SIZE,
        timestamp: VhdTime(0),
        name: name.into(),
        absolute_path: absolute.map(Into::into),
        relative_path: relative.map(Into::into),
    }
}

fn read(disk: &Disk<FileStorage>, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    disk.read_at(&mut buf, offset).unwrap();
    buf
}

fn canonical(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap()
}

#[test]
fn child_reads_through_its_parent() {
    let dir = TempDir::new("basic");
    let golden = dir.join("golden.vhd");
    make_golden(&golden, 0x11);
    let child = dir.join("client.vhd");
    make_child(&golden, &child);
    let mut disk = open_file(&child, OpenOptions::read_write()).unwrap();
    assert_eq!(read(&disk, 0, 4096), vec![0x11; 4096]);
    disk.write_at(&[0x22; 100], 10).unwrap();
    assert_eq!(read(&disk, 0, 10), vec![0x11; 10]);
    assert_eq!(read(&disk, 10, 100), vec![0x22; 100]);
    assert_eq!(read(&disk, 4096, 4096), vec![0; 4096]);
}

#[test]
fn non_differencing_disks_open_alone() {
    let dir = TempDir::new("plain");
    let golden = dir.join("golden.vhd");
    make_golden(&golden, 1);
    let disk = open_file(&golden, OpenOptions::read_only()).unwrap();
    assert!(disk.parent().is_none());
    assert!(!disk.is_writable());
}

#[cfg(unix)]
#[test]
fn for_files_writes_windows_style_locators() {
    let dir = TempDir::new("link");
    let golden = dir.join("images/golden.vhd");
    let id = make_golden(&golden, 1);
    let p = Disk::open(
        FileStorage::open_read_only(&golden).unwrap(),
        OpenOptions::read_only(),
    )
    .unwrap();
    let link = ParentLink::for_files(&p, &golden, &dir.join("clients/a.vhd")).unwrap();
    assert_eq!(link.name, "golden.vhd");
    assert_eq!(link.unique_id, id);
    assert_eq!(link.size, SIZE);
    assert_eq!(
        link.relative_path.as_deref(),
        Some(r".\..\images\golden.vhd")
    );
    let abs = canonical(&golden).display().to_string().replace('/', "\\");
    assert_eq!(link.absolute_path.as_deref(), Some(abs.as_str()));
    let mtime = fs::metadata(&golden).unwrap().modified().unwrap();
    assert_eq!(link.timestamp, VhdTime::from_system_time(mtime));
    let same_dir = ParentLink::for_files(&p, &golden, &dir.join("images/b.vhd")).unwrap();
    assert_eq!(same_dir.relative_path.as_deref(), Some(r".\golden.vhd"));
}

#[test]
fn relative_locator_is_tried_before_the_absolute_one() {
    let dir = TempDir::new("moved");
    let root = dir.join("old");
    let golden = dir.join("old/images/golden.vhd");
    make_golden(&golden, 0x33);
    make_child(&golden, &dir.join("old/clients/a.vhd"));
    // Move both images together; the absolute locator now names the old place...
    let new_root = dir.join("new");
    fs::rename(&root, &new_root).unwrap();
    // ...where an image with the same Unique Id but other contents appears: only the relative
    // locator leads to the right one.
    fs::create_dir_all(golden.parent().unwrap()).unwrap();
    fs::copy(new_root.join("images/golden.vhd"), &golden).unwrap();
    let mut impostor = Disk::open(
        FileStorage::open_writable(&golden).unwrap(),
        OpenOptions::read_write(),
    )
    .unwrap();
    impostor.write_at(&[0x99; 4096], 0).unwrap();
    drop(impostor);

    let disk = open_file(new_root.join("clients/a.vhd"), OpenOptions::read_only()).unwrap();
    assert_eq!(read(&disk, 0, 4096), vec![0x33; 4096]);
}

#[test]
fn absolute_locator_is_used_when_the_relative_one_is_stale() {
    let dir = TempDir::new("abs");
    let golden = dir.join("images/golden.vhd");
    make_golden(&golden, 0x44);
    let child = dir.join("clients/a.vhd");
    make_child(&golden, &child);
    // Move the child alone, deeper: `.\..\images\golden.vhd` no longer leads anywhere.
    let moved = dir.join("elsewhere/deeper/a.vhd");
    fs::rename(&child, &moved).unwrap();
    let disk = open_file(&moved, OpenOptions::read_only()).unwrap();
    assert_eq!(read(&disk, 0, 4096), vec![0x44; 4096]);
}

#[test]
fn parent_name_is_looked_up_in_the_childs_directory() {
    let dir = TempDir::new("name");
    let golden = dir.join("golden.vhd");
    let id = make_golden(&golden, 0x55);
    let link = link_to(
        id,
        r"D:\somewhere\golden.vhd",
        Some(r"\no-such-dir-vhd-test\golden.vhd"),
        Some(r".\missing\golden.vhd"),
    );
    let child = dir.join("a.vhd");
    craft_child(&child, link, None);
    let disk = open_file(&child, OpenOptions::read_only()).unwrap();
    assert_eq!(read(&disk, 0, 4096), vec![0x55; 4096]);
}

#[cfg(unix)]
#[test]
fn parent_not_found_lists_every_path_tried() {
    let dir = TempDir::new("notfound");
    let link = link_to(
        Uuid::from_u128(5),
        "golden.vhd",
        Some(r"C:\no-such-dir-vhd-test\golden.vhd"),
        Some(r".\missing\golden.vhd"),
    );
    let child = dir.join("a.vhd");
    craft_child(&child, link, None);
    let d = canonical(&dir.0);
    match open_file(&child, OpenOptions::read_only()) {
        Err(Error::ParentNotFound { name, tried }) => {
            assert_eq!(name, "golden.vhd");
            assert_eq!(
                tried,
                [
                    d.join("missing/golden.vhd").display().to_string(),
                    "/no-such-dir-vhd-test/golden.vhd".to_string(),
                    d.join("golden.vhd").display().to_string(),
                ]
            );
        }
        other => panic!("expected ParentNotFound, got {other:?}"),
    }
}

#[test]
fn parent_with_another_unique_id_is_a_mismatch() {
    let dir = TempDir::new("mismatch");
    let golden = dir.join("golden.vhd");
    let old = make_golden(&golden, 1);
    let child = dir.join("a.vhd");
    make_child(&golden, &child);
    fs::remove_file(&golden).unwrap();
    let new = make_golden(&golden, 2);
    match open_file(&child, OpenOptions::read_only()) {
        Err(Error::ParentMismatch {
            path,
            expected,
            found,
        }) => {
            assert_eq!(path, canonical(&golden).display().to_string());
            assert_eq!((expected, found), (old, new));
        }
        other => panic!("expected ParentMismatch, got {other:?}"),
    }
}

#[test]
fn mismatched_candidate_is_skipped_for_a_matching_one() {
    let dir = TempDir::new("skip");
    let real = dir.join("images/golden.vhd");
    let id = make_golden(&real, 0x66);
    make_golden(&dir.join("clients/golden.vhd"), 0x77); // another disk, same name
    let abs = canonical(&real).display().to_string();
    let link = link_to(id, "golden.vhd", Some(&abs), Some(r".\golden.vhd"));
    let child = dir.join("clients/a.vhd");
    craft_child(&child, link, None);
    let disk = open_file(&child, OpenOptions::read_only()).unwrap();
    assert_eq!(read(&disk, 0, 4096), vec![0x66; 4096]);
}

#[test]
fn chain_that_loops_is_refused() {
    let dir = TempDir::new("loop");
    let (a, b) = (Uuid::from_u128(0xa), Uuid::from_u128(0xb));
    craft_child(
        &dir.join("A.vhd"),
        link_to(b, "B.vhd", None, Some(r".\B.vhd")),
        Some(a),
    );
    craft_child(
        &dir.join("B.vhd"),
        link_to(a, "A.vhd", None, Some(r".\A.vhd")),
        Some(b),
    );
    match open_file(dir.join("A.vhd"), OpenOptions::read_only()) {
        Err(Error::ParentChain { problem, .. }) => assert_eq!(problem, "loops back to itself"),
        other => panic!("expected ParentChain, got {other:?}"),
    }
}

#[test]
fn disk_that_is_its_own_parent_is_refused() {
    let dir = TempDir::new("self");
    // By Unique Id...
    let c = Uuid::from_u128(0xc);
    craft_child(
        &dir.join("C.vhd"),
        link_to(c, "C.vhd", None, Some(r".\C.vhd")),
        Some(c),
    );
    let err = open_file(dir.join("C.vhd"), OpenOptions::read_only()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParentChain {
                problem: "loops back to itself",
                ..
            }
        ),
        "{err:?}"
    );
    // ...and by path, whatever Unique Id it expects.
    craft_child(
        &dir.join("D.vhd"),
        link_to(Uuid::from_u128(0xe), "D.vhd", None, Some(r".\D.vhd")),
        None,
    );
    let err = open_file(dir.join("D.vhd"), OpenOptions::read_only()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParentChain {
                problem: "loops back to itself",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn chain_deeper_than_the_limit_is_refused() {
    let dir = TempDir::new("deep");
    let mut parent = dir.join("d0.vhd");
    make_golden(&parent, 1);
    for level in 1..=MAX_CHAIN_DEPTH + 1 {
        let child = dir.join(&format!("d{level}.vhd"));
        make_child(&parent, &child);
        parent = child;
    }
    // MAX_CHAIN_DEPTH parents: fine.
    let ok = open_file(
        dir.join(&format!("d{MAX_CHAIN_DEPTH}.vhd")),
        OpenOptions::read_only(),
    )
    .unwrap();
    assert_eq!(read(&ok, 0, 16), vec![1; 16]);
    // One more: refused.
    match open_file(&parent, OpenOptions::read_only()) {
        Err(Error::ParentChain { problem, .. }) => assert_eq!(problem, "is deeper than the limit"),
        other => panic!("expected ParentChain, got {other:?}"),
    }
}

#[test]
fn two_level_chain_reads_each_layer_and_never_writes_its_parents() {
    let dir = TempDir::new("twolevel");
    let golden = dir.join("golden.vhd");
    make_golden(&golden, 0x10);
    let mid = dir.join("mid.vhd");
    make_child(&golden, &mid);
    {
        let mut m = open_file(&mid, OpenOptions::read_write()).unwrap();
        m.write_at(&[0x20; 8192], 65536).unwrap(); // block 1
        m.flush().unwrap();
    }
    let leaf = dir.join("leaf.vhd");
    make_child(&mid, &leaf);
    let golden_bytes = fs::read(&golden).unwrap();
    let mid_bytes = fs::read(&mid).unwrap();

    let mut l = open_file(&leaf, OpenOptions::read_write()).unwrap();
    l.write_at(&[0x30; 4096], 2 * 65536).unwrap(); // block 2
    assert_eq!(read(&l, 0, 4096), vec![0x10; 4096]); // golden
    assert_eq!(read(&l, 65536, 8192), vec![0x20; 8192]); // mid
    assert_eq!(read(&l, 2 * 65536, 4096), vec![0x30; 4096]); // leaf
    assert_eq!(read(&l, 3 * 65536, 4096), vec![0x10; 4096]); // golden again
    // Heavy writes everywhere, then the parents' files must be byte-identical.
    for i in 0..SIZE / 4096 {
        l.write_at(&[i as u8; 4096], i * 4096).unwrap();
    }
    l.flush().unwrap();
    assert_eq!(read(&l, 5 * 4096, 4096), vec![5; 4096]);
    drop(l);
    assert!(fs::read(&golden).unwrap() == golden_bytes, "golden changed");
    assert!(fs::read(&mid).unwrap() == mid_bytes, "mid changed");
}

#[test]
fn parents_are_opened_read_only() {
    let dir = TempDir::new("ro");
    let golden = dir.join("golden.vhd");
    make_golden(&golden, 1);
    let child = dir.join("a.vhd");
    make_child(&golden, &child);
    let c = Disk::open(
        FileStorage::open_read_only(&child).unwrap(),
        OpenOptions::read_only(),
    )
    .unwrap();
    let link = ParentRef::of(&c, &child).unwrap().unwrap();
    assert_eq!(link.depth(), 1);
    assert_eq!(link.candidates()[0], canonical(&golden));
    let parent = open_parent(&golden, &link, &mut FsResolver).unwrap();
    assert!(!parent.is_writable());
    // Not even the storage underneath accepts a write: the OS refuses it.
    assert!(parent.storage().write_all_at(b"x", 0).is_err());
}

#[test]
fn shared_parents_open_each_parent_once() {
    let dir = TempDir::new("shared");
    let golden = dir.join("golden.vhd");
    make_golden(&golden, 0x42);
    let mid = dir.join("mid.vhd");
    make_child(&golden, &mid);
    for name in ["a.vhd", "b.vhd", "c.vhd"] {
        make_child(&golden, &dir.join(name));
    }
    make_child(&mid, &dir.join("leaf.vhd"));

    let mut parents = SharedParents::new();
    let a = parents
        .open(dir.join("a.vhd"), OpenOptions::read_write())
        .unwrap();
    let b = parents
        .open(dir.join("b.vhd"), OpenOptions::read_write())
        .unwrap();
    assert!(Arc::ptr_eq(a.parent().unwrap(), b.parent().unwrap()));
    assert_eq!(parents.len(), 1);
    let leaf = parents
        .open(dir.join("leaf.vhd"), OpenOptions::read_only())
        .unwrap();
    assert_eq!(parents.len(), 2); // mid, and golden reused underneath it
    assert_eq!(read(&leaf, 0, 4), vec![0x42; 4]);
    assert!(parents.get(&mid).is_some());

    // A parent the program opened itself is handed out as it is.
    let mut parents = SharedParents::new();
    let golden_disk: Arc<dyn ParentDisk> = Arc::new(
        Disk::open(
            FileStorage::open_read_only(&golden).unwrap(),
            OpenOptions::read_only(),
        )
        .unwrap(),
    );
    parents.add(&golden, golden_disk.clone()).unwrap();
    let c = parents
        .open(dir.join("c.vhd"), OpenOptions::read_write())
        .unwrap();
    assert!(Arc::ptr_eq(c.parent().unwrap(), &golden_disk));
}

#[test]
fn shared_parents_check_the_unique_id_of_cached_disks() {
    let dir = TempDir::new("sharedmismatch");
    let golden = dir.join("golden.vhd");
    make_golden(&golden, 1);
    let child = dir.join("a.vhd");
    make_child(&golden, &child);
    let other = VhdBuilder::dynamic(SIZE)
        .create(MemStorage::default())
        .unwrap();
    let mut parents = SharedParents::new();
    parents.add(&golden, Arc::new(other)).unwrap();
    let err = parents.open(&child, OpenOptions::read_only()).unwrap_err();
    assert!(matches!(err, Error::ParentMismatch { .. }), "{err:?}");
}

#[test]
fn a_closure_can_supply_the_parent() {
    let dir = TempDir::new("closure");
    let golden = dir.join("golden.vhd");
    make_golden(&golden, 0x5a);
    let child = dir.join("a.vhd");
    make_child(&golden, &child);
    // The golden image from memory, the file itself out of the way.
    let bytes = fs::read(&golden).unwrap();
    fs::remove_file(&golden).unwrap();
    let in_memory: Arc<dyn ParentDisk> =
        Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only()).unwrap());
    let mut asked = Vec::new();
    let mut resolver = |link: &ParentRef| {
        asked.push(link.name.clone());
        Ok(in_memory.clone())
    };
    let disk = open_file_with(&child, OpenOptions::read_only(), &mut resolver).unwrap();
    assert_eq!(read(&disk, 0, 8), vec![0x5a; 8]);
    assert_eq!(asked, ["golden.vhd"]);
    // And its Unique Id is checked.
    let stranger: Arc<dyn ParentDisk> = Arc::new(
        VhdBuilder::dynamic(SIZE)
            .create(MemStorage::default())
            .unwrap(),
    );
    let mut resolver = |_: &ParentRef| Ok(stranger.clone());
    let err = open_file_with(&child, OpenOptions::read_only(), &mut resolver).unwrap_err();
    assert!(matches!(err, Error::ParentMismatch { .. }), "{err:?}");
}

/// Rewrites the dynamic header of the file at `path` with `edit` applied.
fn edit_header(path: &Path, edit: impl FnOnce(&mut DynamicHeader)) {
    let mut bytes = fs::read(path).unwrap();
    let raw: &[u8; HEADER_LEN] = bytes[512..512 + HEADER_LEN].try_into().unwrap();
    let mut header = DynamicHeader::parse(raw, 512).unwrap();
    edit(&mut header);
    bytes[512..512 + HEADER_LEN].copy_from_slice(&header.to_bytes().unwrap());
    fs::write(path, bytes).unwrap();
}

#[test]
fn oversized_or_misplaced_locator_payloads_are_corrupt() {
    let dir = TempDir::new("payload");
    let golden = dir.join("golden.vhd");
    make_golden(&golden, 1);
    let child = dir.join("a.vhd");
    make_child(&golden, &child);
    edit_header(&child, |h| {
        h.locators[0].data_length = MAX_LOCATOR_PAYLOAD + 2
    });
    let err = open_file(&child, OpenOptions::read_only()).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert_eq!(err.offset(), Some(512 + 576));

    edit_header(&child, |h| {
        h.locators[0].data_length = 64;
        h.locators[1].data_offset = 1 << 40;
    });
    let err = open_file(&child, OpenOptions::read_only()).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert_eq!(err.offset(), Some(512 + 576 + 24));
}

/// A child made larger than its parent (Hyper-V expands differencing disks this way) reads
/// the parent's bytes up to its end and zeros past it, directly and through a cache, and
/// writes past it copy up zeros: the parent is never asked for bytes it does not have.
#[test]
fn child_larger_than_its_parent_reads_zeros_past_the_parents_end() {
    let mut golden = VhdBuilder::dynamic(SIZE)
        .block_size(BLOCK)
        .create(MemStorage::default())
        .unwrap();
    golden.write_at(&[0x5a; 4096], SIZE - 4096).unwrap();
    let golden = Arc::new(
        Disk::open(
            MemStorage::read_only(golden.into_storage().into_inner()),
            OpenOptions::read_only(),
        )
        .unwrap(),
    );
    let cached: Arc<dyn ParentDisk> =
        Arc::new(CachedParent::new(golden.clone(), CacheOptions::with_budget(4 * SIZE)).unwrap());
    for parent in [golden.clone() as Arc<dyn ParentDisk>, cached] {
        let mut link = ParentLink::without_locators(parent.as_ref(), "golden.vhd");
        link.size = 2 * SIZE;
        let mut child = VhdBuilder::differencing(link)
            .block_size(BLOCK)
            .create(MemStorage::default())
            .unwrap();
        child.attach_parent(parent).unwrap();
        assert_eq!(child.size(), 2 * SIZE);

        // Across the parent's end, then wholly past it.
        let mut buf = vec![0xffu8; 8192];
        child.read_at(&mut buf, SIZE - 4096).unwrap();
        assert!(buf[..4096].iter().all(|&b| b == 0x5a));
        assert!(buf[4096..].iter().all(|&b| b == 0));
        child.read_at(&mut buf, SIZE + 20_000).unwrap();
        assert!(buf.iter().all(|&b| b == 0));

        // A partial write past the parent's end copies up zeros around it.
        child.write_at(b"past", SIZE + 100).unwrap();
        let mut got = [0xffu8; 8];
        child.read_at(&mut got, SIZE + 98).unwrap();
        assert_eq!(&got, b"\0\0past\0\0");
        // And one across the end keeps the parent's bytes before it.
        child.write_at(b"XY", SIZE - 1).unwrap();
        let mut got = [0u8; 4];
        child.read_at(&mut got, SIZE - 3).unwrap();
        assert_eq!(got, [0x5a, 0x5a, b'X', b'Y']);
    }
    // The parent is unchanged.
    let mut tail = vec![0u8; 4096];
    golden.read_at(&mut tail, SIZE - 4096).unwrap();
    assert!(tail.iter().all(|&b| b == 0x5a));
}

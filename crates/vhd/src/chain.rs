//! Opening a VHD file together with its whole parent chain from the filesystem, and describing
//! a parent file to a new child ([`ParentLink::for_files`]).
//!
//! The rules for finding a parent are on [`open_file`] and [`ParentRef::candidates`].

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use uuid::Uuid;

use crate::{
    Disk, Error, FileStorage, OpenOptions, ParentDisk, ParentLink, PlatformCode, Result, Storage,
    VhdTime, decode_locator_path,
};

/// The most parents a chain may have below the disk opened (a golden image under 16 layers of
/// differencing disks), as blktap bounds `vhd_chain_depth`.
///
/// ```
/// use vhd::{FileStorage, MAX_CHAIN_DEPTH, OpenOptions, ParentLink, VhdBuilder};
/// # let dir = std::env::temp_dir().join(format!("vhd-doc-{}-max-chain-depth", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # std::fs::create_dir_all(&dir)?;
/// let path = |i: usize| dir.join(format!("{i}.vhd"));
/// let mut disk = VhdBuilder::dynamic(1 << 20).create(FileStorage::create_new(path(0))?)?;
/// for i in 1..=MAX_CHAIN_DEPTH + 1 {
///     // Disk `i` is a differencing disk over disk `i - 1`: it has `i` parents.
///     let link = ParentLink::for_files(&disk, &path(i - 1), &path(i))?;
///     disk = VhdBuilder::differencing(link).create(FileStorage::create_new(path(i))?)?;
/// }
/// drop(disk); // its write lock
/// assert!(vhd::open_file(path(MAX_CHAIN_DEPTH), OpenOptions::read_only()).is_ok());
/// let too_deep = vhd::open_file(path(MAX_CHAIN_DEPTH + 1), OpenOptions::read_only());
/// assert!(matches!(too_deep, Err(vhd::Error::ParentChain { .. })));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_CHAIN_DEPTH: usize = 16;

/// The longest parent locator payload read (real ones are a path: at most a few hundred bytes).
///
/// ```
/// use vhd::{MAX_LOCATOR_PAYLOAD, PlatformCode, encode_locator_path};
/// // The longest Windows path, 32767 UTF-16 units, fits in a `W2ku` locator.
/// let longest = encode_locator_path(PlatformCode::W2KU, &"a".repeat(32_767));
/// assert!(longest.len() <= MAX_LOCATOR_PAYLOAD as usize);
/// ```
pub const MAX_LOCATOR_PAYLOAD: u32 = 64 << 10;

/// Offset of the first parent locator entry in the dynamic header.
const LOCATORS_FIELD: u64 = 576;
/// Length of one parent locator entry.
const LOCATOR_ENTRY_LEN: u64 = 24;

/// The locator platforms that hold a path, in the order they are tried.
const LOCATOR_ORDER: [PlatformCode; 5] = [
    PlatformCode::W2RU,
    PlatformCode::W2KU,
    PlatformCode::MACX,
    PlatformCode::WI2R,
    PlatformCode::WI2K,
];

/// What a differencing disk records about its parent, with the paths of its locators decoded:
/// the question a [`ParentResolver`] answers.
///
/// It also carries the chain opened so far, so that loops and depth are checked whatever
/// resolver is used; build one with [`ParentRef::of`].
///
/// ```
/// use vhd::{FileStorage, ParentLink, ParentRef, PlatformCode, VhdBuilder};
/// # let dir = std::env::temp_dir().join(format!("vhd-doc-{}-parent-ref", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # std::fs::create_dir_all(&dir)?;
/// let (golden_path, child_path) = (dir.join("golden.vhd"), dir.join("child.vhd"));
/// let golden = VhdBuilder::dynamic(1 << 20).create(FileStorage::create_new(&golden_path)?)?;
/// let link = ParentLink::for_files(&golden, &golden_path, &child_path)?;
/// let child = VhdBuilder::differencing(link).create(FileStorage::create_new(&child_path)?)?;
/// let parent = ParentRef::of(&child, &child_path)?.ok_or("not a differencing disk")?;
/// assert_eq!(parent.name, "golden.vhd");
/// assert_eq!(parent.unique_id, golden.footer().unique_id);
/// assert!(parent.locators.contains(&(PlatformCode::W2RU, r".\golden.vhd".to_string())));
/// assert_eq!(parent.candidates()[0], golden_path.canonicalize()?);
/// # let _ = std::fs::remove_dir_all(&dir);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentRef {
    /// The child's canonical path.
    pub child: PathBuf,
    /// The Parent Unique ID: the parent's footer Unique Id must equal it.
    pub unique_id: Uuid,
    /// The Parent Time Stamp (the parent's modification time when the child was made).
    pub timestamp: VhdTime,
    /// The Parent Unicode Name.
    pub name: String,
    /// The decoded path of every locator that holds one, in header order, as written (Windows
    /// separators kept).
    pub locators: Vec<(PlatformCode, String)>,
    /// The disks opened so far, the one the caller asked for first and the child last: their
    /// canonical paths and Unique Ids.
    lineage: Vec<(PathBuf, Uuid)>,
}

impl ParentRef {
    /// What `disk`, a differencing disk stored at `child_path`, records about its parent;
    /// `None` for fixed and dynamic disks. Locator payloads are read from the disk's storage.
    ///
    /// ```no_run
    /// use vhd::{Disk, FileStorage, OpenOptions, ParentRef};
    /// let disk = Disk::open(FileStorage::open_read_only("client.vhd")?, OpenOptions::read_only())?;
    /// if let Some(parent) = ParentRef::of(&disk, "client.vhd".as_ref())? {
    ///     println!("parent {} ({}), candidates:", parent.name, parent.unique_id);
    ///     for path in parent.candidates() {
    ///         println!("  {}", path.display());
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if `child_path` cannot be resolved or a payload cannot be read;
    /// [`Error::Corrupt`] for a locator payload longer than [`MAX_LOCATOR_PAYLOAD`] or outside
    /// the file, with the byte offset of its locator entry.
    pub fn of<S: Storage>(disk: &Disk<S>, child_path: &Path) -> Result<Option<ParentRef>> {
        let child = canonicalize(child_path, "resolving the child's path")?;
        let lineage = vec![(child.clone(), disk.footer().unique_id)];
        ParentRef::read(disk, child, lineage)
    }

    fn read<S: Storage>(
        disk: &Disk<S>,
        child: PathBuf,
        lineage: Vec<(PathBuf, Uuid)>,
    ) -> Result<Option<ParentRef>> {
        let (Some(unique_id), Some(header)) = (disk.parent_unique_id(), disk.header()) else {
            return Ok(None);
        };
        let file_len = disk
            .storage()
            .len()
            .map_err(Error::io("reading the file length", 0))?;
        let mut locators = Vec::new();
        for (i, loc) in header.locators.iter().enumerate() {
            if !LOCATOR_ORDER.contains(&loc.platform) || loc.data_length == 0 {
                continue;
            }
            let entry_at =
                disk.footer().data_offset + LOCATORS_FIELD + LOCATOR_ENTRY_LEN * i as u64;
            if loc.data_length > MAX_LOCATOR_PAYLOAD {
                return Err(Error::Corrupt {
                    what: "parent locator payload is longer than 64 KiB",
                    offset: entry_at,
                });
            }
            let len = u64::from(loc.data_length);
            if loc
                .data_offset
                .checked_add(len)
                .is_none_or(|end| end > file_len)
            {
                return Err(Error::Corrupt {
                    what: "parent locator payload lies outside the file",
                    offset: entry_at,
                });
            }
            let mut payload = vec![0u8; len as usize];
            disk.storage()
                .read_exact_at(&mut payload, loc.data_offset)
                .map_err(Error::io("reading a parent locator", loc.data_offset))?;
            if let Some(path) = decode_locator_path(loc.platform, &payload) {
                locators.push((loc.platform, path));
            }
        }
        Ok(Some(ParentRef {
            child,
            unique_id,
            timestamp: header.parent_timestamp,
            name: header.parent_name.clone(),
            locators,
            lineage,
        }))
    }

    /// How many disks are above the parent: 1 for the parent of the disk the caller opened.
    ///
    /// ```
    /// # use vhd::{FileStorage, ParentLink, ParentRef, VhdBuilder};
    /// # let dir = std::env::temp_dir().join(format!("vhd-doc-{}-parent-ref-depth", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # std::fs::create_dir_all(&dir)?;
    /// # let (golden_path, child_path) = (dir.join("golden.vhd"), dir.join("child.vhd"));
    /// # let golden = VhdBuilder::dynamic(1 << 20).create(FileStorage::create_new(&golden_path)?)?;
    /// # let link = ParentLink::for_files(&golden, &golden_path, &child_path)?;
    /// # let child = VhdBuilder::differencing(link).create(FileStorage::create_new(&child_path)?)?;
    /// let parent = ParentRef::of(&child, &child_path)?.ok_or("not a differencing disk")?;
    /// assert_eq!(parent.depth(), 1); // the parent of the disk opened
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn depth(&self) -> usize {
        self.lineage.len()
    }

    /// The paths to try, in order, without duplicates.
    ///
    /// Readers disagree on which locator to trust; this follows the practical rule of the
    /// crate's VHD notes (§11.9) and tries, each locator platform in header order:
    ///
    /// 1. `W2ru`: a path relative to the child's directory (`.\golden.vhd`), which survives
    ///    moving the child and its parent together;
    /// 2. `W2ku`: an absolute path (`C:\images\golden.vhd`; outside Windows the drive letter
    ///    is dropped and `\` becomes `/`, as blktap does);
    /// 3. `MacX`: a `file://` URL (percent escapes decoded);
    /// 4. `Wi2r`, then `Wi2k`: the deprecated ASCII relative and absolute paths;
    /// 5. the Parent Unicode Name's last component, in the child's directory (what libvhdi
    ///    does).
    ///
    /// Relative paths lose a leading `.\`; the child's directory is that of its canonical path
    /// (symbolic links resolved).
    ///
    /// ```no_run
    /// # use vhd::{Disk, FileStorage, OpenOptions, ParentRef};
    /// # let disk = Disk::open(FileStorage::open_read_only("client.vhd")?, OpenOptions::read_only())?;
    /// let parent = ParentRef::of(&disk, "client.vhd".as_ref())?.ok_or("not a differencing disk")?;
    /// let first = parent.candidates().into_iter().next();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn candidates(&self) -> Vec<PathBuf> {
        let dir = self.child.parent().unwrap_or(Path::new("/"));
        let mut out: Vec<PathBuf> = Vec::new();
        let mut push = |p: PathBuf| {
            if !out.contains(&p) {
                out.push(p);
            }
        };
        for platform in LOCATOR_ORDER {
            for (_, text) in self.locators.iter().filter(|(p, _)| *p == platform) {
                if let Some(path) = locator_path(dir, platform, text) {
                    push(path);
                }
            }
        }
        let base = self.name.rsplit(['\\', '/']).next().unwrap_or("");
        if !base.is_empty() && base != "." && base != ".." {
            push(dir.join(base));
        }
        out
    }

    /// The loop error if `canonical` is already on the chain.
    fn loop_at(&self, canonical: &Path) -> Option<Error> {
        self.lineage
            .iter()
            .any(|(p, _)| p == canonical)
            .then(|| Error::ParentChain {
                path: canonical.display().to_string(),
                problem: "loops back to itself",
            })
    }
}

/// The path a locator's text designates, relative paths taken from `dir`.
fn locator_path(dir: &Path, platform: PlatformCode, text: &str) -> Option<PathBuf> {
    let native = if platform == PlatformCode::MACX {
        percent_decode(text)
    } else {
        windows_to_native(text)
    };
    let mut rest = native.as_str();
    while let Some(r) = rest.strip_prefix("./").or_else(|| rest.strip_prefix(".\\")) {
        rest = r;
    }
    if rest.is_empty() {
        return None;
    }
    // `join` keeps an absolute path as it is.
    Some(dir.join(rest))
}

/// A Windows path in this platform's form: outside Windows, `\` becomes `/` and a drive
/// letter is dropped (as blktap does).
fn windows_to_native(text: &str) -> String {
    if cfg!(windows) {
        return text.to_string();
    }
    let slashed = text.replace('\\', "/");
    let b = slashed.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        slashed[2..].to_string()
    } else {
        slashed
    }
}

/// Decodes `%XX` escapes of a file URL's path (RFC 2396); invalid escapes are kept.
fn percent_decode(text: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16);
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if let (b'%', Some(&h), Some(&l)) = (b[i], b.get(i + 1), b.get(i + 2))
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

fn canonicalize(path: &Path, op: &'static str) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(Error::io(op, 0))
}

/// Finds and opens the parent of a differencing disk.
///
/// [`open_file_with`] asks its resolver for the parent of every differencing disk of the chain.
/// A resolver may return any open disk (for example a golden image the program opened once and
/// shares between every child), or look in the filesystem with [`find_parent`], which
/// continues the chain through the same resolver. Whatever the resolver returns,
/// [`open_file_with`] checks its Unique Id, and the chain's loops and depth.
///
/// Closures `FnMut(&ParentRef) -> Result<Arc<dyn ParentDisk>>` are resolvers:
///
/// ```no_run
/// use std::sync::Arc;
/// use vhd::{Disk, FileStorage, OpenOptions, ParentDisk, ParentRef};
/// let golden: Arc<dyn ParentDisk> = Arc::new(Disk::open(
///     FileStorage::open_read_only("/srv/golden.vhd")?,
///     OpenOptions::read_only(),
/// )?);
/// let mut resolver = |_: &ParentRef| Ok(golden.clone());
/// let client = vhd::open_file_with("/srv/clients/a.vhd", OpenOptions::read_write(), &mut resolver)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ParentResolver {
    /// The open parent described by `link`, complete with its own parents.
    ///
    /// # Errors
    /// [`Error::ParentNotFound`] (listing the paths tried) or [`Error::ParentMismatch`] when
    /// there is no such disk, or any error opening it.
    fn resolve(&mut self, link: &ParentRef) -> Result<Arc<dyn ParentDisk>>;
}

impl<F> ParentResolver for F
where
    F: FnMut(&ParentRef) -> Result<Arc<dyn ParentDisk>>,
{
    fn resolve(&mut self, link: &ParentRef) -> Result<Arc<dyn ParentDisk>> {
        self(link)
    }
}

/// The default resolver: looks for every parent in the filesystem ([`find_parent`]) and
/// opens it read-only. Each child gets its own parent objects; use [`SharedParents`] to open
/// each parent file once.
///
/// ```no_run
/// let disk = vhd::open_file_with("client.vhd", vhd::OpenOptions::read_only(), &mut vhd::FsResolver)?;
/// # Ok::<(), vhd::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FsResolver;

impl ParentResolver for FsResolver {
    fn resolve(&mut self, link: &ParentRef) -> Result<Arc<dyn ParentDisk>> {
        Ok(find_parent(link, self)?)
    }
}

/// A cache of open parents, one per canonical path, shared by every child opened through it:
/// a golden image is opened once (read-only) and serves every client's chain.
///
/// ```no_run
/// use std::sync::Arc;
/// use vhd::{Disk, FileStorage, OpenOptions, SharedParents};
/// let mut parents = SharedParents::new();
/// // Optionally hand in a parent the program has already opened.
/// let golden = Arc::new(Disk::open(FileStorage::open_read_only("/srv/golden.vhd")?, OpenOptions::read_only())?);
/// parents.add("/srv/golden.vhd", golden)?;
/// let a = parents.open("/srv/clients/a.vhd", OpenOptions::read_write())?;
/// let b = parents.open("/srv/clients/b.vhd", OpenOptions::read_write())?;
/// assert!(matches!((a.parent(), b.parent()), (Some(pa), Some(pb)) if Arc::ptr_eq(pa, pb)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct SharedParents {
    by_path: HashMap<PathBuf, Arc<dyn ParentDisk>>,
}

impl core::fmt::Debug for SharedParents {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map()
            .entries(self.by_path.iter().map(|(p, d)| (p, d.unique_id())))
            .finish()
    }
}

impl SharedParents {
    /// An empty cache.
    ///
    /// ```
    /// let parents = vhd::SharedParents::new();
    /// assert!(parents.is_empty());
    /// ```
    pub fn new() -> Self {
        SharedParents::default()
    }

    /// Registers `disk`, already open, as the parent file at `path`: children whose locators
    /// lead to `path` get this very `Arc` (after the usual Unique Id check).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{FileStorage, SharedParents, VhdBuilder};
    /// # let dir = std::env::temp_dir().join(format!("vhd-doc-{}-shared-add", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("golden.vhd");
    /// let golden = Arc::new(VhdBuilder::dynamic(1 << 20).create(FileStorage::create_new(&path)?)?);
    /// let mut parents = SharedParents::new();
    /// parents.add(&path, golden.clone())?;
    /// assert_eq!(parents.len(), 1);
    /// assert!(parents.add(dir.join("missing.vhd"), golden).is_err()); // no such file
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if `path` cannot be resolved to a canonical path.
    pub fn add(&mut self, path: impl AsRef<Path>, disk: Arc<dyn ParentDisk>) -> Result<()> {
        let canonical = canonicalize(path.as_ref(), "resolving a parent path")?;
        self.by_path.insert(canonical, disk);
        Ok(())
    }

    /// The cached parent at `path`, if any.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{FileStorage, ParentDisk, SharedParents, VhdBuilder};
    /// # let dir = std::env::temp_dir().join(format!("vhd-doc-{}-shared-get", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("golden.vhd");
    /// let golden = Arc::new(VhdBuilder::dynamic(1 << 20).create(FileStorage::create_new(&path)?)?);
    /// let mut parents = SharedParents::new();
    /// parents.add(&path, golden.clone())?;
    /// // Looked up by canonical path: another spelling of the same file finds it.
    /// let found = parents.get(dir.join(".").join("golden.vhd"));
    /// assert_eq!(found.map(|p| p.unique_id()), Some(golden.footer().unique_id));
    /// assert!(parents.get(dir.join("other.vhd")).is_none());
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, path: impl AsRef<Path>) -> Option<Arc<dyn ParentDisk>> {
        let canonical = std::fs::canonicalize(path).ok()?;
        self.by_path.get(&canonical).cloned()
    }

    /// The number of parents cached.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{FileStorage, SharedParents, VhdBuilder};
    /// # let dir = std::env::temp_dir().join(format!("vhd-doc-{}-shared-len", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("golden.vhd");
    /// let golden = Arc::new(VhdBuilder::dynamic(1 << 20).create(FileStorage::create_new(&path)?)?);
    /// let mut parents = SharedParents::new();
    /// parents.add(&path, golden.clone())?;
    /// parents.add(&path, golden)?; // the same file again replaces the entry
    /// assert_eq!(parents.len(), 1);
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// Whether no parent is cached.
    ///
    /// ```
    /// let parents = vhd::SharedParents::new();
    /// assert!(parents.is_empty() && parents.len() == 0);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// The canonical paths of the cached parents.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{FileStorage, SharedParents, VhdBuilder};
    /// # let dir = std::env::temp_dir().join(format!("vhd-doc-{}-shared-paths", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("golden.vhd");
    /// let golden = Arc::new(VhdBuilder::dynamic(1 << 20).create(FileStorage::create_new(&path)?)?);
    /// let mut parents = SharedParents::new();
    /// parents.add(&path, golden)?;
    /// let canonical = path.canonicalize()?;
    /// assert_eq!(parents.paths().collect::<Vec<_>>(), [canonical.as_path()]);
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.by_path.keys().map(PathBuf::as_path)
    }

    /// Opens the file at `path` with its parents, taking them from this cache or opening and
    /// caching them: `open_file_with(path, options, self)`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{FileStorage, OpenOptions, ParentLink, SharedParents, VhdBuilder};
    /// # let dir = std::env::temp_dir().join(format!("vhd-doc-{}-shared-open", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # std::fs::create_dir_all(&dir)?;
    /// let (golden_path, a_path, b_path) = (dir.join("golden.vhd"), dir.join("a.vhd"), dir.join("b.vhd"));
    /// let golden = VhdBuilder::dynamic(1 << 20).create(FileStorage::create_new(&golden_path)?)?;
    /// for child in [&a_path, &b_path] {
    ///     let link = ParentLink::for_files(&golden, &golden_path, child)?;
    ///     VhdBuilder::differencing(link).create(FileStorage::create_new(child)?)?;
    /// }
    /// drop(golden); // its write lock: a parent is opened with a shared one
    /// let mut parents = SharedParents::new();
    /// let a = parents.open(&a_path, OpenOptions::read_write())?;
    /// let b = parents.open(&b_path, OpenOptions::read_write())?;
    /// assert!(matches!((a.parent(), b.parent()), (Some(pa), Some(pb)) if Arc::ptr_eq(pa, pb)));
    /// assert_eq!(parents.len(), 1); // the golden image, opened once
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`open_file_with`].
    pub fn open(
        &mut self,
        path: impl AsRef<Path>,
        options: OpenOptions,
    ) -> Result<Disk<FileStorage>> {
        open_file_with(path, options, self)
    }
}

impl ParentResolver for SharedParents {
    fn resolve(&mut self, link: &ParentRef) -> Result<Arc<dyn ParentDisk>> {
        search(link, |candidate| {
            let canonical = match locate(candidate) {
                Attempt::Found(c) => c,
                Attempt::Missing => return Ok(Attempt::Missing),
                Attempt::Rejected(e) => return Ok(Attempt::Rejected(e)),
            };
            if let Some(hit) = self.by_path.get(&canonical) {
                let found = hit.unique_id();
                if found != link.unique_id {
                    return Ok(Attempt::Rejected(mismatch(&canonical, link, found)));
                }
                return Ok(Attempt::Found(hit.clone()));
            }
            Ok(match open_candidate(&canonical, link, self)? {
                Attempt::Found(disk) => {
                    let disk: Arc<dyn ParentDisk> = disk;
                    self.by_path.insert(canonical, disk.clone());
                    Attempt::Found(disk)
                }
                Attempt::Missing => Attempt::Missing,
                Attempt::Rejected(e) => Attempt::Rejected(e),
            })
        })
    }
}

/// Opens the VHD file at `path`; a differencing disk gets its parent chain, found through
/// its locators ([`FsResolver`]) and opened read-only.
///
/// A differencing disk names its parent in two ways (VHD specification, "Dynamic Disk Header
/// Format"): the Parent Unique ID, which identifies it, and parent locators plus the Parent
/// Unicode Name, which say where to look. The places of [`ParentRef::candidates`] are tried in
/// order, and a file there is accepted only if its footer Unique Id equals the Parent Unique
/// ID; one that exists but does not match is skipped, and reported ([`Error::ParentMismatch`])
/// if no later candidate matches. The Parent Time Stamp is not checked: blktap and Windows 11
/// ignore it too, and copying a file changes its modification time (compare
/// [`ParentRef::timestamp`] with the file's to warn about it).
///
/// Parents are opened read-only ([`FileStorage::open_read_only`]), so the operating system
/// refuses any write to them whatever happens above. A parent can itself be differencing: the
/// chain is followed to its end, refusing loops (a file or a Unique Id met twice) and chains
/// of more than [`MAX_CHAIN_DEPTH`] parents.
///
/// ```no_run
/// let mut client = vhd::open_file("/srv/clients/a.vhd", vhd::OpenOptions::read_write())?;
/// client.write_at(b"hello", 0)?;
/// client.flush()?;
/// # Ok::<(), vhd::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] if the file cannot be opened; [`Disk::open`]'s errors for it or any parent;
/// [`Error::ParentNotFound`] listing every path tried, [`Error::ParentMismatch`] naming a file
/// found with another Unique Id, [`Error::ParentChain`] for a chain that loops or has more
/// than [`MAX_CHAIN_DEPTH`] parents; [`Error::Corrupt`] for a bad locator.
pub fn open_file(path: impl AsRef<Path>, options: OpenOptions) -> Result<Disk<FileStorage>> {
    open_file_with(path, options, &mut FsResolver)
}

/// Opens the VHD file at `path` (writable if `options` say so); a differencing disk gets the
/// parent `resolver` finds for it, whose Unique Id must be the one the child records.
///
/// ```no_run
/// let mut parents = vhd::SharedParents::new();
/// let a = vhd::open_file_with("a.vhd", vhd::OpenOptions::read_write(), &mut parents)?;
/// # Ok::<(), vhd::Error>(())
/// ```
///
/// # Errors
/// As [`open_file`], and the resolver's errors.
pub fn open_file_with(
    path: impl AsRef<Path>,
    options: OpenOptions,
    resolver: &mut dyn ParentResolver,
) -> Result<Disk<FileStorage>> {
    let path = path.as_ref();
    let storage = if options.writable {
        FileStorage::open_writable(path)
    } else if options.unlocked {
        FileStorage::open_unlocked(path)
    } else {
        FileStorage::open_read_only(path)
    }
    .map_err(Error::io("opening the file", 0))?;
    let mut disk = Disk::open(storage, options)?;
    if disk.parent_unique_id().is_some() {
        let canonical = canonicalize(path, "resolving the file's path")?;
        let lineage = vec![(canonical.clone(), disk.footer().unique_id)];
        if let Some(link) = ParentRef::read(&disk, canonical, lineage)? {
            attach_through(&mut disk, &link, resolver)?;
        }
    }
    Ok(disk)
}

/// Looks for the parent `link` describes in the filesystem (the candidates of
/// [`ParentRef::candidates`], in order) and opens the first that matches, read-only, with its
/// own parents found through `resolver`. For resolvers that handle some parents themselves and
/// leave the others to the filesystem.
///
/// ```no_run
/// use std::sync::Arc;
/// use vhd::{ParentDisk, ParentRef, ParentResolver, Result};
/// /// Serves one golden image from memory, looks for anything else on disk.
/// struct Golden(Arc<dyn ParentDisk>);
/// impl ParentResolver for Golden {
///     fn resolve(&mut self, link: &ParentRef) -> Result<Arc<dyn ParentDisk>> {
///         if link.unique_id == self.0.unique_id() {
///             return Ok(self.0.clone());
///         }
///         Ok(vhd::find_parent(link, self)?)
///     }
/// }
/// ```
///
/// # Errors
/// [`Error::ParentNotFound`] listing every path tried when no candidate exists; otherwise the
/// first candidate's reason for being refused ([`Error::ParentMismatch`], [`Error::ParentChain`]
/// for a file already on the chain, or its [`Disk::open`] error); errors from further up the
/// chain as they are.
pub fn find_parent(
    link: &ParentRef,
    resolver: &mut dyn ParentResolver,
) -> Result<Arc<Disk<FileStorage>>> {
    find_parent_with_path(link, resolver).map(|(_, disk)| disk)
}

/// As [`find_parent`], and also returns the canonical path of the parent found: for tools that
/// show a disk's chain.
///
/// ```no_run
/// # use vhd::{Disk, FileStorage, OpenOptions, ParentRef};
/// # let child = Disk::open(FileStorage::open_read_only("client.vhd")?, OpenOptions::read_only())?;
/// let link = ParentRef::of(&child, "client.vhd".as_ref())?.ok_or("not a differencing disk")?;
/// let (path, parent) = vhd::find_parent_with_path(&link, &mut vhd::FsResolver)?;
/// println!("{} is the parent ({} bytes)", path.display(), parent.size());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`find_parent`].
pub fn find_parent_with_path(
    link: &ParentRef,
    resolver: &mut dyn ParentResolver,
) -> Result<(PathBuf, Arc<Disk<FileStorage>>)> {
    search(link, |candidate| match locate(candidate) {
        Attempt::Found(canonical) => Ok(match open_candidate(&canonical, link, resolver)? {
            Attempt::Found(disk) => Attempt::Found((canonical, disk)),
            Attempt::Missing => Attempt::Missing,
            Attempt::Rejected(e) => Attempt::Rejected(e),
        }),
        Attempt::Missing => Ok(Attempt::Missing),
        Attempt::Rejected(e) => Ok(Attempt::Rejected(e)),
    })
}

/// Opens the file at `path` as the parent `link` describes: read-only, checking its Unique Id
/// and that it is not already on the chain, with its own parents found through `resolver`.
///
/// ```no_run
/// # use vhd::{Disk, FileStorage, OpenOptions, ParentRef};
/// # let child = Disk::open(FileStorage::open_read_only("client.vhd")?, OpenOptions::read_only())?;
/// let link = ParentRef::of(&child, "client.vhd".as_ref())?.ok_or("not a differencing disk")?;
/// let parent = vhd::open_parent("/srv/golden.vhd".as_ref(), &link, &mut vhd::FsResolver)?;
/// assert!(!parent.is_writable());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::ParentNotFound`] if there is no file at `path`; [`Error::ParentMismatch`];
/// [`Error::ParentChain`]; [`Error::Io`]; [`Disk::open`]'s errors.
pub fn open_parent(
    path: &Path,
    link: &ParentRef,
    resolver: &mut dyn ParentResolver,
) -> Result<Arc<Disk<FileStorage>>> {
    let attempt = match locate(path) {
        Attempt::Found(canonical) => open_candidate(&canonical, link, resolver)?,
        Attempt::Missing => Attempt::Missing,
        Attempt::Rejected(e) => Attempt::Rejected(e),
    };
    match attempt {
        Attempt::Found(disk) => Ok(disk),
        Attempt::Missing => Err(Error::ParentNotFound {
            name: link.name.clone(),
            tried: vec![path.display().to_string()],
        }),
        Attempt::Rejected(e) => Err(e),
    }
}

/// The outcome of trying one candidate.
enum Attempt<T> {
    /// There is no regular file there.
    Missing,
    /// Something is there but cannot be the parent.
    Rejected(Error),
    Found(T),
}

/// Tries every candidate of `link` in order; the first found wins. Without one, the first
/// rejection is the error, or [`Error::ParentNotFound`] if nothing was there at all.
fn search<T>(link: &ParentRef, mut attempt: impl FnMut(&Path) -> Result<Attempt<T>>) -> Result<T> {
    let mut tried = Vec::new();
    let mut rejected = None;
    for candidate in link.candidates() {
        tried.push(candidate.display().to_string());
        match attempt(&candidate)? {
            Attempt::Found(found) => return Ok(found),
            Attempt::Missing => {}
            Attempt::Rejected(e) => {
                rejected.get_or_insert(e);
            }
        }
    }
    Err(rejected.unwrap_or_else(|| Error::ParentNotFound {
        name: link.name.clone(),
        tried,
    }))
}

/// The canonical path of the regular file at `path`.
fn locate(path: &Path) -> Attempt<PathBuf> {
    use std::io::ErrorKind;
    match std::fs::canonicalize(path) {
        Ok(canonical) if canonical.is_file() => Attempt::Found(canonical),
        Ok(_) => Attempt::Missing,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            Attempt::Missing
        }
        Err(source) => Attempt::Rejected(Error::Io {
            op: "resolving a parent path",
            offset: 0,
            source,
        }),
    }
}

fn mismatch(path: &Path, link: &ParentRef, found: Uuid) -> Error {
    Error::ParentMismatch {
        path: path.display().to_string(),
        expected: link.unique_id,
        found,
    }
}

/// Opens the file at `canonical` as `link`'s parent. Problems with this file are rejections;
/// problems further up its chain are errors.
fn open_candidate(
    canonical: &Path,
    link: &ParentRef,
    resolver: &mut dyn ParentResolver,
) -> Result<Attempt<Arc<Disk<FileStorage>>>> {
    if let Some(e) = link.loop_at(canonical) {
        return Ok(Attempt::Rejected(e));
    }
    let storage = match FileStorage::open_read_only(canonical) {
        Ok(storage) => storage,
        Err(source) => {
            // Name the file: the candidates are not in the message otherwise.
            let named =
                std::io::Error::new(source.kind(), format!("{}: {source}", canonical.display()));
            return Ok(Attempt::Rejected(Error::Io {
                op: "opening a parent",
                offset: 0,
                source: named,
            }));
        }
    };
    let mut disk = match Disk::open(storage, OpenOptions::read_only()) {
        Ok(disk) => disk,
        Err(e) => return Ok(Attempt::Rejected(e)),
    };
    let found = disk.footer().unique_id;
    if found != link.unique_id {
        return Ok(Attempt::Rejected(mismatch(canonical, link, found)));
    }
    let mut lineage = link.lineage.clone();
    lineage.push((canonical.to_path_buf(), found));
    if let Some(next) = ParentRef::read(&disk, canonical.to_path_buf(), lineage)? {
        attach_through(&mut disk, &next, resolver)?;
    }
    Ok(Attempt::Found(Arc::new(disk)))
}

/// Checks the chain's loops and depth, asks `resolver` for `link`'s parent and attaches it.
fn attach_through<S: Storage>(
    disk: &mut Disk<S>,
    link: &ParentRef,
    resolver: &mut dyn ParentResolver,
) -> Result<()> {
    let child = || link.child.display().to_string();
    if link.lineage.iter().any(|(_, id)| *id == link.unique_id) {
        return Err(Error::ParentChain {
            path: child(),
            problem: "loops back to itself",
        });
    }
    if link.depth() > MAX_CHAIN_DEPTH {
        return Err(Error::ParentChain {
            path: child(),
            problem: "is deeper than the limit",
        });
    }
    let parent = resolver.resolve(link)?;
    disk.attach_parent(parent)
}

impl ParentLink {
    /// The link to `parent` under the name `name`, with no locators and a zero timestamp: for
    /// a parent that is not a file of its own (in memory, or resolved by the caller's
    /// [`ParentResolver`]), which the caller attaches with [`Disk::attach_parent`]. Readers
    /// that find parents through locators (Hyper-V, qemu, libvhdi) cannot open such a child
    /// on their own; [`ParentLink::for_files`] makes the link they need.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{MemStorage, ParentLink, VhdBuilder};
    /// let mut golden = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// golden.write_at(&[7; 512], 0)?;
    /// let link = ParentLink::without_locators(&golden, "golden.vhd");
    /// assert_eq!((link.size, link.name.as_str()), (1 << 20, "golden.vhd"));
    /// let mut child = VhdBuilder::differencing(link).create(MemStorage::default())?;
    /// child.attach_parent(Arc::new(golden))?;
    /// let mut buf = [0u8; 1];
    /// child.read_at(&mut buf, 0)?;
    /// assert_eq!(buf, [7]);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn without_locators(parent: &dyn ParentDisk, name: impl Into<String>) -> ParentLink {
        ParentLink {
            unique_id: parent.unique_id(),
            size: parent.size(),
            timestamp: VhdTime(0),
            name: name.into(),
            absolute_path: None,
            relative_path: None,
        }
    }

    /// How a new differencing disk at `child_path` refers to `parent`, the disk stored at
    /// `parent_path` (both directories must exist; the child file need not):
    ///
    /// - `name`: the parent's file name (of its canonical path);
    /// - `relative_path` (`W2ru`): from the child's directory to the parent, with `\`
    ///   separators and a `.\` prefix, e.g. `.\golden.vhd` or `.\..\images\golden.vhd`; `None`
    ///   when there is no relative path (another drive on Windows);
    /// - `absolute_path` (`W2ku`): the parent's canonical path with `/` written as `\` (on Unix,
    ///   `/srv/images/golden.vhd` becomes `\srv\images\golden.vhd`), so that Windows-style
    ///   readers find a path of the form they expect; readers on Unix (this crate, blktap) turn
    ///   it back;
    /// - `timestamp`: the parent file's modification time, as Windows and blktap store it;
    /// - `unique_id` and `size`: from the parent's footer.
    ///
    /// ```no_run
    /// use vhd::{Disk, FileStorage, OpenOptions, ParentLink, VhdBuilder};
    /// let golden = Disk::open(FileStorage::open_read_only("/srv/images/golden.vhd")?, OpenOptions::read_only())?;
    /// let link = ParentLink::for_files(&golden, "/srv/images/golden.vhd".as_ref(), "/srv/clients/a.vhd".as_ref())?;
    /// assert_eq!(link.relative_path.as_deref(), Some(r".\..\images\golden.vhd"));
    /// let child = VhdBuilder::differencing(link).create(FileStorage::create_new("/srv/clients/a.vhd")?)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if a path cannot be resolved or the parent's modification time read;
    /// [`Error::InvalidInput`] for a path that is not Unicode or (outside Windows) contains a
    /// `\`, which the locators cannot represent.
    pub fn for_files<S: Storage>(
        parent: &Disk<S>,
        parent_path: &Path,
        child_path: &Path,
    ) -> Result<ParentLink> {
        let canonical = canonicalize(parent_path, "resolving the parent's path")?;
        let child_dir = match child_path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let child_dir = canonicalize(child_dir, "resolving the child's directory")?;
        let invalid = |reason| Error::InvalidInput {
            what: "parent path",
            reason,
        };
        let name = canonical
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or(invalid("is not a Unicode file name"))?
            .to_string();
        let text = canonical.to_str().ok_or(invalid("is not Unicode"))?;
        if !cfg!(windows) && text.contains('\\') {
            return Err(invalid(
                "contains a backslash, which locators cannot represent",
            ));
        }
        let modified = std::fs::metadata(&canonical)
            .and_then(|m| m.modified())
            .map_err(Error::io("reading the parent's modification time", 0))?;
        Ok(ParentLink {
            unique_id: parent.footer().unique_id,
            size: parent.footer().current_size,
            timestamp: VhdTime::from_system_time(modified),
            name,
            absolute_path: Some(windows_absolute(text)),
            relative_path: relative_windows_path(&child_dir, &canonical),
        })
    }
}

/// An absolute path with `\` separators (Windows' verbatim `\\?\` prefix dropped).
fn windows_absolute(text: &str) -> String {
    if let Some(unc) = text.strip_prefix(r"\\?\UNC\") {
        format!(r"\\{unc}")
    } else if let Some(rest) = text.strip_prefix(r"\\?\") {
        rest.to_string()
    } else {
        text.replace('/', "\\")
    }
}

/// The path from directory `from` to `to` (both canonical), as `.\`-prefixed Windows text.
fn relative_windows_path(from: &Path, to: &Path) -> Option<String> {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut parts = vec!["."];
    parts.extend(std::iter::repeat_n("..", from.len() - common));
    for c in &to[common..] {
        parts.push(c.as_os_str().to_str()?);
    }
    Some(parts.join("\\"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(locators: &[(PlatformCode, &str)], name: &str) -> ParentRef {
        ParentRef {
            child: PathBuf::from("/srv/clients/a.vhd"),
            unique_id: Uuid::from_u128(1),
            timestamp: VhdTime(0),
            name: name.into(),
            locators: locators.iter().map(|(p, s)| (*p, s.to_string())).collect(),
            lineage: vec![(PathBuf::from("/srv/clients/a.vhd"), Uuid::from_u128(2))],
        }
    }

    #[cfg(unix)]
    #[test]
    fn candidates_follow_the_practical_order() {
        let l = link(
            &[
                (PlatformCode::WI2K, r"D:\old\golden.vhd"),
                (PlatformCode::W2KU, r"C:\images\golden.vhd"),
                (PlatformCode::MACX, "/mac/gold%20en.vhd"),
                (PlatformCode::W2RU, r".\..\images\golden.vhd"),
                (PlatformCode::WI2R, r".\.\golden.vhd"),
            ],
            r"C:\images\golden.vhd",
        );
        let got: Vec<String> = l
            .candidates()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            got,
            [
                "/srv/clients/../images/golden.vhd",
                "/images/golden.vhd",
                "/mac/gold en.vhd",
                "/srv/clients/golden.vhd", // Wi2r; the name fallback is the same path
                "/old/golden.vhd",
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn name_fallback_uses_the_last_component() {
        let l = link(&[], r"C:\images\golden.vhd");
        assert_eq!(l.candidates(), [PathBuf::from("/srv/clients/golden.vhd")]);
        assert!(link(&[], "").candidates().is_empty());
        assert!(
            link(&[(PlatformCode::W2RU, r".\")], "..")
                .candidates()
                .is_empty()
        );
    }

    #[test]
    fn percent_escapes_are_decoded() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[cfg(unix)]
    #[test]
    fn relative_paths_are_dot_prefixed_windows_text() {
        let rel = |a: &str, b: &str| relative_windows_path(Path::new(a), Path::new(b));
        assert_eq!(
            rel("/srv", "/srv/golden.vhd").as_deref(),
            Some(r".\golden.vhd")
        );
        assert_eq!(
            rel("/srv/clients", "/srv/images/golden.vhd").as_deref(),
            Some(r".\..\images\golden.vhd")
        );
        assert_eq!(
            rel("/a/b/c", "/g.vhd").as_deref(),
            Some(r".\..\..\..\g.vhd")
        );
        assert_eq!(windows_absolute("/srv/images/g.vhd"), r"\srv\images\g.vhd");
        assert_eq!(windows_absolute(r"\\?\C:\images\g.vhd"), r"C:\images\g.vhd");
        assert_eq!(
            windows_absolute(r"\\?\UNC\host\share\g.vhd"),
            r"\\host\share\g.vhd"
        );
    }
}

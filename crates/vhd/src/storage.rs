//! Where a VHD file's bytes live: positional reads and writes through `&self`, so that one open
//! golden image can be read by many threads at once.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::RwLock;

/// Reads at `offset`, naming the operation in the error (`"reading the BAT"`).
pub(crate) fn read<S: Storage + ?Sized>(
    storage: &S,
    buf: &mut [u8],
    offset: u64,
    op: &'static str,
) -> crate::Result<()> {
    storage
        .read_exact_at(buf, offset)
        .map_err(crate::Error::io(op, offset))
}

/// Writes at `offset`, naming the operation in the error.
pub(crate) fn write<S: Storage + ?Sized>(
    storage: &S,
    buf: &[u8],
    offset: u64,
    op: &'static str,
) -> crate::Result<()> {
    storage
        .write_all_at(buf, offset)
        .map_err(crate::Error::io(op, offset))
}

/// Whether the byte extents `[a, a + alen)` and `[b, b + blen)` of a file overlap.
pub(crate) fn overlaps(a: u64, alen: u64, b: u64, blen: u64) -> bool {
    a < b.saturating_add(blen) && b < a.saturating_add(alen)
}

/// Positional byte storage under a VHD file: a file, a block device, memory.
///
/// Implementations must be safe to read from several threads at once; writes go through
/// `&self` too (positional, like `pwrite`), and the disk layer orders them.
///
/// ```
/// use vhd::{MemStorage, Storage};
/// let s = MemStorage::new(vec![0; 4]);
/// s.write_all_at(b"ab", 3)?; // grows the storage
/// let mut buf = [0u8; 5];
/// s.read_exact_at(&mut buf, 0)?;
/// assert_eq!(&buf, b"\0\0\0ab");
/// assert_eq!(s.len()?, 5);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Storage: Send + Sync {
    /// Reads exactly `buf.len()` bytes at `offset`; reading past the end is an error.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`, growing the storage if needed.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// The current length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Truncates or extends (with zeros) to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes every completed write durable.
    fn flush(&self) -> io::Result<()>;
    /// Whether the storage is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

impl<S: Storage + ?Sized> Storage for &S {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        (**self).read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        (**self).write_all_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        (**self).len()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        (**self).set_len(len)
    }
    fn flush(&self) -> io::Result<()> {
        (**self).flush()
    }
}

impl<S: Storage + ?Sized> Storage for std::sync::Arc<S> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        (**self).read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        (**self).write_all_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        (**self).len()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        (**self).set_len(len)
    }
    fn flush(&self) -> io::Result<()> {
        (**self).flush()
    }
}

/// Storage in memory, for tests, fuzzing and small images.
///
/// ```
/// use vhd::{MemStorage, Storage};
/// let s = MemStorage::read_only(vec![1, 2, 3]);
/// assert!(s.write_all_at(b"x", 0).is_err());
/// ```
#[derive(Debug, Default)]
pub struct MemStorage {
    data: RwLock<Vec<u8>>,
    read_only: bool,
}

impl MemStorage {
    /// Writable storage holding `data`.
    ///
    /// ```
    /// use vhd::{MemStorage, Storage};
    /// let s = MemStorage::new(vec![1, 2, 3]);
    /// s.write_all_at(b"xy", 2)?; // overwrites one byte, appends one
    /// assert_eq!(s.into_inner(), [1, 2, b'x', b'y']);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(data: Vec<u8>) -> Self {
        MemStorage {
            data: RwLock::new(data),
            read_only: false,
        }
    }

    /// Storage holding `data` that refuses writes.
    ///
    /// ```
    /// use vhd::{MemStorage, Storage};
    /// let s = MemStorage::read_only(vec![1, 2, 3]);
    /// let mut buf = [0u8; 2];
    /// s.read_exact_at(&mut buf, 1)?;
    /// assert_eq!(buf, [2, 3]);
    /// assert_eq!(s.set_len(0).map_err(|e| e.kind()), Err(std::io::ErrorKind::PermissionDenied));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_only(data: Vec<u8>) -> Self {
        MemStorage {
            data: RwLock::new(data),
            read_only: true,
        }
    }

    /// A copy of the bytes.
    ///
    /// ```
    /// use vhd::{MemStorage, Storage};
    /// let s = MemStorage::new(vec![0; 4]);
    /// s.write_all_at(b"ab", 1)?;
    /// assert_eq!(s.to_vec(), b"\0ab\0");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn to_vec(&self) -> Vec<u8> {
        self.lock_read().clone()
    }

    /// The bytes.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?;
    /// let bytes = disk.into_storage().into_inner();
    /// assert_eq!(bytes.len(), (1 << 20) + 512);
    /// assert_eq!(&bytes[1 << 20..][..8], b"conectix");
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn into_inner(self) -> Vec<u8> {
        self.data
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_read(&self) -> std::sync::RwLockReadGuard<'_, Vec<u8>> {
        self.data
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_write(&self) -> io::Result<std::sync::RwLockWriteGuard<'_, Vec<u8>>> {
        if self.read_only {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "read-only storage",
            ));
        }
        Ok(self
            .data
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

fn range(offset: u64, len: usize, size: usize) -> io::Result<std::ops::Range<usize>> {
    let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
    let end = start.checked_add(len).ok_or(io::ErrorKind::UnexpectedEof)?;
    if end > size {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(start..end)
}

impl Storage for MemStorage {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let data = self.lock_read();
        let r = range(offset, buf.len(), data.len())?;
        buf.copy_from_slice(&data[r]);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut data = self.lock_write()?;
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::OutOfMemory)?;
        let end = start
            .checked_add(buf.len())
            .ok_or(io::ErrorKind::OutOfMemory)?;
        if end > data.len() {
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(buf);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.lock_read().len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| io::ErrorKind::OutOfMemory)?;
        self.lock_write()?.resize(len, 0);
        Ok(())
    }

    fn flush(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Storage in a file, with positional IO (`pread`/`pwrite`), safe to share between threads.
///
/// # Locks
///
/// Two writers on one disk, or a writer under a reader, corrupt it or what the reader sees
/// (two servers serving one client's disk; a merge into a golden image that is being served).
/// So the opening functions take an advisory lock on the file (`flock(2)` on Unix, the
/// standard library's [`File::try_lock`]) and hold it while the storage is open:
///
/// - [`FileStorage::open_writable`] and [`FileStorage::create_new`]: exclusive, refused
///   while any other handle holds a lock on the file;
/// - [`FileStorage::open_read_only`]: shared, refused while a writer holds the file;
/// - [`FileStorage::open_unlocked`] and [`FileStorage::from_file`]: none, for looking at a
///   disk that another process is writing (what it reads may be changing).
///
/// A refused lock is an error of kind [`io::ErrorKind::ResourceBusy`]; the opening never
/// waits. On a file system that cannot lock, files open without a lock. The lock is per open file, so a process that opens one file twice, once for
/// writing, is refused too. Programs that do not take `flock` locks (qemu takes other locks)
/// are not kept out.
///
/// ```no_run
/// use vhd::FileStorage;
/// let golden = FileStorage::open_read_only("golden.vhd")?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct FileStorage {
    file: File,
}

impl FileStorage {
    /// Opens an existing file read-only, with a shared lock: the OS refuses every write,
    /// whatever the caller does, and no writer can open it meanwhile.
    ///
    /// ```
    /// use vhd::{FileStorage, Storage};
    /// # let path = std::env::temp_dir().join(format!("vhd-doc-{}-open-read-only", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// std::fs::write(&path, b"golden")?;
    /// let storage = FileStorage::open_read_only(&path)?;
    /// let mut buf = [0u8; 6];
    /// storage.read_exact_at(&mut buf, 0)?;
    /// assert_eq!(&buf, b"golden");
    /// assert!(storage.write_all_at(b"x", 0).is_err()); // refused by the OS
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's error for opening the file; `ResourceBusy` while a writer holds it (see
    /// "Locks" above).
    pub fn open_read_only(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = File::open(path)?;
        lock(&file, Lock::Shared)?;
        Ok(FileStorage { file })
    }

    /// Opens an existing file read-only without taking a lock: for inspecting a disk that
    /// another process holds open for writing (a served client disk). What it reads may be
    /// changing, or be half of a write; never use it to serve or to merge.
    ///
    /// ```
    /// use vhd::{FileStorage, Storage};
    /// # let path = std::env::temp_dir().join(format!("vhd-doc-{}-open-unlocked", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// std::fs::write(&path, b"client")?;
    /// let writer = FileStorage::open_writable(&path)?;
    /// assert!(FileStorage::open_read_only(&path).is_err()); // the writer's lock
    /// let peek = FileStorage::open_unlocked(&path)?;
    /// let mut buf = [0u8; 6];
    /// peek.read_exact_at(&mut buf, 0)?;
    /// assert_eq!(&buf, b"client");
    /// # drop(writer);
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's error for opening the file.
    pub fn open_unlocked(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(FileStorage {
            file: File::open(path)?,
        })
    }

    /// Opens an existing file for reading and writing, with an exclusive lock.
    ///
    /// ```
    /// use vhd::{FileStorage, Storage};
    /// # let path = std::env::temp_dir().join(format!("vhd-doc-{}-open-writable", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// std::fs::write(&path, b"golden")?;
    /// let storage = FileStorage::open_writable(&path)?;
    /// storage.write_all_at(b"G", 0)?;
    /// assert_eq!(std::fs::read(&path)?, b"Golden");
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's error for opening the file; `ResourceBusy` while another handle holds any
    /// lock on it (see "Locks" above).
    pub fn open_writable(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = File::options().read(true).write(true).open(path)?;
        lock(&file, Lock::Exclusive)?;
        Ok(FileStorage { file })
    }

    /// Creates a new file, failing if it exists.
    ///
    /// ```
    /// use vhd::{FileStorage, Storage};
    /// # let path = std::env::temp_dir().join(format!("vhd-doc-{}-create-new", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let storage = FileStorage::create_new(&path)?;
    /// assert!(storage.is_empty()?);
    /// let again = FileStorage::create_new(&path);
    /// assert_eq!(again.err().map(|e| e.kind()), Some(std::io::ErrorKind::AlreadyExists));
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's error for creating the file (`AlreadyExists` if it exists).
    pub fn create_new(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        lock(&file, Lock::Exclusive)?;
        Ok(FileStorage { file })
    }

    /// Wraps an open file.
    ///
    /// ```
    /// use vhd::{FileStorage, Storage};
    /// # let path = std::env::temp_dir().join(format!("vhd-doc-{}-from-file", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let storage = FileStorage::from_file(std::fs::File::create(&path)?);
    /// storage.set_len(4096)?;
    /// assert_eq!(storage.len()?, 4096);
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_file(file: File) -> Self {
        FileStorage { file }
    }

    /// The file.
    ///
    /// ```
    /// use vhd::{FileStorage, Storage};
    /// # let path = std::env::temp_dir().join(format!("vhd-doc-{}-into-file", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let storage = FileStorage::create_new(&path)?;
    /// storage.write_all_at(b"abc", 0)?;
    /// let file = storage.into_file();
    /// assert_eq!(file.metadata()?.len(), 3);
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_file(self) -> File {
        self.file
    }
}

impl Storage for FileStorage {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        platform::read_exact_at(&self.file, buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        platform::write_all_at(&self.file, buf, offset)
    }

    fn len(&self) -> io::Result<u64> {
        let meta = self.file.metadata()?;
        if meta.is_file() {
            return Ok(meta.len());
        }
        // Block devices report no length in their metadata; their end does.
        use std::io::Seek;
        (&self.file).seek(io::SeekFrom::End(0))
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn flush(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// The lock an opening function takes (see [`FileStorage`]'s "Locks").
#[derive(Debug, Clone, Copy)]
enum Lock {
    Shared,
    Exclusive,
}

/// Takes `kind` of lock on `file` without waiting; a conflict is `ResourceBusy`, and a file
/// system that cannot lock leaves the file unlocked.
fn lock(file: &File, kind: Lock) -> io::Result<()> {
    let taken = match kind {
        Lock::Shared => file.try_lock_shared(),
        Lock::Exclusive => file.try_lock(),
    };
    match taken {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::ResourceBusy,
            match kind {
                Lock::Shared => {
                    "the file is locked by a writer (a server serving it, or a tool writing it)"
                }
                Lock::Exclusive => {
                    "the file is locked by another user (a server serving it, or a tool reading or writing it)"
                }
            },
        )),
        // A file system without locks (some FUSE and network ones): open it as qemu's
        // `locking=auto` does, without one.
        Err(std::fs::TryLockError::Error(_)) => Ok(()),
    }
}

#[cfg(unix)]
mod platform {
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;

    pub(super) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
        file.read_exact_at(buf, offset)
    }

    pub(super) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
        file.write_all_at(buf, offset)
    }
}

#[cfg(windows)]
mod platform {
    use std::fs::File;
    use std::io;
    use std::os::windows::fs::FileExt;

    pub(super) fn read_exact_at(
        file: &File,
        mut buf: &mut [u8],
        mut offset: u64,
    ) -> io::Result<()> {
        while !buf.is_empty() {
            match file.seek_read(buf, offset)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }

    pub(super) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match file.seek_write(buf, offset)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }
}

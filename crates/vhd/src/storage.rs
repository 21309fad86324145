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
    /// Opens an existing file read-only: the OS refuses every write, whatever the caller does.
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
    /// The OS's error for opening the file.
    pub fn open_read_only(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(FileStorage {
            file: File::open(path)?,
        })
    }

    /// Opens an existing file for reading and writing.
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
    /// The OS's error for opening the file.
    pub fn open_writable(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(FileStorage {
            file: File::options().read(true).write(true).open(path)?,
        })
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
        Ok(FileStorage {
            file: File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(path)?,
        })
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

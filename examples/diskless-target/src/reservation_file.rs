//! Persistent reservations kept through a restart (APTPL): each writable LUN's
//! [`scsi::ReservationStore`] is a file beside its disk, `DISK.pr`, replaced atomically and
//! synced before the PERSISTENT RESERVE OUT that changed it completes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::atomic_file::AtomicFile;

/// Where the reservations of the LUN served from `disk` are kept.
pub(crate) fn path_for(disk: &Path) -> PathBuf {
    let mut name = disk.as_os_str().to_os_string();
    name.push(".pr");
    PathBuf::from(name)
}

/// Removes the saved reservations of `disk`, if any: its disk was replaced (`client reset`)
/// or removed, and registrations made on the old disk must not come back.
pub(crate) fn forget(disk: &Path) -> Result<()> {
    let file = ReservationFile::for_disk(disk);
    scsi::ReservationStore::remove(&file)
        .with_context(|| format!("removing {}", file.path().display()))
}

/// One LUN's reservation file.
#[derive(Debug)]
pub(crate) struct ReservationFile {
    path: PathBuf,
}

impl ReservationFile {
    /// The store of the LUN served from `disk`.
    pub(crate) fn for_disk(disk: &Path) -> Self {
        ReservationFile {
            path: path_for(disk),
        }
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The saved image, if there is one.
    pub(crate) fn load(&self) -> Result<Option<Vec<u8>>> {
        match std::fs::read(&self.path) {
            Ok(image) => Ok(Some(image)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", self.path.display())),
        }
    }
}

/// Syncs the directory holding `path`, so that a rename or removal in it is durable.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()
}

impl scsi::ReservationStore for ReservationFile {
    fn save(&self, image: &[u8]) -> std::io::Result<()> {
        let file = AtomicFile::replacing(&self.path).map_err(std::io::Error::other)?;
        let mut out = std::fs::File::create(file.path())?;
        out.write_all(image)?;
        out.sync_all()?;
        drop(out);
        file.commit().map_err(std::io::Error::other)?;
        sync_parent(&self.path).inspect_err(|e| {
            eprintln!(
                "diskless-target: syncing the directory of {}: {e}",
                self.path.display()
            );
        })
    }

    fn remove(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => sync_parent(&self.path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scsi::ReservationStore;

    #[test]
    fn save_replaces_and_remove_deletes() {
        let dir = std::env::temp_dir().join(format!("dt-pr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let disk = dir.join("client.vhd");
        let store = ReservationFile::for_disk(&disk);
        assert_eq!(store.path(), dir.join("client.vhd.pr"));
        assert_eq!(store.load().unwrap(), None);
        store.save(b"one").unwrap();
        store.save(b"two").unwrap();
        assert_eq!(store.load().unwrap(), Some(b"two".to_vec()));
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        store.remove().unwrap();
        store.remove().unwrap();
        assert_eq!(store.load().unwrap(), None);
        store.save(b"three").unwrap();
        forget(&disk).unwrap();
        forget(&disk).unwrap();
        assert_eq!(store.load().unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

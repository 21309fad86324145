//! New files that appear whole or not at all: written under a temporary name in the same
//! directory and renamed into place only when complete.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A file being written at a temporary path; [`AtomicFile::commit`] renames it to its final
/// path, and dropping it uncommitted removes it.
pub(crate) struct AtomicFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
    /// Whether an existing file at the target is replaced ([`AtomicFile::replacing`]).
    replace: bool,
}

impl AtomicFile {
    /// Reserves `target` (which must not exist) and returns the temporary path to write.
    pub(crate) fn new(target: &Path) -> Result<Self> {
        if target.exists() {
            bail!(
                "{}: already exists (refusing to overwrite it)",
                target.display()
            );
        }
        AtomicFile::temp_for(target)
    }

    /// The handle for `target`, written under `.NAME.tmp-PID` beside it.
    fn temp_for(target: &Path) -> Result<Self> {
        let name = target
            .file_name()
            .with_context(|| format!("{}: not a file name", target.display()))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".tmp-{}", std::process::id()));
        let temp = target.with_file_name(temp_name);
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            bail!(
                "{}: the directory {} does not exist",
                target.display(),
                dir.display()
            );
        }
        Ok(AtomicFile {
            temp,
            target: target.to_path_buf(),
            committed: false,
            replace: false,
        })
    }

    /// Like [`AtomicFile::new`], but the commit replaces a regular file already at `target`
    /// (readers see the old file or the new one, never a mix).
    pub(crate) fn replacing(target: &Path) -> Result<Self> {
        if target.exists() && !target.is_file() {
            bail!("{}: exists and is not a regular file", target.display());
        }
        let mut file = AtomicFile::temp_for(target)?;
        file.replace = true;
        Ok(file)
    }

    /// Where to write.
    pub(crate) fn path(&self) -> &Path {
        &self.temp
    }

    /// Moves the finished file into place.
    pub(crate) fn commit(mut self) -> Result<()> {
        if !self.replace && self.target.exists() {
            bail!(
                "{}: appeared while it was being written",
                self.target.display()
            );
        }
        std::fs::rename(&self.temp, &self.target).with_context(|| {
            format!(
                "renaming {} to {}",
                self.temp.display(),
                self.target.display()
            )
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the temporary file may not have been created.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

//! `diskless-target golden set/merge`: the first phase of the seed (the golden image), and
//! re-baking one from a client that was prepared on purpose.
//!
//! `golden set PATH` copies the image into `STATE/golden/` and makes the copy read-only (mode
//! 0444), so that the state directory is self-contained and nothing edits the golden image
//! behind the clients' backs; `--reference` records PATH where it is instead (for images too
//! large to copy; keeping it unchanged is then the operator's job). Either way the server opens
//! it read-only. Clients keep the golden image they were made over; a new golden image is used
//! by clients added (or reset) afterwards.
//!
//! `golden merge CLIENT` never merges in place (a merge rewrites its parent, under every other
//! child of it): it copies the client's golden image, merges the client's disk into the copy,
//! gives the copy a new Unique Id (so that no child of the old image can ever be resolved
//! against it), makes it read-only, and renames it into place. `--activate` makes it the golden
//! image for new clients.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use vhd::{DiskType, FOOTER_LEN, OpenOptions};

use crate::atomic_file::AtomicFile;
use crate::state::{DEFAULT_STATE_DIR, StateDir};

/// `diskless-target golden …`.
#[derive(Debug, clap::Args)]
pub(crate) struct GoldenArgs {
    /// The state directory.
    #[arg(long, global = true, default_value = DEFAULT_STATE_DIR)]
    state: PathBuf,
    #[command(subcommand)]
    command: GoldenCommand,
}

#[derive(Debug, clap::Subcommand)]
enum GoldenCommand {
    /// Record the golden image new clients are made over (copied into STATE/golden/, read-only).
    Set {
        /// A fixed or dynamic VHD.
        path: PathBuf,
        /// Record PATH where it is instead of copying it (keep it unchanged yourself).
        #[arg(long)]
        reference: bool,
    },
    /// Re-bake: merge a client's disk into a copy of its golden image; prints the new image.
    Merge {
        /// The client whose disk holds the changes (it must not be logged in).
        client: String,
        /// Make the new image the golden image for clients added or reset from now on.
        #[arg(long)]
        activate: bool,
    },
}

/// Runs a `golden` command.
///
/// # Errors
/// A bad image, a client that is logged in, or a file that cannot be written.
pub(crate) fn run(args: GoldenArgs) -> Result<()> {
    let dir = StateDir::new(&args.state);
    match args.command {
        GoldenCommand::Set { path, reference } => {
            let golden = set(&dir, &path, reference)?;
            println!(
                "golden image: {} ({}); clients added from now on are made over it",
                golden.display(),
                if reference {
                    "referenced in place"
                } else {
                    "copied, read-only"
                }
            );
        }
        GoldenCommand::Merge { client, activate } => {
            dir.require()?;
            let golden = merge(&dir, &client, activate)?;
            println!("new golden image: {}", golden.display());
            if activate {
                println!(
                    "it is now the golden image: new clients, and clients you reset, are made \
                     over it; the others keep theirs"
                );
            } else {
                println!(
                    "to use it: `golden set --reference {}` (or run the merge with --activate)",
                    golden.display()
                );
            }
        }
    }
    Ok(())
}

/// A free path `STATE/golden/STEM.vhd`, `STEM-2.vhd`, ...
fn free_golden_path(dir: &StateDir, stem: &str) -> PathBuf {
    let golden = dir.root().join("golden");
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.vhd")
        } else {
            format!("{stem}-{n}.vhd")
        };
        let path = golden.join(name);
        if !path.exists() {
            return path;
        }
        n += 1;
    }
}

/// A file-name-safe stem of `path`.
fn stem_of(path: &Path) -> String {
    let stem: String = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "golden".to_string()
    } else {
        stem
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// Records `path` as the golden image; returns where it is now.
pub(crate) fn set(dir: &StateDir, path: &Path, reference: bool) -> Result<PathBuf> {
    let disk = vhd::open_file(path, OpenOptions::read_only())
        .with_context(|| format!("opening {} as a VHD", path.display()))?;
    if disk.disk_type() == DiskType::Differencing && !reference {
        bail!(
            "{} is a differencing disk: a golden image must stand alone (flatten it with \
             `diskless-target vhd convert {} golden.vhd --type dynamic`)",
            path.display(),
            path.display()
        );
    }
    drop(disk);
    let _lock = dir.lock()?;
    let mut state = dir.load()?;
    let golden = if reference {
        std::fs::canonicalize(path).with_context(|| path.display().to_string())?
    } else {
        let dest = free_golden_path(dir, &stem_of(path));
        let file = AtomicFile::new(&dest)?;
        std::fs::copy(path, file.path())
            .with_context(|| format!("copying {} to {}", path.display(), dest.display()))?;
        set_mode(file.path(), 0o444)?;
        file.commit()?;
        dest
    };
    state.golden = Some(dir.store(&golden));
    dir.save(&state)?;
    Ok(golden)
}

/// Merges client `name`'s disk into a copy of its golden image; returns the copy's path.
pub(crate) fn merge(dir: &StateDir, name: &str, activate: bool) -> Result<PathBuf> {
    let _lock = dir.lock()?;
    let mut state = dir.load()?;
    let entry = state.client(name)?.clone();
    dir.refuse_if_logged_in(name, "merge its disk", false)?;
    let golden = dir.resolve(&entry.golden);
    let child_path = dir.resolve(&entry.disk);
    let dest = free_golden_path(dir, &format!("{}+{name}", stem_of(&golden)));
    let file = AtomicFile::new(&dest)?;
    std::fs::copy(&golden, file.path())
        .with_context(|| format!("copying {} to {}", golden.display(), dest.display()))?;
    set_mode(file.path(), 0o644)?;
    {
        let mut parent = vhd::open_file(file.path(), OpenOptions::read_write())
            .with_context(|| format!("opening the copy {}", file.path().display()))?;
        // A running server keeps every client's disk open, with its write lock, logged in or
        // not. This client is not logged in (checked above), so nothing writes its disk: read
        // it without the lock then.
        let (storage, _) = crate::vhd_cmd::open_read_only_or_unlocked(&child_path)
            .with_context(|| format!("opening {}", child_path.display()))?;
        let child = vhd::Disk::open(storage, OpenOptions::read_only())
            .with_context(|| format!("opening {}", child_path.display()))?;
        let stats = vhd::merge(&child, &mut parent, &mut |_, _| {}).with_context(|| {
            format!(
                "merging {} into a copy of {}",
                child_path.display(),
                golden.display()
            )
        })?;
        parent.flush().context("flushing the new golden image")?;
        eprintln!(
            "diskless-target: merged {} bytes in {} blocks of {}",
            stats.bytes_copied,
            stats.blocks,
            child_path.display()
        );
    }
    new_unique_id(file.path())?;
    set_mode(file.path(), 0o444)?;
    file.commit()?;
    if activate {
        state.golden = Some(dir.store(&dest));
        dir.save(&state)?;
    }
    Ok(dest)
}

/// Gives the VHD at `path` a new random Unique Id, in its footer and (for dynamic and
/// differencing disks) the footer's copy at offset 0.
pub(crate) fn new_unique_id(path: &Path) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let len = f.metadata()?.len();
    if len < FOOTER_LEN as u64 {
        bail!("{}: too short for a VHD", path.display());
    }
    let mut footer = [0u8; FOOTER_LEN];
    f.seek(SeekFrom::Start(len - FOOTER_LEN as u64))?;
    f.read_exact(&mut footer)?;
    let mut head = [0u8; FOOTER_LEN];
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(&mut head)?;
    if &footer[..8] != b"conectix" {
        bail!("{}: no VHD footer at the end", path.display());
    }
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
    id[6] = (id[6] & 0x0f) | 0x40; // version 4
    id[8] = (id[8] & 0x3f) | 0x80; // RFC 4122 variant
    let mut new = footer;
    new[68..84].copy_from_slice(&id);
    let sum = vhd::checksum(&new, 64);
    new[64..68].copy_from_slice(&sum.to_be_bytes());
    vhd::Footer::parse(&new, len - FOOTER_LEN as u64)
        .with_context(|| format!("{}: the rewritten footer", path.display()))?;
    f.seek(SeekFrom::Start(len - FOOTER_LEN as u64))?;
    f.write_all(&new)?;
    if head == footer && len > FOOTER_LEN as u64 {
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&new)?;
    }
    f.sync_all()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ClientEntry, State};
    use vhd::VhdBuilder;

    #[test]
    fn set_copies_read_only_and_merge_rebakes_a_copy() {
        let root = std::env::temp_dir().join(format!("dt-golden-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let src = root.join("src.vhd");
        let mut g = VhdBuilder::dynamic(4 << 20)
            .create(vhd::FileStorage::create_new(&src).unwrap())
            .unwrap();
        g.write_at(&[0xaa; 4096], 0).unwrap();
        g.flush().unwrap();
        drop(g);
        let dir = StateDir::new(&root.join("state"));
        let golden = set(&dir, &src, false).unwrap();
        assert_eq!(golden, dir.root().join("golden/src.vhd"));
        assert_eq!(
            std::fs::metadata(&golden).unwrap().permissions().mode() & 0o777,
            0o444
        );
        let before = std::fs::read(&golden).unwrap();
        let entry = crate::client_cmd::add(
            &dir,
            ClientEntry {
                name: "a".into(),
                mac: "52:54:00:00:00:01".into(),
                target: crate::state::default_target("a"),
                initiator: "iqn.2026-12.org.example:a".into(),
                disk: PathBuf::new(),
                golden: PathBuf::new(),
                server: "10.0.2.2".into(),
                port: 3260,
                revision: 0,
                chap: None,
                mutual_chap: None,
            },
        )
        .unwrap();
        let mut d = vhd::open_file(dir.resolve(&entry.disk), OpenOptions::read_write()).unwrap();
        d.write_at(&[0x55; 512], 512).unwrap();
        d.flush().unwrap();
        drop(d);
        let baked = merge(&dir, "a", false).unwrap();
        assert_eq!(baked, dir.root().join("golden/src+a.vhd"));
        assert_eq!(std::fs::read(&golden).unwrap(), before, "never in place");
        let old = vhd::open_file(&golden, OpenOptions::read_only()).unwrap();
        let new = vhd::open_file(&baked, OpenOptions::read_only()).unwrap();
        assert_ne!(old.footer().unique_id, new.footer().unique_id);
        let mut buf = [0u8; 1024];
        new.read_at(&mut buf, 0).unwrap();
        assert_eq!(&buf[..512], &[0xaa; 512]);
        assert_eq!(&buf[512..], &[0x55; 512]);
        let state: State = dir.load().unwrap();
        assert_eq!(state.golden, Some(PathBuf::from("golden/src.vhd")));
        let again = merge(&dir, "a", true).unwrap();
        assert_eq!(again, dir.root().join("golden/src+a-2.vhd"));
        assert_eq!(
            dir.load().unwrap().golden,
            Some(PathBuf::from("golden/src+a-2.vhd"))
        );
        // A reset now makes the client over the new image.
        let reset = crate::client_cmd::reset(&dir, "a", false).unwrap();
        assert_eq!(reset.golden, PathBuf::from("golden/src+a-2.vhd"));
        let _ = std::fs::remove_dir_all(&root);
    }
}

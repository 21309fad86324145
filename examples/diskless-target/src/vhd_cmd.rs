//! `diskless-target vhd …`: VHD images from the command line, with the feel of `qemu-img`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use vhd::{
    Disk, ErrorKind, FileStorage, FsResolver, OpenOptions, ParentDisk, ParentRef, RawFile,
    Severity, Storage, VhdBuilder,
};

use crate::atomic_file::AtomicFile;
use crate::progress::Progress;
use crate::size::{human, parse_size};

/// The `vhd` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum VhdCommand {
    /// Create a new disk (written under a temporary name and renamed when complete).
    Create {
        /// fixed, dynamic or differencing.
        #[arg(long = "type", value_enum)]
        disk_type: DiskArg,
        /// The parent of a differencing disk.
        #[arg(long, required_if_eq("disk_type", "differencing"))]
        parent: Option<PathBuf>,
        /// Block size of a dynamic or differencing disk (default 2M).
        #[arg(long, value_parser = parse_size)]
        block_size: Option<u64>,
        /// Round the size up to a CHS geometry, as qemu-img does (default: exact size).
        #[arg(long)]
        chs: bool,
        /// The new file.
        path: PathBuf,
        /// Virtual size, e.g. 20G (a differencing disk takes its parent's).
        #[arg(value_parser = parse_size)]
        size: Option<u64>,
    },
    /// Show a disk and its parent chain: types, sizes, allocation.
    Info {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The disk.
        path: PathBuf,
    },
    /// Check a disk's structures; exit 0 if clean, 2 on errors, 3 on leaked space only.
    Check {
        /// Repair what can be repaired safely.
        #[arg(long)]
        repair: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The disk.
        path: PathBuf,
    },
    /// Commit a differencing disk into its parent (re-baking a golden image).
    Merge {
        /// The differencing disk.
        child: PathBuf,
    },
    /// Copy a disk into a new file of another type (raw, fixed, dynamic, differencing).
    Convert {
        /// The source: a VHD (with its chain) or a raw image.
        src: PathBuf,
        /// The new file.
        dst: PathBuf,
        /// The output type.
        #[arg(long = "type", value_enum)]
        out_type: OutArg,
        /// The parent of a differencing output: only sectors that differ from it are stored.
        #[arg(long, required_if_eq("out_type", "differencing"))]
        parent: Option<PathBuf>,
        /// Block size of a dynamic or differencing output (default 2M).
        #[arg(long, value_parser = parse_size)]
        block_size: Option<u64>,
    },
}

/// Disk types as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiskArg {
    /// Raw data followed by a footer.
    Fixed,
    /// Allocated as written; unwritten sectors read as zero.
    Dynamic,
    /// Over a parent disk; unwritten sectors read from the parent.
    Differencing,
}

/// Output types of `convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutArg {
    /// A plain raw image.
    Raw,
    /// A fixed VHD.
    Fixed,
    /// A dynamic VHD.
    Dynamic,
    /// A differencing VHD over `--parent`.
    Differencing,
}

/// Runs a `vhd` subcommand.
pub(crate) fn run(cmd: VhdCommand) -> Result<ExitCode> {
    match cmd {
        VhdCommand::Create {
            disk_type,
            parent,
            block_size,
            chs,
            path,
            size,
        } => create(disk_type, parent.as_deref(), block_size, chs, &path, size)?,
        VhdCommand::Info { json, path } => info(&path, json)?,
        VhdCommand::Check { repair, json, path } => return check(&path, repair, json),
        VhdCommand::Merge { child } => merge(&child)?,
        VhdCommand::Convert {
            src,
            dst,
            out_type,
            parent,
            block_size,
        } => convert(&src, &dst, out_type, parent.as_deref(), block_size)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A `--type` value as the user types it (`dynamic`), not as Rust spells it.
fn arg_name(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

fn at(path: &Path) -> String {
    path.display().to_string()
}

/// Opens a disk read-only with its whole parent chain.
fn open_chain(path: &Path) -> Result<Disk<FileStorage>> {
    vhd::open_file(path, OpenOptions::read_only()).map_err(|e| with_hint(e, path))
}

/// `e` in the context of `path`, with what to do when the file is damaged.
fn with_hint(e: vhd::Error, path: &Path) -> anyhow::Error {
    let damaged = e.kind() == ErrorKind::Corrupt;
    let e = anyhow::Error::new(e).context(at(path));
    if damaged {
        e.context(format!(
            "{} is damaged; `diskless-target vhd check --repair {}` repairs what can be repaired",
            at(path),
            at(path)
        ))
    } else {
        e
    }
}

fn block_size_arg(builder: VhdBuilder, block_size: Option<u64>) -> Result<VhdBuilder> {
    Ok(match block_size {
        Some(bs) => builder.block_size(u32::try_from(bs).context("--block-size is too large")?),
        None => builder,
    })
}

fn differencing_builder(
    parent_path: &Path,
    child_path: &Path,
) -> Result<(VhdBuilder, Disk<FileStorage>)> {
    let parent = open_chain(parent_path)?;
    let link = vhd::ParentLink::for_files(&parent, parent_path, child_path)
        .with_context(|| format!("{}: linking to parent {}", at(child_path), at(parent_path)))?;
    Ok((VhdBuilder::differencing(link), parent))
}

fn create(
    disk_type: DiskArg,
    parent: Option<&Path>,
    block_size: Option<u64>,
    chs: bool,
    path: &Path,
    size: Option<u64>,
) -> Result<()> {
    let builder = match (disk_type, size, parent) {
        (DiskArg::Fixed, Some(size), None) => VhdBuilder::fixed(size),
        (DiskArg::Dynamic, Some(size), None) => VhdBuilder::dynamic(size),
        (DiskArg::Differencing, None, Some(parent_path)) => {
            differencing_builder(parent_path, path)?.0
        }
        (DiskArg::Differencing, Some(_), _) => {
            bail!("a differencing disk takes its parent's size; do not give SIZE")
        }
        (_, None, _) => bail!("SIZE is required for a {} disk", arg_name(disk_type)),
        (_, Some(_), Some(_)) => bail!("--parent is only for differencing disks"),
    };
    let builder = block_size_arg(builder, block_size)?.round_to_chs(chs);
    let file = AtomicFile::new(path)?;
    let storage = FileStorage::create_new(file.path()).with_context(|| at(file.path()))?;
    let disk = builder.create(storage).with_context(|| at(path))?;
    disk.flush().with_context(|| at(path))?;
    let (kind, size) = (disk.disk_type(), disk.size());
    drop(disk);
    file.commit()?;
    println!("created {} ({kind}, {})", path.display(), human(size));
    Ok(())
}

/// What `vhd info` shows about one disk of a chain.
#[derive(Debug, Serialize)]
struct DiskInfo {
    path: String,
    #[serde(rename = "type")]
    disk_type: String,
    virtual_size: u64,
    file_size: u64,
    unique_id: String,
    creator: String,
    created_unix: u64,
    geometry: [u64; 3],
    original_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allocated_blocks: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<ParentInfo>,
}

#[derive(Debug, Serialize)]
struct ParentInfo {
    name: String,
    unique_id: String,
    locators: Vec<LocatorInfo>,
    /// Where the parent was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    found_at: Option<String>,
    /// Why it was not found.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_found: Option<String>,
}

#[derive(Debug, Serialize)]
struct LocatorInfo {
    platform: String,
    path: String,
}

fn disk_info(path: &Path, disk: &Disk<FileStorage>) -> Result<(DiskInfo, Option<PathBuf>)> {
    let f = disk.footer();
    let file_size = disk.storage().len().with_context(|| at(path))?;
    let mut next = None;
    let parent = match ParentRef::of(disk, path).with_context(|| at(path))? {
        None => None,
        Some(link) => {
            let (found_at, not_found) = match vhd::find_parent_with_path(&link, &mut FsResolver) {
                Ok((parent_path, _)) => {
                    next = Some(parent_path.clone());
                    (Some(at(&parent_path)), None)
                }
                Err(e) => (None, Some(e.to_string())),
            };
            Some(ParentInfo {
                name: link.name.clone(),
                unique_id: link.unique_id.to_string(),
                locators: link
                    .locators
                    .iter()
                    .map(|(platform, p)| LocatorInfo {
                        platform: format!("{platform:?}"),
                        path: p.clone(),
                    })
                    .collect(),
                found_at,
                not_found,
            })
        }
    };
    let info = DiskInfo {
        path: at(path),
        disk_type: disk.disk_type().to_string(),
        virtual_size: disk.size(),
        file_size,
        unique_id: f.unique_id.to_string(),
        creator: String::from_utf8_lossy(&f.creator_app)
            .trim_end_matches(['\0', ' '])
            .to_string(),
        created_unix: f.timestamp.to_unix(),
        geometry: [
            f.geometry.cylinders.into(),
            f.geometry.heads.into(),
            f.geometry.sectors.into(),
        ],
        original_size: f.original_size,
        block_size: disk.block_size(),
        allocated_blocks: disk.block_size().map(|_| disk.allocated_blocks()),
        parent,
    };
    Ok((info, next))
}

/// Opens `path` read-only: with a shared lock if it can; if a writer holds the file (a running
/// server), without one. The flag says whether it is locked.
pub(crate) fn open_read_only_or_unlocked(path: &Path) -> std::io::Result<(FileStorage, bool)> {
    match FileStorage::open_read_only(path) {
        Err(e) if e.kind() == std::io::ErrorKind::ResourceBusy => {
            Ok((FileStorage::open_unlocked(path)?, false))
        }
        r => r.map(|storage| (storage, true)),
    }
}

/// Opens `path` to look at it (`info`, `check` without `--repair`), saying so when a writer
/// holds it and it is read without a lock.
fn open_to_inspect(path: &Path) -> Result<FileStorage> {
    let (storage, locked) = open_read_only_or_unlocked(path).with_context(|| at(path))?;
    if !locked {
        eprintln!(
            "warning: {} is open for writing elsewhere (a running server?): reading it \
             without a lock, so it may change while it is read",
            path.display()
        );
    }
    Ok(storage)
}

/// The disk at `path` and each parent up its chain.
fn chain_info(path: &Path) -> Result<Vec<DiskInfo>> {
    let mut chain = Vec::new();
    let mut current = Some(path.to_path_buf());
    while let Some(p) = current.take() {
        if chain.len() > vhd::MAX_CHAIN_DEPTH {
            bail!(
                "{}: parent chain is deeper than {}",
                at(path),
                vhd::MAX_CHAIN_DEPTH
            );
        }
        let disk = Disk::open(open_to_inspect(&p)?, OpenOptions::read_only())
            .map_err(|e| with_hint(e, &p))?;
        let (info, next) = disk_info(&p, &disk)?;
        chain.push(info);
        current = next;
    }
    Ok(chain)
}

fn info(path: &Path, json: bool) -> Result<()> {
    let chain = chain_info(path)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&chain)?);
        return Ok(());
    }
    for (depth, info) in chain.iter().enumerate() {
        if depth > 0 {
            println!();
            println!("parent (level {depth}):");
        }
        println!("image: {}", info.path);
        println!("type: {}", info.disk_type);
        println!(
            "virtual size: {} ({} bytes)",
            human(info.virtual_size),
            info.virtual_size
        );
        println!(
            "file size: {} ({} bytes)",
            human(info.file_size),
            info.file_size
        );
        if let (Some(bs), Some(n)) = (info.block_size, info.allocated_blocks) {
            let total = info.virtual_size.div_ceil(bs);
            println!("block size: {}", human(bs));
            println!("allocated: {n} of {total} blocks ({})", human(n * bs));
        }
        println!("unique id: {}", info.unique_id);
        println!("creator: {:?}", info.creator);
        let [c, h, s] = info.geometry;
        println!("geometry: {c}/{h}/{s} (C/H/S)");
        if let Some(p) = &info.parent {
            println!("parent name: {} (unique id {})", p.name, p.unique_id);
            for l in &p.locators {
                println!("  locator {}: {}", l.platform, l.path);
            }
            if let Some(found) = &p.found_at {
                println!("  found at: {found}");
            }
            if let Some(why) = &p.not_found {
                println!("  NOT FOUND: {why}");
            }
        }
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct CheckJson {
    path: String,
    clean: bool,
    problems: Vec<ProblemJson>,
    repairs: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ProblemJson {
    severity: String,
    offset: Option<u64>,
    message: String,
}

fn check(path: &Path, repair: bool, json: bool) -> Result<ExitCode> {
    let storage = if repair {
        FileStorage::open_writable(path).with_context(|| at(path))?
    } else {
        open_to_inspect(path)?
    };
    let (report, repairs) = if repair {
        let r = vhd::repair(&storage).with_context(|| at(path))?;
        (
            r.after,
            r.actions
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
        )
    } else {
        (vhd::check(&storage).with_context(|| at(path))?, Vec::new())
    };
    let severity = report.problems.iter().map(|p| p.severity()).max();
    if json {
        let out = CheckJson {
            path: at(path),
            clean: report.is_clean(),
            problems: report
                .problems
                .iter()
                .map(|p| ProblemJson {
                    severity: p.severity().to_string(),
                    offset: p.offset(),
                    message: p.to_string(),
                })
                .collect(),
            repairs,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for action in &repairs {
            println!("{}: repaired: {action}", path.display());
        }
        for p in &report.problems {
            // The position, unless the message already gives it.
            let message = p.to_string();
            let offset = p
                .offset()
                .filter(|o| !message.contains(&format!("byte {o}")))
                .map(|o| format!(" (byte {o})"))
                .unwrap_or_default();
            println!("{}: {}: {message}{offset}", path.display(), p.severity());
        }
        if report.is_clean() {
            println!("{}: no errors found", path.display());
        } else if !report.is_repairable() {
            println!(
                "{}: errors that cannot be repaired automatically",
                path.display()
            );
        } else if !repair {
            println!("{}: run `vhd check --repair` to fix", path.display());
        }
    }
    Ok(match severity {
        Some(Severity::Error) => ExitCode::from(2),
        Some(Severity::Leak) => ExitCode::from(3),
        _ => ExitCode::SUCCESS,
    })
}

fn merge(child_path: &Path) -> Result<()> {
    // Alone, not with its chain: the chain would hold a shared lock on the parent, which is
    // opened for writing below (a merge reads only the child's own sectors).
    let storage = FileStorage::open_read_only(child_path).with_context(|| at(child_path))?;
    let child = Disk::open(storage, OpenOptions::read_only()).with_context(|| at(child_path))?;
    let link = ParentRef::of(&child, child_path)
        .with_context(|| at(child_path))?
        .with_context(|| format!("{}: not a differencing disk", at(child_path)))?;
    let (parent_path, _) =
        vhd::find_parent_with_path(&link, &mut FsResolver).with_context(|| at(child_path))?;
    let mut parent = vhd::open_file(&parent_path, OpenOptions::read_write())
        .with_context(|| format!("{} (opening for writing)", at(&parent_path)))?;
    let mut bar = Progress::new("merging");
    let stats = vhd::merge(&child, &mut parent, &mut |done, total| {
        bar.update(done, total)
    })
    .with_context(|| format!("merging {} into {}", at(child_path), at(&parent_path)))?;
    println!(
        "merged {} into {}: {} in {} blocks",
        child_path.display(),
        parent_path.display(),
        human(stats.bytes_copied),
        stats.blocks
    );
    eprintln!(
        "warning: {} changed under every other disk made from it, and {} now duplicates it; \
         recreate them",
        parent_path.display(),
        child_path.display()
    );
    Ok(())
}

/// Opens `src` as a VHD with its chain, or as a raw image if it is not a VHD.
fn open_source(src: &Path) -> Result<Arc<dyn ParentDisk>> {
    match vhd::open_file(src, OpenOptions::read_only()) {
        Ok(disk) => Ok(Arc::new(disk)),
        Err(e) if e.kind() == ErrorKind::InvalidFormat => {
            Ok(Arc::new(RawFile::open(src).with_context(|| at(src))?))
        }
        Err(e) => Err(e).with_context(|| at(src)),
    }
}

fn convert(
    src: &Path,
    dst: &Path,
    out_type: OutArg,
    parent: Option<&Path>,
    block_size: Option<u64>,
) -> Result<()> {
    let source = open_source(src)?;
    let file = AtomicFile::new(dst)?;
    let mut bar = Progress::new("converting");
    let mut progress = |done, total| bar.update(done, total);
    if out_type == OutArg::Raw {
        let out = FileStorage::create_new(file.path()).with_context(|| at(file.path()))?;
        vhd::to_raw(source.as_ref(), &out, &mut progress).with_context(|| at(dst))?;
        out.flush().with_context(|| at(dst))?;
    } else {
        let size = source.size().next_multiple_of(512);
        if size != source.size() {
            eprintln!(
                "note: {} is {} bytes, not a whole number of 512-byte sectors: the disk is {size} \
                 bytes, the last sector padded with zeros",
                src.display(),
                source.size()
            );
        }
        let (builder, parent_disk) = match (out_type, parent) {
            (OutArg::Fixed, None) => (VhdBuilder::fixed(size), None),
            (OutArg::Dynamic, None) => (VhdBuilder::dynamic(size), None),
            (OutArg::Differencing, Some(p)) => {
                let (builder, disk) = differencing_builder(p, dst)?;
                (builder, Some(Arc::new(disk) as Arc<dyn ParentDisk>))
            }
            (_, Some(_)) => bail!("--parent is only for differencing output"),
            (_, None) => bail!("differencing output needs --parent"),
        };
        let builder = block_size_arg(builder, block_size)?;
        let out = FileStorage::create_new(file.path()).with_context(|| at(file.path()))?;
        let disk = vhd::convert(source.as_ref(), builder, out, parent_disk, &mut progress)
            .with_context(|| format!("converting {} to {}", at(src), at(dst)))?;
        disk.flush().with_context(|| at(dst))?;
    }
    file.commit()?;
    println!(
        "converted {} to {} ({})",
        src.display(),
        dst.display(),
        arg_name(out_type)
    );
    Ok(())
}

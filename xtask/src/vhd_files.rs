//! VHD files for the target checks, made with the binary's own `diskless-target vhd …` commands (so xtask
//! needs no VHD code of its own), and read back with libvhdi, which this project did not write.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::Ctx;
use crate::lab::build_ours;

/// Runs `diskless-target vhd ARGS`.
fn vhd(ctx: &Ctx, args: &[&std::ffi::OsStr]) -> Result<()> {
    let bin = build_ours(ctx, false)?;
    let out = Command::new(&bin)
        .arg("vhd")
        .args(args)
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    ensure!(
        out.status.success(),
        "diskless-target vhd {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Creates an empty dynamic VHD of `size` (e.g. `1G`).
pub(crate) fn create_dynamic(ctx: &Ctx, path: &Path, size: &str) -> Result<()> {
    vhd(
        ctx,
        &[
            "create".as_ref(),
            "--type".as_ref(),
            "dynamic".as_ref(),
            path.as_os_str(),
            size.as_ref(),
        ],
    )
}

/// Creates a differencing VHD `child` over `parent`.
pub(crate) fn create_child(ctx: &Ctx, parent: &Path, child: &Path) -> Result<()> {
    vhd(
        ctx,
        &[
            "create".as_ref(),
            "--type".as_ref(),
            "differencing".as_ref(),
            "--parent".as_ref(),
            parent.as_os_str(),
            child.as_os_str(),
        ],
    )
}

/// Converts a raw image into a dynamic VHD (the golden image of the boot checks).
pub(crate) fn convert_raw(ctx: &Ctx, raw: &Path, out: &Path) -> Result<()> {
    vhd(
        ctx,
        &[
            "convert".as_ref(),
            raw.as_os_str(),
            out.as_os_str(),
            "--type".as_ref(),
            "dynamic".as_ref(),
        ],
    )
}

/// Reads `len` bytes at `offset` of `child` (a differencing VHD whose parent is `parent`) with libvhdi
/// (Debian's python3-libvhdi).
pub(crate) fn libvhdi_read(
    child: &Path,
    parent: &Path,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>> {
    const SCRIPT: &str = "import sys, pyvhdi
parent = pyvhdi.file(); parent.open(sys.argv[1])
child = pyvhdi.file(); child.open(sys.argv[2])
child.set_parent(parent)
sys.stdout.buffer.write(child.read_buffer_at_offset(int(sys.argv[4]), int(sys.argv[3])))
";
    let out = Command::new(crate::interop::DEBIAN_PYTHON)
        .args(["-c", SCRIPT])
        .arg(parent)
        .arg(child)
        .arg(offset.to_string())
        .arg(len.to_string())
        .output()
        .context("running python3 with pyvhdi")?;
    ensure!(
        out.status.success(),
        "libvhdi could not read {}: {}",
        child.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        out.stdout.len() == len,
        "libvhdi returned {} bytes, not {len}",
        out.stdout.len()
    );
    Ok(out.stdout)
}

//! The probe boot sector (`xtask/data/probe-mbr.asm`) and the golden disk it expects.
//!
//! The probe is what a diskless client runs once iPXE has `sanboot`ed it from the target: it reads through
//! to the golden image, writes a stamp naming the client (its MAC, taken from the iBFT) to LBA 2, reads it
//! back, and prints the iBFT as hex on the serial port. See the assembly source for the exit codes.
//! Reusable for any number of clients and for comparing iBFTs.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::Ctx;

/// The magic the probe checks at the start of LBA 1.
pub(crate) const GOLDEN_MAGIC: &[u8] = b"GOLDEN-IMAGE";
/// What LBA 2 of the golden image starts with.
pub(crate) const GOLDEN_DATA: &[u8] = b"GOLDEN-DATA";
/// The start of the stamp a client writes to LBA 2.
pub(crate) const STAMP_PREFIX: &str = "CLIENT-WRT:";
/// The sector size.
pub(crate) const SECTOR: usize = 512;

/// QEMU's exit status when every check of the probe passed.
pub(crate) const EXIT_OK: i32 = 33;

/// What a QEMU exit status from the probe means.
pub(crate) fn explain_exit(status: Option<i32>) -> &'static str {
    match status {
        Some(33) => "booted, read the golden data, wrote and read back its stamp",
        Some(35) => "a disk read failed",
        Some(37) => "no golden magic at LBA 1",
        Some(39) => "LBA 2 holds another client's data",
        Some(41) => "the write failed",
        Some(43) => "the read-back differs from what was written",
        Some(45) => "no iBFT in memory",
        Some(_) => "QEMU exited before the probe finished (no boot, or a refused login)",
        None => "timed out or was stopped",
    }
}

/// Assembles the probe with nasm into `work/probe-mbr.bin` and returns the sector.
pub(crate) fn assemble(ctx: &Ctx, work: &Path) -> Result<Vec<u8>> {
    let src = ctx.root.join("xtask/data/probe-mbr.asm");
    let out = work.join("probe-mbr.bin");
    let status = Command::new("nasm")
        .args(["-f", "bin"])
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .context("running nasm")?;
    ensure!(status.success(), "nasm failed on {}", src.display());
    let mbr = fs::read(&out)?;
    ensure!(
        mbr.len() == SECTOR && mbr[510..] == [0x55, 0xaa],
        "{} is not a boot sector",
        out.display()
    );
    Ok(mbr)
}

/// The golden disk: the probe as MBR, the magic at LBA 1, the golden data at LBA 2, and every later
/// sector filled with its own LBA (big-endian u32 words `lba, word index`), so that any read identifies
/// where it came from.
pub(crate) fn golden_disk(mbr: &[u8], size: usize) -> Result<Vec<u8>> {
    if mbr.len() != SECTOR || size < 16 * SECTOR || !size.is_multiple_of(SECTOR) {
        bail!("bad probe disk parameters");
    }
    let mut disk = vec![0u8; size];
    disk[..SECTOR].copy_from_slice(mbr);
    for (lba, sector) in disk.chunks_exact_mut(SECTOR).enumerate().skip(1) {
        for (i, word) in sector.chunks_exact_mut(8).enumerate() {
            word[..4].copy_from_slice(&(lba as u32).to_be_bytes());
            word[4..].copy_from_slice(&(i as u32).to_be_bytes());
        }
    }
    disk[SECTOR..SECTOR + GOLDEN_MAGIC.len()].copy_from_slice(GOLDEN_MAGIC);
    disk[2 * SECTOR..2 * SECTOR + GOLDEN_DATA.len()].copy_from_slice(GOLDEN_DATA);
    Ok(disk)
}

/// The stamp the probe writes for a client with `mac` (`52:54:00:12:34:56`).
pub(crate) fn stamp_for(mac: &str) -> String {
    let hex: String = mac
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    format!("{STAMP_PREFIX}{hex}")
}

/// What the probe printed on the serial port.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ProbeOutput {
    /// The progress words it got to (`MBR-OK`, `IBFT-OK`, `READ-OK`, `WRITE-OK`).
    pub(crate) progress: Vec<String>,
    /// The stamp it wrote.
    pub(crate) stamp: Option<String>,
    /// The iBFT it found.
    pub(crate) ibft: Option<Vec<u8>>,
}

/// Reads the probe's lines out of a serial log (QEMU's console escapes and carriage returns removed).
pub(crate) fn parse_serial(log: &str) -> ProbeOutput {
    let mut out = ProbeOutput::default();
    for line in log.split(['\n', '\r']) {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{1b}');
        for word in ["MBR-OK", "IBFT-OK", "READ-OK", "WRITE-OK"] {
            if line.contains(word) && !out.progress.iter().any(|w| w == word) {
                out.progress.push(word.to_owned());
            }
        }
        if let Some(stamp) = line.strip_prefix("STAMP:") {
            out.stamp = Some(stamp.trim().to_owned());
        }
        if let Some(hex) = line.strip_prefix("IBFT:") {
            out.ibft = decode_hex(hex.trim());
        }
    }
    out
}

/// Decodes upper- or lower-case hex; `None` if malformed.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_disk_has_magic_data_and_labelled_sectors() {
        let mut mbr = vec![0u8; SECTOR];
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        let disk = golden_disk(&mbr, 64 * SECTOR).unwrap();
        assert_eq!(&disk[510..512], &[0x55, 0xaa]);
        assert_eq!(&disk[SECTOR..SECTOR + 12], GOLDEN_MAGIC);
        assert_eq!(&disk[2 * SECTOR..2 * SECTOR + 11], GOLDEN_DATA);
        assert_eq!(
            &disk[5 * SECTOR + 8..5 * SECTOR + 16],
            &[0, 0, 0, 5, 0, 0, 0, 1]
        );
        assert!(golden_disk(&mbr, 100).is_err());
    }

    #[test]
    fn parses_the_probe_serial_output() {
        let log = "\u{1b}[2JiPXE...\r\nMBR-OK IBFT-OK READ-OK WRITE-OK\r\n\
                   STAMP:CLIENT-WRT:525400123456\r\nIBFT:69424654ab\r\n";
        let out = parse_serial(log);
        assert_eq!(out.progress, ["MBR-OK", "IBFT-OK", "READ-OK", "WRITE-OK"]);
        assert_eq!(out.stamp.as_deref(), Some("CLIENT-WRT:525400123456"));
        assert_eq!(out.ibft, Some(vec![0x69, 0x42, 0x46, 0x54, 0xab]));
        assert_eq!(stamp_for("52:54:00:12:34:56"), "CLIENT-WRT:525400123456");
        assert_eq!(parse_serial("IBFT:abc").ibft, None);
    }
}

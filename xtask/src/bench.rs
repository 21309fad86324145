//! `cargo xtask bench`: `diskless-target` and tgt side by side, in one run, on the same data.
//!
//! tgt serves a raw file; ours serves a differencing VHD over a golden VHD that holds the same bytes (the
//! diskless deployment's layout). Each load runs against tgt, then ours, [`ROUNDS`] times, and the best
//! round of each counts:
//!
//! * 4 KiB random reads at queue depth 32: `iscsi-perf -m 32 -b 8 -r` (IOPS);
//! * 1 MiB sequential reads and writes, queue depth 8: `qemu-img bench -s 1M` (`-w` for writes) (MiB/s).
//!
//! The table gives our/tgt ratios. It is a measurement, not an assertion: both targets and the load
//! generators share this machine's cores, so the numbers move with whatever else runs.

use std::fmt::Write as _;
use std::fs;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::Ctx;
use crate::lab::{Lun, LunFile, Server, ServerKind, Setup, TargetNode};
use crate::vhd_files;

/// Size of the benchmarked disk.
const DISK_BYTES: u64 = 512 << 20;
/// Rounds per load and target; the best counts.
const ROUNDS: usize = 3;
/// Seconds per iscsi-perf run.
const PERF_SECS: &str = "5";
/// The initiator name iscsi-perf logs in with.
const PERF_INITIATOR: &str = "iqn.2026-11.test.bench:iscsi-perf";
/// 1 MiB requests per qemu-img bench run.
const SEQ_COUNT: &str = "2048";

/// One load: a name, its unit and how to run it against a URL.
struct Load {
    name: &'static str,
    unit: &'static str,
    run: fn(&str) -> Result<f64>,
}

/// The loads, in table order.
const LOADS: &[Load] = &[
    Load {
        name: "4 KiB random read, QD32 (iscsi-perf)",
        unit: "IOPS",
        run: iscsi_perf,
    },
    Load {
        name: "1 MiB sequential read, QD8 (qemu-img bench)",
        unit: "MiB/s",
        run: seq_read,
    },
    Load {
        name: "1 MiB sequential write, QD8 (qemu-img bench -w)",
        unit: "MiB/s",
        run: seq_write,
    },
];

/// Runs a load generator and returns its combined output.
fn output(program: &str, args: &[&str]) -> Result<String> {
    let (ok, text) = crate::report::output_within(120, program, args)?;
    ensure!(ok, "{program} {} failed:\n{text}", args.join(" "));
    Ok(text)
}

/// `iscsi-perf … -r`: the final `iops average N`.
fn iscsi_perf(url: &str) -> Result<f64> {
    let args = [
        "-i",
        PERF_INITIATOR,
        "-m",
        "32",
        "-b",
        "8",
        "-r",
        "-t",
        PERF_SECS,
        url,
    ];
    let text = output("iscsi-perf", &args)?;
    parse_iops(&text).with_context(|| format!("no IOPS in iscsi-perf's output:\n{text}"))
}

/// The last `iops average N` of iscsi-perf's output.
fn parse_iops(text: &str) -> Option<f64> {
    text.rsplit("iops average ")
        .next()
        .filter(|_| text.contains("iops average "))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `qemu-img bench`: MiB/s from `Run completed in S seconds.`
fn qemu_img_bench(url: &str, write: bool) -> Result<f64> {
    let mut args = vec!["bench", "-f", "raw", "-c", SEQ_COUNT, "-d", "8", "-s", "1M"];
    if write {
        args.push("-w");
    }
    args.push(url);
    let text = output("qemu-img", &args)?;
    let secs = parse_completed(&text)
        .with_context(|| format!("no time in qemu-img bench's output:\n{text}"))?;
    let mib: f64 = SEQ_COUNT.parse()?;
    Ok(mib / secs)
}

/// The seconds of `Run completed in S seconds.`
fn parse_completed(text: &str) -> Option<f64> {
    let rest = text.split("Run completed in ").nth(1)?;
    rest.split_whitespace()
        .next()?
        .parse()
        .ok()
        .filter(|s: &f64| *s > 0.0)
}

fn seq_read(url: &str) -> Result<f64> {
    qemu_img_bench(url, false)
}

fn seq_write(url: &str) -> Result<f64> {
    qemu_img_bench(url, true)
}

/// `cargo xtask bench`.
pub(crate) fn bench_command(ctx: &Ctx) -> Result<ExitCode> {
    let tmp = ctx.sh.create_temp_dir()?;
    let work = tmp.path();
    // The same bytes for both, all of them written (no sparse range that a VHD reads as
    // zeros without touching the file): each 8-byte word holds its own index.
    let raw = work.join("golden.img");
    let mut data = vec![0u8; DISK_BYTES as usize];
    for (i, word) in data.chunks_exact_mut(8).enumerate() {
        word.copy_from_slice(&(i as u64).to_be_bytes());
    }
    fs::write(&raw, &data)?;
    drop(data);
    let golden = work.join("golden.vhd");
    let child = work.join("client.vhd");
    vhd_files::convert_raw(ctx, &raw, &golden)?;
    vhd_files::create_child(ctx, &golden, &child)?;
    let tgt_file = work.join("tgt.img");
    fs::copy(&raw, &tgt_file)?;

    let node = |path, file| TargetNode {
        name: "bench".into(),
        iqn: "iqn.2026-11.test.bench:disk".into(),
        initiators: vec![PERF_INITIATOR.into(), "iqn.2008-11.org.linux-kvm".into()],
        chap: None,
        mutual_chap: None,
        lun: Lun {
            path,
            file,
            read_only: false,
        },
    };
    let ours_setup = Setup {
        golden: Some(golden.clone()),
        targets: vec![node(child.clone(), LunFile::Vhd)],
    };
    let tgt_setup = Setup {
        golden: None,
        targets: vec![node(tgt_file, LunFile::Raw)],
    };
    let ours = Server::start_release(ctx, work, &ours_setup)?;
    let tgt = Server::start(ctx, ServerKind::Tgt, work, &tgt_setup)?;
    let iqn = &ours_setup.targets[0].iqn;
    let urls = [(tgt.url(iqn, None), "tgt"), (ours.url(iqn, None), "ours")];

    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:<48} {:>12} {:>12} {:>9}",
        "load (best of 3, same data)", "tgt", "ours", "ours/tgt"
    );
    for load in LOADS {
        let mut best = [0.0f64; 2];
        for round in 0..ROUNDS {
            for (i, (url, who)) in urls.iter().enumerate() {
                let value =
                    (load.run)(url).with_context(|| format!("{} against {who}", load.name))?;
                eprintln!(
                    "xtask: bench: {} round {}: {who} {value:.0} {}",
                    load.name,
                    round + 1,
                    load.unit
                );
                best[i] = best[i].max(value);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = writeln!(
            table,
            "{:<48} {:>12} {:>12} {:>9.2}",
            load.name,
            format!("{:.0} {}", best[0], load.unit),
            format!("{:.0} {}", best[1], load.unit),
            best[1] / best[0]
        );
    }
    let ours_log = ours.daemon.log_text();
    ours.stop()?;
    tgt.stop()?;
    if ours_log.contains("panicked") {
        eprintln!("xtask: bench: the server panicked:\n{ours_log}");
        return Ok(ExitCode::FAILURE);
    }
    println!("{table}");
    crate::testcu::write_report(&crate::testcu::report_path(ctx, "bench-latest.txt"), &table);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_load_generator_output() {
        let perf = "00:00:01 - lba 1, iops current 50578 (197 MB/s), iops average 51197 (199 MB/s), \
                    in_flight 32        iops average 50504 (197 MB/s)   \n\nfinished.\n";
        assert_eq!(parse_iops(perf), Some(50504.0));
        assert_eq!(parse_iops("nothing"), None);
        let bench =
            "Sending 300 read requests, 1048576 bytes each\nRun completed in 0.193 seconds.\n";
        assert_eq!(parse_completed(bench), Some(0.193));
        assert_eq!(parse_completed("Run completed in 0 seconds."), None);
    }
}

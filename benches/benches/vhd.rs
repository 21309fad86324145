//! Criterion benches of `vhd` reads and writes on files: 4 KiB random and 64 KiB sequential reads
//! through a fixed disk, a dynamic disk and a two-level differencing chain, each against a plain
//! file read (`pread`) in the same run; and 4 KiB writes, allocating (the first write into a
//! block of a dynamic disk) and overwriting (into allocated blocks), against a plain `pwrite` and
//! a `pwrite` + `fdatasync`.
//!
//! The images are 256 MiB files in `CARGO_TARGET_TMPDIR`, generated at the start of each run with
//! pseudo-random data (they stay in the page cache, so the reads measure the code and the
//! syscalls, not the device):
//!
//! - `fixed.vhd`: a fixed disk;
//! - `golden.vhd`: a dynamic disk with 2 MiB blocks, every block written (the `dynamic` case);
//! - `mid.vhd`: a differencing disk over `golden.vhd`, 30 % of its 4 KiB granules written;
//! - `leaf.vhd`: a differencing disk over `mid.vhd`, 10 % of its granules written (the `chain`
//!   case: reads are served by all three files);
//! - `mid_extents.vhd` and `leaf_extents.vhd`: the same shares written as 64 KiB extents at
//!   random 4 KiB-aligned offsets, as a guest's file system writes (the `chain_extents` case);
//! - `plain.raw`: the bytes the chain reads, as a raw file (the `plain` case, and
//!   `plain_offset512`: the same reads 512 bytes further, as misaligned as a VHD block's data,
//!   which follows a one-sector bitmap).

//! - the `*_cached` cases: the leaves opened again over a [`CachedParent`] of their middle layer
//!   (with the golden image beneath), as a server shares a cached parent between its clients:
//!   `chain_cached` and `chain_extents_cached` with a budget that holds the whole parent,
//!   `chain_cached_quarter` with a quarter of it.
//!
//! After the Criterion groups, the read cases run again interleaved (every case 20 ms per round,
//! 40 rounds) and print their median rounds and ratios to `plain`: on a busy machine these
//! same-round ratios hold better than Criterion's per-case medians.
//!
//! Run with `cargo bench -p benches --bench vhd`; the figures of the reference machine are in
//! `benches/README.md`.

use std::fs::File;
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use vhd::{
    CacheOptions, CachedParent, Disk, FileStorage, OpenOptions, ParentLink, VhdBuilder, VhdTime,
};

/// Virtual size of every image.
const SIZE: u64 = 256 << 20;
/// Block size of the dynamic and differencing disks (the default, and what Hyper-V writes).
const BLOCK: u64 = 2 << 20;
/// The copy-up granule: the unit in which the chain's layers were written.
const GRANULE: u64 = vhd::COPY_UP_GRANULE;
/// Share of granules written in the middle and the leaf layer, in per mille.
const MID_PER_MILLE: u64 = 300;
/// See [`MID_PER_MILLE`].
const LEAF_PER_MILLE: u64 = 100;
/// Size of a random read.
const RANDOM_READ: usize = 4096;
/// Size of a sequential read.
const SEQUENTIAL_READ: usize = 64 << 10;
/// Size of the disk that `overwrite` writes into (every block allocated).
const OVERWRITE_SIZE: u64 = 64 << 20;
/// Granules per write of the `chain_extents` layers (64 KiB).
const EXTENT_GRANULES: u64 = 16;
/// Budget of the `*_cached` cases' parent cache: the whole parent (what the leaf reads through
/// it), plus room for the shards' rounding.
const CACHE_BUDGET: u64 = SIZE + (8 << 20);
/// Budget of the `chain_cached_quarter` case: a quarter of the parent.
const QUARTER_BUDGET: u64 = SIZE / 4;

/// xorshift64: deterministic, fast, good enough to scatter offsets and fill images.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let x = self.next().to_le_bytes();
            chunk.copy_from_slice(&x[..chunk.len()]);
        }
    }

    /// A random `align`-aligned offset of a `len`-byte access within `size`.
    fn offset(&mut self, size: u64, align: u64) -> u64 {
        self.next() % (size / align) * align
    }
}

/// The images of one run, open for reading, and the directory that holds them.
struct Images {
    dir: PathBuf,
    plain: File,
    fixed: Disk<FileStorage>,
    golden: Arc<Disk<FileStorage>>,
    chain: Disk<FileStorage>,
    chain_extents: Disk<FileStorage>,
    /// The leaf of `chain` again, its parent (`mid.vhd` over `golden.vhd`) behind a
    /// [`CachedParent`] that holds all of it.
    chain_cached: Disk<FileStorage>,
    /// The same over `mid_extents.vhd`.
    chain_extents_cached: Disk<FileStorage>,
    /// `chain_cached` with a cache of a quarter of the parent.
    chain_cached_quarter: Disk<FileStorage>,
    /// The caches of the three cases above, for their counters.
    caches: Vec<(&'static str, Arc<CachedParent>)>,
}

impl Drop for Images {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn create(path: &Path) -> FileStorage {
    FileStorage::create_new(path).expect("a new image file")
}

fn open_read_only(path: &Path) -> FileStorage {
    FileStorage::open_read_only(path).expect("the image just written")
}

/// What a chain's layers hold: the bytes a read returns, and which layer each granule comes
/// from (0 for the golden image).
struct View {
    bytes: Vec<u8>,
    sources: Vec<u8>,
}

impl View {
    /// The share of granules that `level` serves.
    fn share(&self, level: u8) -> f64 {
        let n = self.sources.iter().filter(|&&s| s == level).count();
        n as f64 / self.sources.len() as f64
    }

    /// The mean number of runs of granules from one layer in an aligned read of `len` bytes:
    /// the `pread`s that the read costs (a run never crosses a block, as reads are aligned).
    fn runs_per_read(&self, len: u64) -> f64 {
        let windows = self.sources.chunks((len / GRANULE) as usize);
        let n = windows.len();
        let runs: usize = windows
            .map(|w| 1 + w.windows(2).filter(|p| p[0] != p[1]).count())
            .sum();
        runs as f64 / n as f64
    }
}

/// A differencing disk at `path` over `parent`, with about `per_mille`/1000 of its granules
/// written (random contents, also applied to `view` as coming from `level`), in writes of
/// `extent` granules: each `extent`-granule slot is written with that probability, shifted by
/// a random number of granules.
fn differencing_layer(
    path: &Path,
    parent: Arc<Disk<FileStorage>>,
    (level, per_mille, extent): (u8, u64, u64),
    rng: &mut Rng,
    view: &mut View,
) -> Arc<Disk<FileStorage>> {
    let link = ParentLink {
        unique_id: parent.footer().unique_id,
        size: SIZE,
        timestamp: VhdTime(0),
        name: "parent.vhd".into(),
        absolute_path: None,
        relative_path: None,
    };
    let mut disk = VhdBuilder::differencing(link)
        .create(create(path))
        .expect("a differencing disk");
    disk.attach_parent(parent.clone()).expect("its parent");
    let mut data = vec![0u8; (extent * GRANULE) as usize];
    for slot in 0..SIZE / GRANULE / extent {
        if rng.next() % 1000 < per_mille {
            let shift = if extent > 1 { rng.next() % extent } else { 0 };
            let at = (slot * extent + shift) * GRANULE;
            let len = data.len().min((SIZE - at) as usize);
            rng.fill(&mut data[..len]);
            disk.write_at(&data[..len], at).expect("a write");
            view.bytes[at as usize..at as usize + len].copy_from_slice(&data[..len]);
            let g = (at / GRANULE) as usize;
            view.sources[g..g + len / GRANULE as usize].fill(level);
        }
    }
    disk.flush().expect("flush");
    drop(disk);
    let reopened = Disk::open_with_parent(open_read_only(path), OpenOptions::read_only(), parent);
    Arc::new(reopened.expect("the layer reopens"))
}

/// Writes the images into a fresh directory and opens them.
fn images() -> Images {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vhd-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let started = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut view = vec![0u8; SIZE as usize];
    rng.fill(&mut view);

    let mut fixed = VhdBuilder::fixed(SIZE)
        .create(create(&dir.join("fixed.vhd")))
        .expect("a fixed disk");
    let mut golden = VhdBuilder::dynamic(SIZE)
        .block_size(BLOCK as u32)
        .create(create(&dir.join("golden.vhd")))
        .expect("a dynamic disk");
    for (i, block) in view.chunks(BLOCK as usize).enumerate() {
        fixed
            .write_at(block, i as u64 * BLOCK)
            .expect("fixed write");
        golden
            .write_at(block, i as u64 * BLOCK)
            .expect("dynamic write");
    }
    fixed.flush().expect("flush");
    golden.flush().expect("flush");
    drop((fixed, golden));
    let fixed = Disk::open(
        open_read_only(&dir.join("fixed.vhd")),
        OpenOptions::read_only(),
    );
    let golden = Disk::open(
        open_read_only(&dir.join("golden.vhd")),
        OpenOptions::read_only(),
    );
    let golden = Arc::new(golden.expect("the dynamic disk reopens"));
    assert_eq!(golden.allocated_blocks(), SIZE / BLOCK);

    let layers = |name: &str, extent, rng: &mut Rng| {
        let mut view = View {
            bytes: view.clone(),
            sources: vec![0; (SIZE / GRANULE) as usize],
        };
        let mid_path = dir.join(format!("mid{name}.vhd"));
        let mid = (1, MID_PER_MILLE, extent);
        let mid = differencing_layer(&mid_path, golden.clone(), mid, rng, &mut view);
        let leaf_path = dir.join(format!("leaf{name}.vhd"));
        let leaf = (2, LEAF_PER_MILLE, extent);
        let leaf = differencing_layer(&leaf_path, mid.clone(), leaf, rng, &mut view);
        let leaf = Arc::into_inner(leaf).expect("only the bench holds the leaf");
        // The fixture is what it claims: the chain reads as the bytes written through it.
        let mut buf = vec![0u8; 16 << 20];
        for at in (0..SIZE).step_by(buf.len()) {
            leaf.read_at(&mut buf, at).expect("a chain read");
            assert!(
                buf[..] == view.bytes[at as usize..at as usize + buf.len()],
                "the chain differs from what was written at {at}"
            );
        }
        eprintln!(
            "chain{name}: {:.1} % of granules from the leaf, {:.1} % from the middle, {:.1} % \
             from the golden image; a 64 KiB read is {:.2} runs (preads)",
            100.0 * view.share(2),
            100.0 * view.share(1),
            100.0 * view.share(0),
            view.runs_per_read(SEQUENTIAL_READ as u64),
        );
        (leaf, mid, leaf_path, view.bytes)
    };
    let (chain, mid, leaf_path, view) = layers("", 1, &mut rng);
    let (chain_extents, mid_extents, leaf_extents_path, _) =
        layers("_extents", EXTENT_GRANULES, &mut rng);
    // The same leaves over a cache of their parent (the middle layer with the golden image
    // beneath): what a server does for a parent shared by every client.
    let cached = |leaf_path: &Path, mid: &Arc<Disk<FileStorage>>, budget| {
        let cache = CachedParent::new(mid.clone(), CacheOptions::with_budget(budget));
        let cache = Arc::new(cache.expect("a read-only parent"));
        let leaf = Disk::open_with_parent(
            open_read_only(leaf_path),
            OpenOptions::read_only(),
            cache.clone(),
        );
        (leaf.expect("the leaf reopens"), cache)
    };
    let (chain_cached, cache) = cached(&leaf_path, &mid, CACHE_BUDGET);
    cold_and_warm(&chain_cached, &cache, &view);
    let (chain_extents_cached, cache_extents) =
        cached(&leaf_extents_path, &mid_extents, CACHE_BUDGET);
    let (chain_cached_quarter, cache_quarter) = cached(&leaf_path, &mid, QUARTER_BUDGET);

    let plain_path = dir.join("plain.raw");
    let plain = File::create_new(&plain_path).expect("the plain file");
    plain.write_all_at(&view, 0).expect("the plain file");
    // Write everything back now, so that the device is idle during the measurements.
    plain.sync_data().expect("fdatasync");
    drop(plain);
    let plain = File::open(&plain_path).expect("the plain file");
    eprintln!(
        "vhd bench images written to {} in {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Images {
        dir,
        plain,
        fixed: fixed.expect("the fixed disk reopens"),
        golden,
        chain,
        chain_extents,
        chain_cached,
        chain_extents_cached,
        chain_cached_quarter,
        caches: vec![
            ("chain_cached", cache),
            ("chain_extents_cached", cache_extents),
            ("chain_cached_quarter", cache_quarter),
        ],
    }
}

/// Reads `disk` (the leaf over `cache`) once from end to end in 64 KiB reads with the cache
/// cold, then again warm, checking the bytes against `view`, and prints the time per read of
/// each pass: what the first client to boot pays, and what the next ones pay.
fn cold_and_warm(disk: &Disk<FileStorage>, cache: &CachedParent, view: &[u8]) {
    let mut buf = vec![0u8; SEQUENTIAL_READ];
    let mut pass = || {
        let started = Instant::now();
        for at in (0..SIZE).step_by(SEQUENTIAL_READ) {
            disk.read_at(&mut buf, at).expect("a cached chain read");
            assert!(buf[..] == view[at as usize..at as usize + SEQUENTIAL_READ]);
        }
        started.elapsed().as_secs_f64() * 1e6 / (SIZE / SEQUENTIAL_READ as u64) as f64
    };
    let cold = pass();
    let warm = pass();
    let stats = cache.stats();
    eprintln!(
        "chain_cached, one pass of 64 KiB reads (with the check): cold {cold:.2} µs per read, \
         warm {warm:.2} µs; cache {} MiB held, {} misses, {} hits",
        stats.resident >> 20,
        stats.misses,
        stats.hits,
    );
}

/// The read of one case: `buf.len()` bytes at an offset.
type ReadFn<'a> = Box<dyn Fn(&mut [u8], u64) + 'a>;

/// The read cases, `plain` first; `VHD_BENCH_CASES=a,b` keeps only `plain` and the cases named
/// (to profile one case, or for a shorter interleaved pass).
fn cases(images: &Images) -> Vec<(&'static str, ReadFn<'_>)> {
    let mut all = all_cases(images);
    if let Ok(only) = std::env::var("VHD_BENCH_CASES") {
        all.retain(|(name, _)| *name == "plain" || only.split(',').any(|o| o == *name));
    }
    all
}

fn all_cases(images: &Images) -> Vec<(&'static str, ReadFn<'_>)> {
    vec![
        (
            "plain",
            Box::new(|buf: &mut [u8], at| images.plain.read_exact_at(buf, at).expect("pread")),
        ),
        (
            "plain_offset512",
            Box::new(|buf: &mut [u8], at| {
                let at = (at + 512).min(SIZE - buf.len() as u64);
                images.plain.read_exact_at(buf, at).expect("pread");
            }),
        ),
        (
            "fixed",
            Box::new(|buf: &mut [u8], at| images.fixed.read_at(buf, at).expect("fixed read")),
        ),
        (
            "dynamic",
            Box::new(|buf: &mut [u8], at| images.golden.read_at(buf, at).expect("dynamic read")),
        ),
        (
            "chain",
            Box::new(|buf: &mut [u8], at| images.chain.read_at(buf, at).expect("chain read")),
        ),
        (
            "chain_extents",
            Box::new(|buf: &mut [u8], at| {
                images.chain_extents.read_at(buf, at).expect("chain read");
            }),
        ),
        (
            "chain_cached",
            Box::new(|buf: &mut [u8], at| {
                images.chain_cached.read_at(buf, at).expect("chain read");
            }),
        ),
        (
            "chain_extents_cached",
            Box::new(|buf: &mut [u8], at| {
                images
                    .chain_extents_cached
                    .read_at(buf, at)
                    .expect("chain read");
            }),
        ),
        (
            "chain_cached_quarter",
            Box::new(|buf: &mut [u8], at| {
                images
                    .chain_cached_quarter
                    .read_at(buf, at)
                    .expect("chain read");
            }),
        ),
    ]
}

fn reads(c: &mut Criterion, images: &Images) {
    let mut group = c.benchmark_group("vhd_read_4KiB_random");
    group.throughput(Throughput::Bytes(RANDOM_READ as u64));
    for (name, read) in cases(images) {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            let mut rng = Rng(0x2545_f491_4f6c_dd1d);
            let mut buf = vec![0u8; RANDOM_READ];
            b.iter(|| {
                read(&mut buf, rng.offset(SIZE, RANDOM_READ as u64));
                black_box(&buf);
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("vhd_read_64KiB_sequential");
    group.throughput(Throughput::Bytes(SEQUENTIAL_READ as u64));
    for (name, read) in cases(images) {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            let mut at = 0u64;
            let mut buf = vec![0u8; SEQUENTIAL_READ];
            b.iter(|| {
                read(&mut buf, at);
                black_box(&buf);
                at = (at + SEQUENTIAL_READ as u64) % SIZE;
            });
        });
    }
    group.finish();
    for (name, cache) in &images.caches {
        let stats = cache.stats();
        eprintln!(
            "{name}: cache of {} MiB holds {} MiB, {:.1} % hits ({} misses)",
            stats.capacity >> 20,
            stats.resident >> 20,
            100.0 * stats.hit_ratio(),
            stats.misses,
        );
    }
}

/// Rounds of [`interleaved`].
const ROUNDS: usize = 40;
/// Time each case runs in one round of [`interleaved`].
const SLICE: Duration = Duration::from_millis(20);

/// The read cases again, interleaved: `ROUNDS` rounds in which every case runs for `SLICE`,
/// then the median of each case's rounds and its ratio to `plain`'s. Other load on the
/// machine moves every case of a round alike, so these ratios hold better than those of
/// Criterion's groups, where each case runs in its own few seconds.
fn interleaved(images: &Images) {
    for (group, len, random) in [
        ("4KiB_random", RANDOM_READ, true),
        ("64KiB_sequential", SEQUENTIAL_READ, false),
    ] {
        let cases = cases(images);
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
        let mut state: Vec<(Rng, u64)> = cases
            .iter()
            .map(|_| (Rng(0x2545_f491_4f6c_dd1d), 0))
            .collect();
        let mut buf = vec![0u8; len];
        // Warm every case first (the caches of the `*_cached` cases fill here if Criterion's
        // groups did not run): one pass over the disk in 64 KiB reads.
        let mut whole = vec![0u8; SEQUENTIAL_READ];
        for (_, read) in &cases {
            for at in (0..SIZE).step_by(SEQUENTIAL_READ) {
                read(&mut whole, at);
            }
        }
        for _ in 0..ROUNDS {
            for (i, (_, read)) in cases.iter().enumerate() {
                let (rng, at) = &mut state[i];
                let started = Instant::now();
                let mut n = 0u32;
                while started.elapsed() < SLICE {
                    for _ in 0..64 {
                        let offset = if random {
                            rng.offset(SIZE, len as u64)
                        } else {
                            *at = (*at + len as u64) % SIZE;
                            *at
                        };
                        read(&mut buf, offset);
                        black_box(&buf);
                    }
                    n += 64;
                }
                times[i].push(started.elapsed().as_secs_f64() * 1e9 / f64::from(n));
            }
        }
        let medians: Vec<f64> = times
            .iter_mut()
            .map(|t| {
                t.sort_by(f64::total_cmp);
                t[t.len() / 2]
            })
            .collect();
        for ((name, _), median) in cases.iter().zip(&medians) {
            eprintln!(
                "interleaved {group}/{name}: {median:.0} ns, {:.1} % of plain",
                100.0 * medians[0] / median
            );
        }
    }
}

fn writes(c: &mut Criterion, dir: &Path) {
    let mut group = c.benchmark_group("vhd_write_4KiB");
    group.throughput(Throughput::Bytes(4096));
    let data = {
        let mut d = vec![0u8; 4096];
        Rng(7).fill(&mut d);
        d
    };

    // Both files are first filled in 4 KiB writes: how a file was written decides the size of
    // the page cache's folios, and ext4 walks every buffer of a folio on each partial write, so
    // a file written in 2 MiB pieces makes every later 4 KiB pwrite several times slower.
    let fill = vec![0x5au8; 4096];

    // Plain pwrite, for reference.
    let plain_path = dir.join("write.raw");
    let plain = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&plain_path)
        .expect("a plain file");
    for at in (0..OVERWRITE_SIZE).step_by(fill.len()) {
        plain.write_all_at(&fill, at).expect("fill");
    }
    plain.sync_data().expect("fdatasync");
    group.bench_function("plain", |b| {
        let mut rng = Rng(11);
        b.iter(|| {
            let at = rng.offset(OVERWRITE_SIZE, 4096);
            plain.write_all_at(&data, at).expect("pwrite");
        });
    });

    // Overwrites: into a dynamic disk whose every block is allocated.
    let path = dir.join("overwrite.vhd");
    let mut disk = VhdBuilder::dynamic(OVERWRITE_SIZE)
        .block_size(BLOCK as u32)
        .create(create(&path))
        .expect("a dynamic disk");
    for at in (0..OVERWRITE_SIZE).step_by(fill.len()) {
        disk.write_at(&fill, at).expect("fill");
    }
    disk.flush().expect("flush");
    group.bench_function("overwrite", |b| {
        let mut rng = Rng(13);
        b.iter(|| {
            let at = rng.offset(OVERWRITE_SIZE, 4096);
            disk.write_at(&data, at).expect("overwrite");
        });
    });
    drop(disk);

    // The flushing cases take tens of microseconds each.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    // What one flush costs: a plain pwrite then fdatasync.
    group.bench_function("plain_fdatasync", |b| {
        let mut rng = Rng(17);
        b.iter(|| {
            let at = rng.offset(OVERWRITE_SIZE, 4096);
            plain.write_all_at(&data, at).expect("pwrite");
            plain.sync_data().expect("fdatasync");
        });
    });
    // First writes: each allocates a 2 MiB block of a fresh dynamic disk (footer write, flush,
    // bitmap and data writes, flush, BAT entry). Only the writes are timed; each sample gets a
    // new disk with as many blocks as it has iterations.
    let path = dir.join("first-write.vhd");
    group.bench_function("first_write", |b| {
        b.iter_custom(|iters| {
            let _ = std::fs::remove_file(&path);
            let mut disk = VhdBuilder::dynamic(iters.max(1) * BLOCK)
                .block_size(BLOCK as u32)
                .create(create(&path))
                .expect("a dynamic disk");
            let started = Instant::now();
            for i in 0..iters {
                disk.write_at(&data, i * BLOCK).expect("first write");
            }
            started.elapsed()
        });
    });
    let _ = std::fs::remove_file(&path);
    group.finish();
}

/// Runs every group. Written out rather than with `criterion_group!`, whose `pub fn` cannot carry
/// the doc comment the workspace's `missing_docs` lint asks for.
fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    let images = images();
    reads(&mut c, &images);
    interleaved(&images);
    // `VHD_BENCH_READS_ONLY=1` skips the writes' setup too (for profiling the reads).
    if std::env::var_os("VHD_BENCH_READS_ONLY").is_none() {
        writes(&mut c, &images.dir);
    }
    drop(images);
    c.final_summary();
}

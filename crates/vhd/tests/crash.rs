//! Crash safety of block allocation: every write index of several allocation-heavy scenarios
//! is a crash point.
//!
//! [`CrashStorage`] records every storage operation (write, set_len, flush) of a scenario run
//! once; the file after a crash before write `k` is rebuilt by replaying a prefix of that log
//! onto the freshly created image, under these models of power loss:
//!
//! * **stop**: writes `0..k` persist, `k..` are lost (the storage persists in order);
//! * **torn**: as *stop*, plus a 512-byte-aligned prefix of write `k` (its first sector, and
//!   all but its last sector);
//! * **lose-unflushed**: only the state as of the last flush before write `k` persists;
//! * **reorder**: the state of the last flush plus write `k` alone, as a storage that
//!   reorders the writes between two flushes (a disk cache) may leave it;
//! * **fail** (no crash): operation `k` (writes, set_len and flushes) returns an I/O error;
//!   the disk operation must fail with `Error::Io`, the file must reopen valid right after the
//!   failure, and when the process carries on with the same `Disk`, every later write must
//!   read back after a reopen.
//!
//! For each state: `Disk::open` must succeed, or `check` must report only repairable problems
//! (leaked space, and non-zero data behind clear bits of a dynamic disk) and `repair` must make
//! it open read-write; `check` is clean after the repair; whatever the disk reads (before and
//! after the repair) must, byte for byte, be a value that byte held at some moment since the
//! last completed `flush()` (under *stop* and *torn*, since the start of the write in flight):
//! never garbage, another block's data or old footer bytes; the repaired disk takes a new write
//! that survives a reopen; and a parent is never written.
//!
//! Two findings of this sweep in `disk.rs`, since fixed, keep a minimal reproduction each:
//! `failed_bitmap_write_loses_later_flushed_writes` (with `failure_then_carry_on_16k`) and
//! `copied_up_data_is_flushed_before_its_bitmap_bits` (with `reorder_differencing_16k`).
//! Scenarios with 4 KiB blocks never update a bitmap in place (a block is one copy-up
//! granule), so they pass every model.
//!
//! Scenarios with 64 KiB blocks allocate with 4 KiB-aligned data (padding before each block).
//! The `*_discard` scenarios mix in `Disk::discard`: whole blocks of a dynamic disk released
//! (a BAT entry cleared) and written again, partial ranges zeroed; released space checks as
//! `UnusedSpace` (a warning) or, at the end of the file, leaked space.
//!
//! `interrupted_repair_completes` sweeps the writes of `repair` itself the same way.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use vhd::*;

const SIZE: u64 = 256 << 10;
const SECTOR: usize = 512;

/// One storage operation, as the disk layer issued it.
#[derive(Debug, Clone)]
enum Op {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
    Flush,
}

impl Op {
    fn apply(&self, bytes: &mut Vec<u8>) {
        match self {
            Op::Write { offset, data } => {
                let start = *offset as usize;
                if bytes.len() < start + data.len() {
                    bytes.resize(start + data.len(), 0);
                }
                bytes[start..start + data.len()].copy_from_slice(data);
            }
            Op::SetLen(len) => bytes.resize(*len as usize, 0),
            Op::Flush => {}
        }
    }

    fn is_write(&self) -> bool {
        !matches!(self, Op::Flush)
    }
}

#[derive(Debug, Default)]
struct Inner {
    bytes: Vec<u8>,
    /// Every operation that succeeded, in order.
    log: Vec<Op>,
    /// Operations issued so far, failed ones included.
    issued: usize,
    /// The operation (counting writes, set_len and flushes) that fails.
    fail_at: Option<usize>,
}

/// Storage over a byte vector that records every mutating operation and flush, and can be
/// told to fail one of them.
#[derive(Debug, Default)]
struct CrashStorage(Mutex<Inner>);

impl CrashStorage {
    fn new(bytes: Vec<u8>, fail_at: Option<usize>) -> Arc<Self> {
        Arc::new(CrashStorage(Mutex::new(Inner {
            bytes,
            fail_at,
            ..Inner::default()
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bytes(&self) -> Vec<u8> {
        self.lock().bytes.clone()
    }

    fn log(&self) -> Vec<Op> {
        self.lock().log.clone()
    }

    fn log_len(&self) -> usize {
        self.lock().log.len()
    }

    fn failed(&self) -> bool {
        let s = self.lock();
        s.fail_at.is_some_and(|at| at < s.issued)
    }

    fn issue(&self, op: Op) -> io::Result<()> {
        let mut s = self.lock();
        let index = s.issued;
        s.issued += 1;
        if s.fail_at == Some(index) {
            return Err(io::Error::other(format!(
                "injected failure of operation {index}"
            )));
        }
        op.apply(&mut s.bytes);
        s.log.push(op);
        Ok(())
    }
}

impl Storage for CrashStorage {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let s = self.lock();
        let start = offset as usize;
        let src = s
            .bytes
            .get(start..start + buf.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.issue(Op::Write {
            offset,
            data: buf.to_vec(),
        })
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.lock().bytes.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.issue(Op::SetLen(len))
    }

    fn flush(&self) -> io::Result<()> {
        self.issue(Op::Flush)
    }
}

/// xorshift64*: deterministic test data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        // Never zero: a zero byte cannot be told from an unwritten one.
        (0..n).map(|_| (self.next() >> 56) as u8 | 1).collect()
    }
}

#[derive(Debug, Clone)]
enum UserOp {
    Write(u64, Vec<u8>),
    /// `Disk::discard(offset, len)`: the range reads as zeros.
    Discard(u64, u64),
    Flush,
}

impl UserOp {
    /// Runs the operation on `disk`.
    fn run<S: Storage>(&self, disk: &mut Disk<S>) -> vhd::Result<()> {
        match self {
            UserOp::Write(offset, data) => disk.write_at(data, *offset),
            UserOp::Discard(offset, len) => disk.discard(*offset, *len),
            UserOp::Flush => disk.flush(),
        }
    }

    /// Applies the operation to the virtual disk's bytes.
    fn apply(&self, model: &mut [u8]) {
        match self {
            UserOp::Write(offset, data) => {
                model[*offset as usize..][..data.len()].copy_from_slice(data);
            }
            UserOp::Discard(offset, len) => model[*offset as usize..][..*len as usize].fill(0),
            UserOp::Flush => {}
        }
    }

    fn describe(&self) -> String {
        match self {
            UserOp::Write(o, d) => format!("write {} bytes at {o}", d.len()),
            UserOp::Discard(o, n) => format!("discard {n} bytes at {o}"),
            UserOp::Flush => "flush".into(),
        }
    }
}

struct Parent {
    disk: Arc<Disk<MemStorage>>,
    /// The parent file's bytes, which must never change.
    file: Vec<u8>,
    contents: Vec<u8>,
}

struct Scenario {
    name: &'static str,
    block_size: u32,
    parent: Option<Parent>,
    ops: Vec<UserOp>,
}

impl Scenario {
    fn new(name: &'static str, block_size: u32, differencing: bool, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let parent = differencing.then(|| parent(&mut rng));
        let bs = u64::from(block_size);
        // `(offset, len)` of a write; `None` for a flush.
        let mut plan: Vec<Option<(u64, u64)>> = vec![
            // Allocating whole blocks, partial granules (read-modify-write), across blocks.
            Some((0, 4096)),
            Some((10_000, 100)),
            Some((bs * 2 - 2, bs + 5000)),
            None,
            // Into allocated blocks: the written granule, then other granules of the block.
            Some((10_050, 10)),
            Some((5000, 10)),
            Some((bs + 9000, 3000)),
            Some((100_000, 9000)),
            None,
            // Overwrites.
            Some((5000, 10)),
            Some((0, 4096)),
            Some((200_000, 1)),
            None,
        ];
        // Random writes, a flush now and then.
        for _ in 0..40 {
            let offset = rng.below(SIZE);
            let max = if rng.below(3) == 0 { 20_000 } else { 3000 };
            plan.push(Some((offset, 1 + rng.below((SIZE - offset).min(max)))));
            if rng.below(3) == 0 {
                plan.push(None);
            }
        }
        // The end of the disk; unflushed writes last.
        plan.extend([
            Some((SIZE - 12_144, 12_144)),
            None,
            Some((5000, 10)),
            Some((bs * 2 - 2, 4)),
            Some((150_000, 7000)),
        ]);
        let ops = plan
            .into_iter()
            .map(|w| match w {
                Some((offset, len)) => UserOp::Write(offset, rng.bytes(len as usize)),
                None => UserOp::Flush,
            })
            .collect();
        Scenario {
            name,
            block_size,
            parent,
            ops,
        }
    }

    /// The same scenario with discards mixed in: whole blocks (released in a dynamic disk,
    /// then written again), partial blocks, the disk's last block, and random ranges.
    fn with_discards(mut self, name: &'static str) -> Self {
        let bs = u64::from(self.block_size);
        let mut rng = Rng(0x5eed ^ bs);
        let mut ops = self.ops[..13].to_vec();
        ops.extend([
            UserOp::Discard(bs, bs),
            UserOp::Write(bs + 100, rng.bytes(50)),
            UserOp::Flush,
            UserOp::Discard(3000, bs),
            UserOp::Discard(0, 3 * bs),
            UserOp::Flush,
            UserOp::Discard(SIZE - bs, bs),
            UserOp::Write(SIZE - 700, rng.bytes(600)),
        ]);
        for (i, op) in self.ops[13..].iter().enumerate() {
            ops.push(op.clone());
            if i % 6 == 5 {
                let offset = rng.below(SIZE);
                let len = 1 + rng.below((SIZE - offset).min(3 * bs));
                ops.push(UserOp::Discard(offset, len));
            }
        }
        ops.push(UserOp::Discard(2 * bs, bs));
        self.ops = ops;
        self.name = name;
        self
    }

    fn initial_contents(&self) -> Vec<u8> {
        match &self.parent {
            Some(p) => p.contents.clone(),
            None => vec![0; SIZE as usize],
        }
    }

    fn create(&self) -> Vec<u8> {
        let builder = match &self.parent {
            Some(p) => VhdBuilder::differencing(ParentLink {
                unique_id: p.disk.footer().unique_id,
                size: SIZE,
                timestamp: VhdTime(0),
                name: "golden.vhd".into(),
                absolute_path: None,
                relative_path: Some(r".\golden.vhd".into()),
            }),
            None => VhdBuilder::dynamic(SIZE),
        };
        builder
            .block_size(self.block_size)
            .create(MemStorage::default())
            .unwrap()
            .into_storage()
            .into_inner()
    }

    fn open<S: Storage>(&self, storage: S, options: OpenOptions) -> vhd::Result<Disk<S>> {
        match &self.parent {
            Some(p) => Disk::open_with_parent(storage, options, p.disk.clone()),
            None => Disk::open(storage, options),
        }
    }

    fn parent_unchanged(&self) {
        if let Some(p) = &self.parent {
            assert!(
                p.disk.storage().to_vec() == p.file,
                "{}: the parent changed",
                self.name
            );
        }
    }
}

/// A golden parent with random contents (every other 8 KiB written, the rest zeros).
fn parent(rng: &mut Rng) -> Parent {
    let mut disk = VhdBuilder::dynamic(SIZE)
        .block_size(4096)
        .create(MemStorage::default())
        .unwrap();
    for i in (0..SIZE / 8192).step_by(2) {
        disk.write_at(&rng.bytes(8192), i * 8192).unwrap();
    }
    let file = disk.into_storage().into_inner();
    let disk = Disk::open(
        MemStorage::read_only(file.clone()),
        OpenOptions::read_only(),
    )
    .unwrap();
    let mut contents = vec![0; SIZE as usize];
    disk.read_at(&mut contents, 0).unwrap();
    Parent {
        disk: Arc::new(disk),
        file,
        contents,
    }
}

/// One run of a scenario, recorded.
struct Recording {
    /// The created image: durable before the first operation.
    base: Vec<u8>,
    log: Vec<Op>,
    /// `op_end[i]`: the log length once user operation `i` returned.
    op_end: Vec<usize>,
    /// `models[i]`: the virtual disk before user operation `i`; `models[n]` at the end.
    models: Vec<Vec<u8>>,
}

impl Recording {
    fn new(s: &Scenario) -> Self {
        let base = s.create();
        let storage = CrashStorage::new(base.clone(), None);
        let mut disk = s.open(storage.clone(), OpenOptions::read_write()).unwrap();
        let mut model = s.initial_contents();
        let mut models = vec![model.clone()];
        let mut op_end = Vec::new();
        for op in &s.ops {
            op.run(&mut disk).unwrap();
            op.apply(&mut model);
            models.push(model.clone());
            op_end.push(storage.log_len());
        }
        Recording {
            base,
            log: storage.log(),
            op_end,
            models,
        }
    }

    /// The user operation in flight when log entry `p` was issued.
    fn op_at(&self, p: usize) -> usize {
        self.op_end.partition_point(|&end| end <= p)
    }

    /// The index into `models` of the state every durable byte must at least reach when the
    /// crash comes before log entry `p`: the last user flush completed by then.
    fn last_user_flush(&self, s: &Scenario, p: usize) -> usize {
        (0..s.ops.len())
            .rfind(|&i| matches!(s.ops[i], UserOp::Flush) && self.op_end[i] <= p)
            .unwrap_or(0)
    }
}

/// What a sweep saw.
#[derive(Debug, Default)]
struct Stats {
    crash_points: usize,
    states: usize,
    opened_directly: usize,
    repaired: usize,
    problems: BTreeMap<String, usize>,
}

impl Stats {
    fn print(&self, what: &str) {
        eprintln!(
            "{what}: {} crash points, {} states verified ({} opened as they were, {} repaired); \
             problems repaired: {:?}",
            self.crash_points, self.states, self.opened_directly, self.repaired, self.problems
        );
    }
}

/// Every byte of `actual` equals that byte in one of `models[lo..=hi]`.
fn assert_allowed(
    actual: &[u8],
    models: &[Vec<u8>],
    lo: usize,
    hi: usize,
    ctx: &dyn Fn() -> String,
) {
    let states = &models[lo..=hi];
    for (c, chunk) in actual.chunks(SECTOR).enumerate() {
        let at = c * SECTOR;
        if states.iter().any(|m| &m[at..at + chunk.len()] == chunk) {
            continue;
        }
        for (i, &v) in chunk.iter().enumerate() {
            let b = at + i;
            assert!(
                states.iter().any(|m| m[b] == v),
                "{}: virtual byte {b} reads {v:#04x}, allowed {:?} (states {lo}..={hi})",
                ctx(),
                states.iter().map(|m| m[b]).collect::<Vec<_>>()
            );
        }
    }
}

fn read_all<S: Storage>(disk: &Disk<S>) -> Vec<u8> {
    let mut all = vec![0u8; disk.size() as usize];
    disk.read_at(&mut all, 0).unwrap();
    all
}

const SCAN: CheckOptions = CheckOptions {
    scan_unwritten_sectors: true,
};

/// Reopens the file `bytes` after a crash (or failure) and checks everything the module doc
/// lists; the virtual disk may read any of `models[lo..=hi]`, byte by byte.
fn verify(
    s: &Scenario,
    rec: &Recording,
    bytes: Vec<u8>,
    (lo, hi): (usize, usize),
    stats: &mut Stats,
    ctx: &dyn Fn() -> String,
) {
    stats.states += 1;
    let storage = MemStorage::new(bytes);
    let opened = s.open(&storage, OpenOptions::read_only());
    if let Ok(disk) = &opened {
        assert_allowed(&read_all(disk), &rec.models, lo, hi, &|| {
            format!("{} (before any repair)", ctx())
        });
    }
    let report = check_with(&storage, &SCAN).unwrap();
    if report.is_clean() {
        assert!(
            opened.is_ok(),
            "{}: check is clean but open fails: {:?}",
            ctx(),
            opened.err()
        );
        stats.opened_directly += 1;
    } else {
        drop(opened);
        // The allocation order leaves nothing worse than leaked space, and (dynamic disks)
        // data behind bits not yet set.
        assert!(
            report.problems.iter().all(|p| matches!(
                p,
                Problem::LeakedSpace { .. }
                    | Problem::BitmapClearButDataNonZero { .. }
                    | Problem::UnusedSpace { .. }
            )),
            "{}: {report}",
            ctx()
        );
        assert!(report.is_repairable(), "{}: {report}", ctx());
        let repaired = repair_with(&storage, &SCAN).unwrap();
        assert!(repaired.is_clean(), "{}: {repaired}", ctx());
        stats.repaired += 1;
        for p in &report.problems {
            let name = format!("{p:?}");
            let name = name
                .split([' ', '{'])
                .next()
                .unwrap_or_default()
                .to_string();
            *stats.problems.entry(name).or_default() += 1;
        }
    }
    let mut disk = s
        .open(&storage, OpenOptions::read_write())
        .unwrap_or_else(|e| panic!("{}: does not open read-write after repair: {e}", ctx()));
    let mut contents = read_all(&disk);
    assert_allowed(&contents, &rec.models, lo, hi, &|| {
        format!("{} (repaired)", ctx())
    });
    // The repaired disk takes new writes (allocating, read-modify-write) that survive a reopen.
    let probe_at = SIZE - 9000;
    let probe = [0x5a; 5000];
    disk.write_at(&probe, probe_at).unwrap();
    disk.flush().unwrap();
    drop(disk);
    contents[probe_at as usize..][..probe.len()].copy_from_slice(&probe);
    assert!(
        check_with(&storage, &SCAN).unwrap().is_clean(),
        "{}: unclean after a write into the repaired disk",
        ctx()
    );
    let disk = s.open(&storage, OpenOptions::read_only()).unwrap();
    assert!(
        read_all(&disk) == contents,
        "{}: a write into the repaired disk did not read back",
        ctx()
    );
}

/// The stop, torn and lose-unflushed models at every write index of the scenario.
fn crash_sweep(s: &Scenario) -> Stats {
    let rec = Recording::new(s);
    let mut stats = Stats::default();
    let mut durable = rec.base.clone(); // stop: log[..p] applied
    let mut flushed = rec.base.clone(); // lose-unflushed: log[..last flush] applied
    let mut flushed_at = 0;
    let mut seen_unflushed = HashSet::new();
    let mut k = 0;
    for (p, op) in rec.log.iter().enumerate() {
        if op.is_write() {
            stats.crash_points += 1;
            let i = rec.op_at(p);
            let ctx = |model: &str| {
                let op = &s.ops[i];
                let name = s.name;
                let model = model.to_string();
                move || {
                    format!(
                        "{name}: crash before write {k} (log entry {p}, {model}), in user op \
                         {i} {}",
                        op.describe()
                    )
                }
            };
            // stop
            verify(
                s,
                &rec,
                durable.clone(),
                (i, i + 1),
                &mut stats,
                &ctx("stop"),
            );
            // torn: the first sector of the write, and all but its last sector
            if let Op::Write { offset, data } = op {
                let (start, end) = (*offset as usize, *offset as usize + data.len());
                let first_boundary = (start / SECTOR + 1) * SECTOR - start;
                let last_boundary = ((end - 1) / SECTOR * SECTOR).saturating_sub(start);
                let mut cuts = vec![first_boundary, last_boundary];
                cuts.dedup();
                for cut in cuts.into_iter().filter(|&c| c > 0 && c < data.len()) {
                    let mut torn = durable.clone();
                    Op::Write {
                        offset: *offset,
                        data: data[..cut].to_vec(),
                    }
                    .apply(&mut torn);
                    verify(
                        s,
                        &rec,
                        torn,
                        (i, i + 1),
                        &mut stats,
                        &ctx(&format!("torn after {cut} bytes")),
                    );
                }
            }
            // lose-unflushed: the same state for every write since the last flush; its check
            // is strictest for the first user operation in flight
            let lo = rec.last_user_flush(s, p);
            if seen_unflushed.insert(flushed_at) {
                verify(
                    s,
                    &rec,
                    flushed.clone(),
                    (lo, i + 1),
                    &mut stats,
                    &ctx("lose-unflushed"),
                );
            }
            k += 1;
        }
        op.apply(&mut durable);
        if matches!(op, Op::Flush) {
            flushed.clone_from(&durable);
            flushed_at = p + 1;
        }
    }
    // No crash at all: exactly the final model.
    let n = s.ops.len();
    verify(s, &rec, durable, (n, n), &mut stats, &|| {
        format!("{}: no crash", s.name)
    });
    s.parent_unchanged();
    stats
}

fn describe(op: &Op) -> String {
    match op {
        Op::Write { offset, data } => format!("write of {} bytes at byte {offset}", data.len()),
        Op::SetLen(len) => format!("set_len({len})"),
        Op::Flush => "flush".into(),
    }
}

/// The fail model: each operation in turn (writes, set_len and flushes) fails once. The file
/// must reopen valid right after the failure; with `carry_on`, the process then goes on with
/// the same `Disk` and, at the end, everything written after the failure must read back.
fn failure_sweep(s: &Scenario, carry_on: bool) -> Stats {
    let log = Recording::new(s).log;
    let mut stats = Stats::default();
    for (fail_at, failing) in log.iter().enumerate() {
        let failing = describe(failing);
        stats.crash_points += 1;
        let base = s.create();
        let storage = CrashStorage::new(base, Some(fail_at));
        let mut disk = s.open(storage.clone(), OpenOptions::read_write()).unwrap();
        let mut model = s.initial_contents();
        let mut failed_op = None;
        for (i, op) in s.ops.iter().enumerate() {
            let before_failure = !storage.failed();
            let result = op.run(&mut disk);
            let before = match (&result, op) {
                (Err(_), UserOp::Write(..) | UserOp::Discard(..)) => Some(model.clone()),
                _ => None,
            };
            op.apply(&mut model);
            let ctx = || {
                format!(
                    "{}: operation {fail_at} ({failing}) fails, in user op {i}",
                    s.name
                )
            };
            match result {
                Ok(()) => assert!(
                    !(before_failure && storage.failed()),
                    "{}: the failure was not reported",
                    ctx()
                ),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Io, "{}: {e}", ctx());
                    assert!(failed_op.is_none(), "{}: a second failure: {e}", ctx());
                    failed_op = Some(i);
                    // Right after the failure, the file reopens valid, reading old or new.
                    let models = match before {
                        Some(before) => vec![before, model.clone()],
                        None => vec![model.clone()],
                    };
                    let hi = models.len() - 1;
                    let rec = Recording {
                        base: Vec::new(),
                        log: Vec::new(),
                        op_end: Vec::new(),
                        models,
                    };
                    verify(s, &rec, storage.bytes(), (0, hi), &mut stats, &ctx);
                    if !carry_on {
                        break;
                    }
                }
            }
        }
        let (Some(f), true) = (failed_op, carry_on) else {
            continue;
        };
        // The process carried on: at the end, bytes written after the failure read back
        // exactly; those of the failed operation are old or new.
        disk.flush().unwrap();
        drop(disk);
        let mut without = s.initial_contents();
        for (i, op) in s.ops.iter().enumerate() {
            if i != f {
                op.apply(&mut without);
            }
        }
        let rec = Recording {
            base: Vec::new(),
            log: Vec::new(),
            op_end: Vec::new(),
            models: vec![without, model],
        };
        let ctx = || {
            format!(
                "{}: operation {fail_at} ({failing}) failed in user op {f}; state at the end, \
                 the process having carried on",
                s.name
            )
        };
        verify(s, &rec, storage.bytes(), (0, 1), &mut stats, &ctx);
    }
    s.parent_unchanged();
    stats
}

fn dynamic_4k() -> Scenario {
    Scenario::new("dynamic, 4 KiB blocks", 4096, false, 0x9e37_79b9_7f4a_7c15)
}

fn dynamic_16k() -> Scenario {
    Scenario::new(
        "dynamic, 16 KiB blocks",
        16384,
        false,
        0x0123_4567_89ab_cdef,
    )
}

fn differencing_4k() -> Scenario {
    Scenario::new(
        "differencing, 4 KiB blocks",
        4096,
        true,
        0xdead_beef_cafe_f00d,
    )
}

fn differencing_16k() -> Scenario {
    Scenario::new(
        "differencing, 16 KiB blocks",
        16384,
        true,
        0x0bad_c0de_1234_5678,
    )
}

/// Blocks of 64 KiB: allocated with their data on 4 KiB boundaries.
fn dynamic_64k() -> Scenario {
    Scenario::new(
        "dynamic, 64 KiB blocks",
        65536,
        false,
        0x6464_6464_0000_0001,
    )
}

#[test]
fn crash_dynamic_64k_aligned() {
    crash_sweep(&dynamic_64k()).print("crash, dynamic 64 KiB");
}

#[test]
fn crash_dynamic_64k_discard() {
    let s = dynamic_64k().with_discards("dynamic, 64 KiB blocks, discards");
    crash_sweep(&s).print("crash, dynamic 64 KiB with discards");
}

#[test]
fn crash_dynamic_4k_discard() {
    let s = dynamic_4k().with_discards("dynamic, 4 KiB blocks, discards");
    crash_sweep(&s).print("crash, dynamic 4 KiB with discards");
}

#[test]
fn crash_differencing_16k_discard() {
    let s = differencing_16k().with_discards("differencing, 16 KiB blocks, discards");
    crash_sweep(&s).print("crash, differencing 16 KiB with discards");
}

#[test]
fn failure_discard() {
    failure_sweep(
        &dynamic_64k().with_discards("dynamic, 64 KiB, discards"),
        true,
    )
    .print("fail and carry on, dynamic 64 KiB with discards");
}

#[test]
fn crash_dynamic_4k() {
    crash_sweep(&dynamic_4k()).print("crash, dynamic 4 KiB");
}

#[test]
fn crash_dynamic_16k() {
    crash_sweep(&dynamic_16k()).print("crash, dynamic 16 KiB");
}

#[test]
fn crash_differencing_4k() {
    crash_sweep(&differencing_4k()).print("crash, differencing 4 KiB");
}

#[test]
fn crash_differencing_16k() {
    crash_sweep(&differencing_16k()).print("crash, differencing 16 KiB");
}

#[test]
fn failure_dynamic_4k() {
    failure_sweep(&dynamic_4k(), true).print("fail, dynamic 4 KiB");
}

#[test]
fn failure_differencing_4k() {
    failure_sweep(&differencing_4k(), true).print("fail, differencing 4 KiB");
}

/// With 16 KiB blocks, writes set bits in allocated blocks; only the state right after the
/// failure is checked here (see `failure_then_carry_on_16k`).
#[test]
fn failure_16k() {
    failure_sweep(&dynamic_16k(), false).print("fail, dynamic 16 KiB");
    failure_sweep(&differencing_16k(), false).print("fail, differencing 16 KiB");
}

/// `Disk::set_bits` (disk.rs) changes the in-memory bitmap only once the bitmap write has
/// succeeded; see `failed_bitmap_write_loses_later_flushed_writes`.
#[test]
fn failure_then_carry_on_16k() {
    failure_sweep(&dynamic_16k(), true).print("fail+carry on, dynamic 16 KiB");
    failure_sweep(&differencing_16k(), true).print("fail+carry on, differencing 16 KiB");
}

/// The reorder model: the state of the last flush plus write `k` alone, as a storage that
/// reorders the writes between two flushes (a disk cache, a RAID controller) may leave it.
fn reorder_sweep(s: &Scenario) -> Stats {
    let rec = Recording::new(s);
    let mut stats = Stats::default();
    let mut durable = rec.base.clone();
    let mut flushed = rec.base.clone();
    for (p, op) in rec.log.iter().enumerate() {
        if op.is_write() {
            stats.crash_points += 1;
            let i = rec.op_at(p);
            let mut state = flushed.clone();
            op.apply(&mut state);
            let lo = rec.last_user_flush(s, p);
            let ctx = || {
                format!(
                    "{}: log entry {p} ({}) persisted alone since the last flush, in user op {i}",
                    s.name,
                    describe(op)
                )
            };
            verify(s, &rec, state, (lo, i + 1), &mut stats, &ctx);
        }
        op.apply(&mut durable);
        if matches!(op, Op::Flush) {
            flushed.clone_from(&durable);
        }
    }
    s.parent_unchanged();
    stats
}

#[test]
fn reorder_without_bitmap_updates() {
    for s in [dynamic_4k(), dynamic_16k(), differencing_4k()] {
        reorder_sweep(&s).print(&format!("reorder, {}", s.name));
    }
}

#[test]
fn reorder_aligned_blocks_and_discards() {
    let discards = dynamic_64k().with_discards("dynamic, 64 KiB blocks, discards");
    for s in [dynamic_64k(), discards] {
        reorder_sweep(&s).print(&format!("reorder, {}", s.name));
    }
}

/// disk.rs orders a child's data before its bitmap bits with a flush; see
/// `copied_up_data_is_flushed_before_its_bitmap_bits`.
#[test]
fn reorder_differencing_16k() {
    reorder_sweep(&differencing_16k()).print("reorder, differencing 16 KiB");
}

/// Minimal reproduction of a fixed finding: a dynamic disk with 16 KiB blocks; block 0 holds
/// granule 0. Writing granule 1 writes the data, then the bitmap sector; when the bitmap write
/// fails, `write_at` returns `Error::Io`. The bits must then stay clear in memory too: had
/// `set_bits` set them first (as it once did), the next write to granule 1 would take the
/// fast path (data only), succeed and be flushed, and read zeros after a reopen, because its
/// bitmap bits never reached the file.
#[test]
fn failed_bitmap_write_loses_later_flushed_writes() {
    let base = VhdBuilder::dynamic(SIZE)
        .block_size(16384)
        .create(MemStorage::default())
        .unwrap()
        .into_storage()
        .into_inner();
    // Operations: 0 footer, 1 flush, 2 bitmap, 3 data, 4 flush, 5 BAT entry (the first
    // write); 6 granule 1's data, 7 its bitmap sector.
    let storage = CrashStorage::new(base, Some(7));
    let mut disk = Disk::open(storage.clone(), OpenOptions::read_write()).unwrap();
    disk.write_at(&[1; 100], 0).unwrap();
    let err = disk.write_at(&[2; 10], 5000).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    disk.write_at(&[3; 10], 5000).unwrap();
    disk.flush().unwrap();
    let mut buf = [0u8; 10];
    disk.read_at(&mut buf, 5000).unwrap();
    assert_eq!(buf, [3; 10], "the open disk reads the write");
    drop(disk);
    let reopened = Disk::open(MemStorage::new(storage.bytes()), OpenOptions::read_only()).unwrap();
    reopened.read_at(&mut buf, 5000).unwrap();
    assert_eq!(buf, [3; 10], "a flushed write is lost after a reopen");
}

/// Minimal reproduction: a differencing child with 16 KiB blocks over a parent of 0x77
/// bytes; block 0 holds granule 0 and everything is flushed. Writing 10 bytes at 5000 copies
/// granule 1 up: the data write (parent bytes + the 10 new ones), then the bitmap sector.
/// Writes between two flushes may reach the disk in any order, so without a flush between
/// them a storage could persist the bitmap sector alone and granule 1 would read the child's
/// zeros: neither the parent's 0x77 (old) nor the write (new). The flush rules that out.
#[test]
fn copied_up_data_is_flushed_before_its_bitmap_bits() {
    let mut golden = VhdBuilder::dynamic(SIZE)
        .block_size(16384)
        .create(MemStorage::default())
        .unwrap();
    golden.write_at(&vec![0x77; SIZE as usize], 0).unwrap();
    let golden = Arc::new(golden);
    let base = VhdBuilder::differencing(ParentLink {
        unique_id: golden.footer().unique_id,
        size: SIZE,
        timestamp: VhdTime(0),
        name: "golden.vhd".into(),
        absolute_path: None,
        relative_path: None,
    })
    .block_size(16384)
    .create(MemStorage::default())
    .unwrap()
    .into_storage()
    .into_inner();
    let storage = CrashStorage::new(base, None);
    let mut child =
        Disk::open_with_parent(storage.clone(), OpenOptions::read_write(), golden.clone()).unwrap();
    child.write_at(&[1; 100], 0).unwrap();
    child.flush().unwrap();
    let flushed = storage.bytes();
    let before = storage.log_len();
    child.write_at(&[2; 10], 5000).unwrap();
    let log = storage.log();
    let ops: Vec<&Op> = log[before..].iter().collect();
    // The copied-up data is flushed before the bitmap sector is written.
    assert!(
        matches!(ops[..], [Op::Write { .. }, Op::Flush, Op::Write { .. }]),
        "{ops:?}"
    );
    // Power is lost right after the bitmap sector reached the disk: the data is there too.
    let mut state = flushed;
    ops[0].apply(&mut state);
    ops[2].apply(&mut state);
    let crashed =
        Disk::open_with_parent(MemStorage::new(state), OpenOptions::read_only(), golden).unwrap();
    let mut buf = [0u8; 4];
    crashed.read_at(&mut buf, 4096).unwrap();
    assert_eq!(
        buf, [0x77; 4],
        "the parent's data (or the write's) must show, not zeros"
    );
}

/// A crash at any write of `repair` itself leaves a file that `repair` completes, with the
/// data intact.
#[test]
fn interrupted_repair_completes() {
    let mut disk = VhdBuilder::dynamic(SIZE)
        .block_size(4096)
        .create(MemStorage::default())
        .unwrap();
    let mut rng = Rng(7);
    for at in [0u64, 50_000, 51_000, 130_000] {
        disk.write_at(&rng.bytes(3000), at).unwrap();
    }
    let model = read_all(&disk);
    let clean = disk.into_storage().into_inner();
    let footer_at = clean.len() - 512;
    let with_leak = |garbage: usize| {
        let mut b = clean[..footer_at].to_vec();
        b.extend(std::iter::repeat_n(0xc7, garbage));
        b.extend_from_slice(&clean[footer_at..]);
        b
    };
    // 1: a bad header checksum, a BAT entry past the end, leaked space, a damaged trailing
    //    footer. 2: a damaged copy, and leaked space that is not a whole sector.
    let mut first = with_leak(1536);
    first[512 + 37] ^= 0x10;
    first[1536 + 4 * 20..][..4].copy_from_slice(&0x0010_0000u32.to_be_bytes());
    let end = first.len() - 512;
    first[end + 64] ^= 1;
    let mut second = with_leak(700);
    second[..8].copy_from_slice(b"CONECTIX");
    for damaged in [first, second] {
        let storage = CrashStorage::new(damaged.clone(), None);
        let report = repair_with(&*storage, &SCAN).unwrap();
        assert!(report.is_clean(), "{report}");
        assert_eq!(storage.bytes(), clean);
        let log = storage.log();
        let mut durable = damaged.clone();
        let mut flushed = damaged;
        let mut points = 0;
        for op in &log {
            if op.is_write() {
                points += 1;
                for state in [durable.clone(), flushed.clone()] {
                    let storage = MemStorage::new(state);
                    let again = repair_with(&storage, &SCAN).unwrap();
                    assert!(again.is_clean(), "{again}");
                    let disk = Disk::open(&storage, OpenOptions::read_write()).unwrap();
                    assert!(read_all(&disk) == model);
                    assert_eq!(storage.to_vec(), clean);
                }
            }
            op.apply(&mut durable);
            if matches!(op, Op::Flush) {
                flushed.clone_from(&durable);
            }
        }
        eprintln!(
            "repair: {points} crash points over {} repair actions",
            report.actions.len()
        );
    }
}

//! [`CachedParent`]: a bounded, shared, read-only memory cache of a parent disk's data.
//!
//! A golden image is read by every client and written by none, so the bytes a read returns
//! there never change while it is open. Keeping the recently read extents of such a parent in
//! memory turns most chain reads into a lookup and a `memcpy`, without any `pread`.
//!
//! The cache is explicit: nothing is cached unless a caller wraps a parent in a
//! [`CachedParent`] with a byte budget. It is split into shards by extent number, each behind
//! its own reader-writer lock: hits copy the data out under the shared lock (concurrent
//! readers of one extent do not wait for each other), and only a miss takes the lock
//! exclusively, to insert the extent it read without holding any lock. Each shard evicts by
//! CLOCK (second chance), whose reference bits readers set without the exclusive lock.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use uuid::Uuid;

use crate::blocks::IndexHasher;
use crate::{Error, ParentDisk, Result};

/// The default unit of caching: 64 KiB, what a sequential reader (a booting client) asks for
/// at a time, and 16 copy-up granules.
///
/// ```
/// use vhd::{CacheOptions, DEFAULT_CACHE_EXTENT};
/// assert_eq!(CacheOptions::with_budget(1 << 30).extent, DEFAULT_CACHE_EXTENT);
/// assert_eq!(DEFAULT_CACHE_EXTENT, 16 * vhd::COPY_UP_GRANULE);
/// ```
pub const DEFAULT_CACHE_EXTENT: u64 = 64 << 10;

/// The smallest extent a cache may use: one copy-up granule (4 KiB).
///
/// ```
/// use std::sync::Arc;
/// use vhd::{CacheOptions, CachedParent, Disk, MIN_CACHE_EXTENT, MemStorage, OpenOptions, VhdBuilder};
/// # let bytes = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?.into_storage().into_inner();
/// let golden = Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only())?);
/// let options = CacheOptions::with_budget(1 << 20);
/// assert!(CachedParent::new(golden.clone(), options.extent(MIN_CACHE_EXTENT)).is_ok());
/// assert!(CachedParent::new(golden, options.extent(MIN_CACHE_EXTENT / 2)).is_err());
/// # Ok::<(), vhd::Error>(())
/// ```
pub const MIN_CACHE_EXTENT: u64 = crate::COPY_UP_GRANULE;

/// The largest extent a cache may use: 2 MiB, the default block.
///
/// ```
/// use std::sync::Arc;
/// use vhd::{CacheOptions, CachedParent, Disk, MAX_CACHE_EXTENT, MemStorage, OpenOptions, VhdBuilder};
/// # let bytes = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?.into_storage().into_inner();
/// let golden = Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only())?);
/// let options = CacheOptions::with_budget(64 << 20);
/// assert!(CachedParent::new(golden.clone(), options.extent(MAX_CACHE_EXTENT)).is_ok());
/// assert!(CachedParent::new(golden, options.extent(MAX_CACHE_EXTENT * 2)).is_err());
/// # Ok::<(), vhd::Error>(())
/// ```
pub const MAX_CACHE_EXTENT: u64 = 2 << 20;

/// The most shards a cache is split into (fewer when the budget holds fewer extents).
const MAX_SHARDS: u64 = 64;

/// The most ghosts (extents recently missed but not admitted) a shard remembers.
const MAX_GHOSTS: usize = 1024;

/// How much a [`CachedParent`] may hold, and in what units.
///
/// ```
/// let opts = vhd::CacheOptions::with_budget(512 << 20).extent(128 << 10);
/// assert_eq!((opts.budget, opts.extent), (512 << 20, 128 << 10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheOptions {
    /// The most bytes of parent data held (the extents' bytes; the cache's own bookkeeping
    /// adds about 100 bytes per extent, and each shard may keep one evicted extent's buffer
    /// for its next miss). Rounded down to whole extents; below one extent the
    /// cache holds nothing and every read goes to the parent.
    pub budget: u64,
    /// The unit in which data is read from the parent, kept and evicted: a power of two from
    /// [`MIN_CACHE_EXTENT`] to [`MAX_CACHE_EXTENT`]. A miss reads the whole extent, so larger
    /// extents favour sequential readers and smaller ones random readers.
    pub extent: u64,
}

impl CacheOptions {
    /// A budget of `bytes`, in extents of [`DEFAULT_CACHE_EXTENT`].
    ///
    /// ```
    /// use vhd::{CacheOptions, DEFAULT_CACHE_EXTENT};
    /// let options = CacheOptions::with_budget(256 << 20);
    /// assert_eq!(options.budget, 256 << 20);
    /// assert_eq!(options.extent, DEFAULT_CACHE_EXTENT);
    /// ```
    pub fn with_budget(bytes: u64) -> Self {
        CacheOptions {
            budget: bytes,
            extent: DEFAULT_CACHE_EXTENT,
        }
    }

    /// The same budget in extents of `bytes`.
    ///
    /// ```
    /// let options = vhd::CacheOptions::with_budget(256 << 20).extent(4096);
    /// assert_eq!(options.extent, 4096);
    /// assert_eq!(options.budget, 256 << 20); // unchanged
    /// ```
    pub fn extent(self, bytes: u64) -> Self {
        CacheOptions {
            extent: bytes,
            ..self
        }
    }
}

/// Counters of a [`CachedParent`], summed over its shards.
///
/// ```
/// let stats = vhd::CacheStats::default();
/// assert_eq!(stats.hit_ratio(), 0.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Extent lookups served from memory.
    pub hits: u64,
    /// Extent lookups that read the parent.
    pub misses: u64,
    /// Bytes of parent data held now.
    pub resident: u64,
    /// The most bytes it may hold (the budget rounded down to whole extents).
    pub capacity: u64,
}

impl CacheStats {
    /// `hits / (hits + misses)`, 0 before any lookup.
    ///
    /// ```
    /// let stats = vhd::CacheStats { hits: 3, misses: 1, ..Default::default() };
    /// assert_eq!(stats.hit_ratio(), 0.75);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

/// One extent held in memory.
#[derive(Debug)]
struct Slot {
    /// The extent's number divided by the number of shards (its key in the shard).
    key: u64,
    data: Box<[u8]>,
    /// Read since the clock hand last passed (set under the shared lock).
    referenced: AtomicBool,
}

/// The extents of one shard: those whose number is the shard's modulo the number of shards.
#[derive(Debug, Default)]
struct Extents {
    index: HashMap<u64, usize, BuildHasherDefault<IndexHasher>>,
    slots: Vec<Slot>,
    hand: usize,
    /// The buffer of the last extent evicted: the next miss reads into it instead of
    /// allocating (and faulting in) a new one.
    spare: Option<Box<[u8]>>,
    /// Extents recently missed while the shard was full, oldest first (at most an eighth of
    /// the shard's capacity): the second such miss admits the extent ([`Extents::admit`]).
    ghosts: VecDeque<u64>,
}

impl Extents {
    /// Whether a miss of extent `key` should read the whole extent and keep it: always while
    /// the shard has room; once it is full, only if the extent was missed recently too (it is
    /// then a ghost). Otherwise the read passes through to the parent for just its bytes, and
    /// the extent is remembered as a ghost. A workload spread evenly over more than the
    /// budget, or a scan longer than it, thus costs about what it costs without a cache,
    /// instead of a whole extent per small read or an eviction per extent scanned.
    fn admit(&mut self, key: u64, capacity: usize) -> bool {
        if self.slots.len() < capacity {
            return true;
        }
        if let Some(i) = self.ghosts.iter().position(|&g| g == key) {
            self.ghosts.remove(i);
            return true;
        }
        if self.ghosts.len() >= (capacity / 8).clamp(1, MAX_GHOSTS) {
            self.ghosts.pop_front();
        }
        self.ghosts.push_back(key);
        false
    }

    /// Holds `data` as `key`, evicting the first extent not read since the hand last passed.
    fn insert(&mut self, key: u64, data: Box<[u8]>, capacity: usize) {
        if self.index.contains_key(&key) {
            // Another reader missed the same extent at the same time and got here first: both
            // read the same bytes from the (read-only) parent.
            self.spare = Some(data);
            return;
        }
        let slot = Slot {
            key,
            data,
            referenced: AtomicBool::new(false),
        };
        if self.slots.len() < capacity {
            self.index.insert(key, self.slots.len());
            self.slots.push(slot);
            return;
        }
        loop {
            let hand = self.hand;
            self.hand = (hand + 1) % self.slots.len();
            let victim = &mut self.slots[hand];
            if *victim.referenced.get_mut() {
                *victim.referenced.get_mut() = false;
                continue;
            }
            self.index.remove(&victim.key);
            let old = core::mem::replace(victim, slot);
            self.index.insert(key, hand);
            self.spare = Some(old.data);
            return;
        }
    }
}

/// One shard: its extents behind a reader-writer lock (hits share it, misses take it
/// exclusively to insert), and its counters.
#[derive(Debug, Default)]
struct Shard {
    extents: RwLock<Extents>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Shard {
    fn read(&self) -> RwLockReadGuard<'_, Extents> {
        // Every update of `Extents` is a few field writes that leave it consistent, so a lock
        // poisoned by a panic elsewhere is used as it is.
        self.extents
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Extents> {
        self.extents
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A parent disk with a bounded memory cache in front of it: a [`ParentDisk`] that serves
/// reads from the extents it holds and reads the others from the wrapped parent (the whole
/// extent, which it then keeps, evicting by CLOCK when the budget is used up).
///
/// It is `Send + Sync` and meant to be shared: wrap a golden image once, in an `Arc`, and
/// attach that to every child (directly, or through [`crate::SharedParents::add`]). Readers
/// of different extents take different locks (up to 64 shards); a hit copies its bytes under
/// the shard's shared lock, and a miss reads the parent holding no lock, then takes the
/// shard's lock exclusively to insert the extent.
///
/// # Never stale
///
/// The cache never re-reads what it holds, so it is only correct over data that does not
/// change while it is open. [`CachedParent::new`] therefore refuses a parent that does not
/// say it is read-only ([`ParentDisk::is_read_only`]): a [`crate::Disk`] opened writable, or a
/// `ParentDisk` of another kind that does not opt in. A read-only `Disk` behind an `Arc`
/// cannot be written through this crate (writes take `&mut Disk`, and parents are opened by
/// the OS read-only, [`crate::FileStorage::open_read_only`]); what remains is the rule that
/// already holds for every open disk, whose block table and bitmaps are read once at open:
/// no other program or handle may change the file while it is open. Merging a child into a
/// golden image that is being served ([`crate::merge`]) breaks that rule: serve a merged copy
/// instead, with a new cache.
///
/// Wrapping a differencing parent caches what it reads as, its own parents included: caching
/// the immediate parent of the clients' disks makes every read they do not serve themselves a
/// memory copy, whatever the depth of the chain beneath.
///
/// # Sizing
///
/// Misses cost a read of a whole extent through the parent chain, so the cache pays when the
/// budget holds the parent's working set (what the clients read of the golden image: the
/// files a boot touches, typically much less than the image), and [`CachedParent::stats`]
/// shows whether it does. While the budget has room every miss is kept; once it is full, an
/// extent is kept only on its second miss in a short while (scan resistance, as in 2Q), and
/// otherwise the read passes through for just its bytes, so that a budget far below the
/// working set costs about what no cache costs, not a whole extent per small read. Memory is the budget,
/// plus about 100 bytes per extent and one spare extent per shard, allocated as extents are
/// first read.
///
/// A server that opens clients with [`crate::SharedParents`] registers the cached golden
/// image under its path, and every client opened through it shares the one cache:
///
/// ```no_run
/// use std::sync::Arc;
/// use vhd::{CacheOptions, CachedParent, Disk, FileStorage, OpenOptions, SharedParents};
/// let golden = Disk::open(FileStorage::open_read_only("/srv/golden.vhd")?, OpenOptions::read_only())?;
/// let cached = CachedParent::new(Arc::new(golden), CacheOptions::with_budget(2 << 30))?;
/// let mut parents = SharedParents::new();
/// parents.add("/srv/golden.vhd", Arc::new(cached))?;
/// let a = parents.open("/srv/clients/a.vhd", OpenOptions::read_write())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ```
/// use std::sync::Arc;
/// use vhd::{CacheOptions, CachedParent, Disk, MemStorage, OpenOptions, ParentLink, VhdBuilder};
/// // A golden image, opened read-only as a server opens it.
/// let mut golden = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?;
/// golden.write_at(&[7; 4096], 0)?;
/// let bytes = golden.into_storage().into_inner();
/// let golden = Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only())?);
/// // One cache of up to 64 MiB in front of it, shared by every client.
/// let cached = Arc::new(CachedParent::new(golden.clone(), CacheOptions::with_budget(64 << 20))?);
/// let link = ParentLink::without_locators(golden.as_ref(), "golden.vhd");
/// let mut client = VhdBuilder::differencing(link).create(MemStorage::default())?;
/// client.attach_parent(cached.clone())?;
/// let mut buf = [0u8; 2];
/// client.read_at(&mut buf, 4095)?;
/// assert_eq!(buf, [7, 0]);
/// assert_eq!(cached.stats().misses, 1);
/// // A writable disk is refused.
/// let writable = Arc::new(VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?);
/// assert!(CachedParent::new(writable, CacheOptions::with_budget(64 << 20)).is_err());
/// # Ok::<(), vhd::Error>(())
/// ```
pub struct CachedParent {
    parent: Arc<dyn ParentDisk>,
    unique_id: Uuid,
    size: u64,
    /// `log2(extent)`.
    shift: u32,
    /// `shards.len() - 1` (a power of two minus one).
    shard_mask: u64,
    /// `log2(shards.len())`.
    shard_shift: u32,
    /// Extents per shard.
    per_shard: usize,
    shards: Box<[Shard]>,
}

impl core::fmt::Debug for CachedParent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CachedParent")
            .field("parent", &self.unique_id)
            .field("extent", &(1u64 << self.shift))
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl CachedParent {
    /// A cache of `options.budget` bytes in front of `parent`, which must be read-only.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use vhd::{CacheOptions, CachedParent, Disk, MemStorage, OpenOptions, VhdBuilder};
    /// # let bytes = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?.into_storage().into_inner();
    /// let golden = Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only())?);
    /// let cached = CachedParent::new(golden, CacheOptions::with_budget(1 << 30))?;
    /// assert_eq!(cached.stats().capacity, 1 << 30);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `parent` is not read-only ([`ParentDisk::is_read_only`]) or
    /// the extent is not a power of two between [`MIN_CACHE_EXTENT`] and [`MAX_CACHE_EXTENT`].
    pub fn new(parent: Arc<dyn ParentDisk>, options: CacheOptions) -> Result<Self> {
        if !parent.is_read_only() {
            return Err(Error::InvalidInput {
                what: "cached parent",
                reason: "is writable: only a read-only disk may be cached",
            });
        }
        let extent = options.extent;
        if !extent.is_power_of_two() || !(MIN_CACHE_EXTENT..=MAX_CACHE_EXTENT).contains(&extent) {
            return Err(Error::InvalidInput {
                what: "cache extent",
                reason: "must be a power of two from 4 KiB to 2 MiB",
            });
        }
        let extents = options.budget / extent;
        // A power of two, at most one shard per extent held.
        let shards = if extents == 0 {
            1
        } else {
            MAX_SHARDS.min(1 << extents.ilog2())
        };
        let per_shard = usize::try_from(extents / shards).unwrap_or(usize::MAX);
        Ok(CachedParent {
            unique_id: parent.unique_id(),
            size: parent.size(),
            parent,
            shift: extent.trailing_zeros(),
            shard_mask: shards - 1,
            shard_shift: shards.trailing_zeros(),
            per_shard,
            shards: (0..shards).map(|_| Shard::default()).collect(),
        })
    }

    /// The parent it caches.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{CacheOptions, CachedParent, Disk, MemStorage, OpenOptions, ParentDisk, VhdBuilder};
    /// # let bytes = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?.into_storage().into_inner();
    /// let golden: Arc<dyn ParentDisk> =
    ///     Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only())?);
    /// let cached = CachedParent::new(golden.clone(), CacheOptions::with_budget(1 << 20))?;
    /// assert!(Arc::ptr_eq(cached.parent(), &golden));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn parent(&self) -> &Arc<dyn ParentDisk> {
        &self.parent
    }

    /// Hits, misses and bytes held, summed over the shards (taking each shard's lock in turn).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{CacheOptions, CachedParent, Disk, MemStorage, OpenOptions, ParentDisk, VhdBuilder};
    /// # let bytes = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?.into_storage().into_inner();
    /// let golden = Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only())?);
    /// let cached = CachedParent::new(golden, CacheOptions::with_budget(1 << 20))?;
    /// let mut buf = [0u8; 512];
    /// cached.read_at(&mut buf, 0)?; // a miss: reads and keeps the whole 64 KiB extent
    /// cached.read_at(&mut buf, 4096)?; // a hit in the same extent
    /// let stats = cached.stats();
    /// assert_eq!((stats.hits, stats.misses, stats.resident), (1, 1, 64 << 10));
    /// assert_eq!(stats.capacity, 1 << 20);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn stats(&self) -> CacheStats {
        let mut stats = CacheStats {
            capacity: (self.per_shard as u64 * self.shards.len() as u64) << self.shift,
            ..CacheStats::default()
        };
        for shard in self.shards.iter() {
            stats.hits += shard.hits.load(Relaxed);
            stats.misses += shard.misses.load(Relaxed);
            let extents = shard.read();
            stats.resident += extents
                .slots
                .iter()
                .map(|s| s.data.len() as u64)
                .sum::<u64>();
        }
        stats
    }

    /// Copies `buf.len()` bytes at `in_extent` of extent `n` into `buf`: from memory, or
    /// after reading the whole extent from the parent and keeping it.
    fn copy_extent(&self, n: u64, in_extent: usize, buf: &mut [u8]) -> Result<()> {
        let shard = &self.shards[(n & self.shard_mask) as usize];
        let key = n >> self.shard_shift;
        let range = in_extent..in_extent + buf.len();
        let start = n << self.shift;
        let extent_len = (1u64 << self.shift).min(self.size - start) as usize;
        let spare = {
            let extents = shard.read();
            if let Some(&i) = extents.index.get(&key) {
                let slot = &extents.slots[i];
                // Write the shared line only when the bit changes.
                if !slot.referenced.load(Relaxed) {
                    slot.referenced.store(true, Relaxed);
                }
                buf.copy_from_slice(&slot.data[range]);
                drop(extents);
                shard.hits.fetch_add(1, Relaxed);
                return Ok(());
            }
            drop(extents);
            shard.misses.fetch_add(1, Relaxed);
            let mut extents = shard.write();
            if !extents.admit(key, self.per_shard) {
                drop(extents);
                return self.parent.read_at(buf, start + in_extent as u64);
            }
            extents.spare.take()
        };
        // Read without holding the lock: the shard's other extents stay readable meanwhile.
        let len = extent_len;
        let mut data = match spare {
            Some(spare) if spare.len() == len => spare,
            _ => vec![0u8; len].into_boxed_slice(),
        };
        self.parent.read_at(&mut data, start)?;
        buf.copy_from_slice(&data[range]);
        shard.write().insert(key, data, self.per_shard);
        Ok(())
    }
}

impl ParentDisk for CachedParent {
    fn unique_id(&self) -> Uuid {
        self.unique_id
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        Error::check_range(offset, buf.len() as u64, self.size)?;
        if self.per_shard == 0 {
            return self.parent.read_at(buf, offset);
        }
        let extent = 1usize << self.shift;
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let in_extent = (pos & (extent as u64 - 1)) as usize;
            let n = (extent - in_extent).min(buf.len() - done);
            self.copy_extent(pos >> self.shift, in_extent, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(())
    }

    fn is_read_only(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read-only parent whose byte `i` is `i % 251`, counting its reads.
    struct Pattern {
        size: u64,
        reads: std::sync::atomic::AtomicU64,
    }

    impl ParentDisk for Pattern {
        fn unique_id(&self) -> Uuid {
            Uuid::from_u128(7)
        }
        fn size(&self) -> u64 {
            self.size
        }
        fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
            self.reads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            for (i, b) in buf.iter_mut().enumerate() {
                *b = ((offset + i as u64) % 251) as u8;
            }
            Ok(())
        }
        fn is_read_only(&self) -> bool {
            true
        }
    }

    fn pattern(size: u64) -> Arc<Pattern> {
        Arc::new(Pattern {
            size,
            reads: 0.into(),
        })
    }

    fn expect(offset: u64, len: usize) -> Vec<u8> {
        (0..len as u64)
            .map(|i| ((offset + i) % 251) as u8)
            .collect()
    }

    #[test]
    fn reads_match_the_parent_and_hit_the_second_time() {
        let size = (1 << 20) + 1000; // a short last extent
        let p = pattern(size);
        let c = CachedParent::new(p.clone(), CacheOptions::with_budget(4 << 20)).unwrap();
        for &(off, len) in &[
            (0u64, 10usize),
            (65_530, 20),
            (size - 1500, 1500),
            (3, 300_000),
        ] {
            let mut buf = vec![0u8; len];
            c.read_at(&mut buf, off).unwrap();
            assert_eq!(buf, expect(off, len), "{off} {len}");
        }
        let misses = c.stats().misses;
        let reads = p.reads.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(misses, reads);
        let mut buf = vec![0u8; 300_000];
        c.read_at(&mut buf, 3).unwrap();
        assert_eq!(p.reads.load(std::sync::atomic::Ordering::Relaxed), reads);
        assert!(c.read_at(&mut [0u8; 2], size - 1).is_err());
        assert_eq!(c.stats().capacity, 4 << 20);
    }

    #[test]
    fn the_budget_bounds_what_is_held() {
        let p = pattern(8 << 20);
        let opts = CacheOptions::with_budget(256 << 10).extent(MIN_CACHE_EXTENT);
        let c = CachedParent::new(p, opts).unwrap();
        let mut buf = vec![0u8; 8 << 20];
        for _ in 0..3 {
            c.read_at(&mut buf, 0).unwrap();
            assert_eq!(buf, expect(0, buf.len()));
            let s = c.stats();
            assert!(s.resident <= 256 << 10, "{s:?}");
        }
        // Below one extent: nothing is held, reads pass through.
        let tiny = CachedParent::new(pattern(1 << 20), CacheOptions::with_budget(1000)).unwrap();
        let mut buf = vec![0u8; 5000];
        tiny.read_at(&mut buf, 77).unwrap();
        assert_eq!(buf, expect(77, 5000));
        assert_eq!(tiny.stats().resident, 0);
    }

    #[test]
    fn clock_keeps_what_is_read_again() {
        // (Each extent evicted for another was missed twice: the first miss of a full
        // shard's extent passes through.)
        let p = pattern(64 << 20);
        // One shard of four 64 KiB extents.
        let c = CachedParent::new(p.clone(), CacheOptions::with_budget(4 << 16)).unwrap();
        assert_eq!(c.shards.len(), 4);
        let c = CachedParent {
            shard_mask: 0,
            shard_shift: 0,
            per_shard: 4,
            shards: vec![Shard::default()].into(),
            ..c
        };
        // Whole extents: always admitted.
        let mut b = vec![0u8; 1 << 16];
        let mut read = |extent: u64| c.read_at(&mut b, extent << 16).unwrap();
        for e in 0..4 {
            read(e);
        }
        read(0); // referenced: survives the next eviction
        read(9); // passes through
        read(9); // evicts 1
        let reads = || p.reads.load(std::sync::atomic::Ordering::Relaxed);
        let before = reads();
        read(0);
        assert_eq!(reads(), before);
        read(1);
        read(1);
        assert_eq!(reads(), before + 2);
        // 1 came back in place of 2 (0 was referenced again): 0 is still there.
        read(0);
        assert_eq!(reads(), before + 2);
    }

    #[test]
    fn small_reads_of_a_full_cache_are_admitted_on_the_second_miss() {
        let p = pattern(64 << 20);
        let c = CachedParent::new(p.clone(), CacheOptions::with_budget(4 << 16)).unwrap();
        let reads = || p.reads.load(std::sync::atomic::Ordering::Relaxed);
        let mut b = [0u8; 100];
        // While there is room, a small read fetches and keeps its extent.
        for e in 0..4u64 {
            c.read_at(&mut b, e << 16).unwrap();
        }
        assert_eq!((reads(), c.stats().resident), (4, 4 << 16));
        c.read_at(&mut b, 3).unwrap();
        assert_eq!(reads(), 4);
        // Full: the first small miss of extent 9 passes through, the second admits it.
        c.read_at(&mut b, (9 << 16) + 5).unwrap();
        assert_eq!(b[..], expect((9 << 16) + 5, 100)[..]);
        c.read_at(&mut b, (9 << 16) + 7).unwrap();
        assert_eq!(b[..], expect((9 << 16) + 7, 100)[..]);
        assert_eq!(reads(), 6);
        c.read_at(&mut b, (9 << 16) + 9).unwrap();
        assert_eq!(b[..], expect((9 << 16) + 9, 100)[..]);
        assert_eq!(reads(), 6);
        assert_eq!(c.stats().resident, 4 << 16);
    }

    #[test]
    fn bad_options_and_writable_parents_are_refused() {
        let p = pattern(1 << 20);
        for extent in [0, 1000, 2048, 4 << 20] {
            let opts = CacheOptions::with_budget(1 << 20).extent(extent);
            assert!(CachedParent::new(p.clone(), opts).is_err(), "{extent}");
        }
        struct Unknown;
        impl ParentDisk for Unknown {
            fn unique_id(&self) -> Uuid {
                Uuid::nil()
            }
            fn size(&self) -> u64 {
                0
            }
            fn read_at(&self, _: &mut [u8], _: u64) -> Result<()> {
                Ok(())
            }
        }
        let err = CachedParent::new(Arc::new(Unknown), CacheOptions::with_budget(1 << 20));
        assert!(matches!(err, Err(Error::InvalidInput { .. })));
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<CachedParent>();
    }
}

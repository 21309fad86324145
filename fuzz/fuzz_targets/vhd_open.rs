//! Fuzz target `vhd_open`: see `vhd::fuzzing::vhd_open`. Besides its assertions, this target
//! checks that opening and reading never holds more heap than the input's length backs
//! (`vhd::fuzzing::vhd_open_alloc_bound`), with a counting global allocator: the library
//! forbids `unsafe`, so the allocator lives here.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting live bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn grew(by: usize) {
        let live = LIVE.fetch_add(by, Relaxed) + by;
        PEAK.fetch_max(live, Relaxed);
    }
}

// SAFETY: every call forwards to `System` with the caller's arguments; the counters only
// observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promised for `layout`.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promised for `layout`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`, as the caller promised.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Count the moment both blocks may exist, as a moving realloc holds them.
            Self::grew(new_size);
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    vhd::fuzzing::vhd_open_read(data);
    let peak = PEAK.load(Relaxed).saturating_sub(base);
    let bound = vhd::fuzzing::vhd_open_alloc_bound(data.len());
    assert!(
        peak <= bound,
        "opening and reading {} input bytes held {peak} heap bytes (bound {bound})",
        data.len()
    );
    if std::env::var_os("VHD_FUZZ_ALLOC_REPORT").is_some() {
        eprintln!("alloc: input {} peak {peak} bound {bound}", data.len());
    }
    vhd::fuzzing::vhd_open_write_probe(data);
});

//! A counting wrapper around the system allocator: while [`count`] runs,
//! every `alloc`, `alloc_zeroed` and `realloc` adds one call and the bytes
//! requested. Outside it the wrapper costs one relaxed load per call, the
//! same for every library.
//!
//! The counters are process-wide: the comparison is single-threaded.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static ENABLED: AtomicBool = AtomicBool::new(false);
static CALLS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// The global allocator of the comparison binary.
pub(crate) struct Counting;

impl Counting {
    fn note(size: usize) {
        if ENABLED.load(Relaxed) {
            CALLS.fetch_add(1, Relaxed);
            BYTES.fetch_add(size as u64, Relaxed);
        }
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counting touches only atomics and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::note(layout.size());
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above; `ptr` came from `System` through this wrapper.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What [`count`] saw.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counted {
    /// Allocator calls (alloc, alloc_zeroed, realloc).
    pub(crate) allocs: u64,
    /// Bytes requested.
    pub(crate) bytes: u64,
}

/// Runs `f` with counting on.
pub(crate) fn count(f: impl FnOnce()) -> Counted {
    CALLS.store(0, Relaxed);
    BYTES.store(0, Relaxed);
    ENABLED.store(true, Relaxed);
    f();
    ENABLED.store(false, Relaxed);
    Counted {
        allocs: CALLS.load(Relaxed),
        bytes: BYTES.load(Relaxed),
    }
}

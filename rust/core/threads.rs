//! Rayon pools of a requested size, shared by every parallel entry point, safe across `fork()`
//! (docs/fork-safety.md).
//!
//! rayon's global pool is never used: a forked child (a DataLoader worker, `multiprocessing`
//! with the fork start method) inherits the parent's pool objects but not its worker threads, so
//! any job sent to them waits forever. Pools therefore belong to the process that built them: the
//! cache is tagged with the PID, and the first call in a new process starts a fresh cache and
//! leaks the inherited one without touching it (not dropped: dropping a pool signals workers that
//! do not exist; not locked: its mutex may have been held by a thread the fork did not copy).

use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};

use crate::core::error::{CoreError, Result};

/// Most workers `with_threads` starts for one call.
pub const MAX_THREADS: usize = 1024;
/// Pools kept for reuse (distinct sizes); further sizes get a pool for the one call.
pub(crate) const CACHED_POOLS: usize = 8;
/// Prefix of the worker threads' names (what `py-spy`, `top -H` and the tests see).
pub const THREAD_NAME_PREFIX: &str = "tadfuse-";

/// The pools of one process, keyed by size (`None`: the default size).
struct ProcessPools {
    pid: u32,
    pools: Mutex<HashMap<Option<usize>, Arc<rayon::ThreadPool>>>,
}

/// The current process's pools; replaced (the old ones leaked) when the PID changes.
static CURRENT: AtomicPtr<ProcessPools> = AtomicPtr::new(std::ptr::null_mut());

fn process_pools() -> &'static ProcessPools {
    let pid = std::process::id();
    let seen = CURRENT.load(Ordering::Acquire);
    // SAFETY: every pointer stored in CURRENT comes from `Box::into_raw` below and is never
    // freed, so it stays valid for the rest of the process (and of any forked child).
    if let Some(pools) = unsafe { seen.as_ref() } {
        if pools.pid == pid {
            return pools;
        }
    }
    // First call in this process, or first after a fork: a fresh, empty cache. The inherited
    // one (if any) is leaked on purpose (module docs).
    let fresh = Box::into_raw(Box::new(ProcessPools { pid, pools: Mutex::new(HashMap::new()) }));
    match CURRENT.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: `fresh` was just leaked from a Box and is never freed.
        Ok(_) => unsafe { &*fresh },
        Err(winner) => {
            // Another thread of this process installed its cache first: use that one. `fresh`
            // was never shared, so it can be freed.
            // SAFETY: `fresh` came from `Box::into_raw` above and nobody else has seen it.
            drop(unsafe { Box::from_raw(fresh) });
            // SAFETY: as above, stored pointers are never freed. It was stored after our load by
            // a thread of this process, so it carries this PID.
            unsafe { &*winner }
        }
    }
}

/// The check of [`with_threads`] alone (for a call that runs serially but takes `num_threads`).
pub fn check_threads(threads: Option<usize>) -> Result<()> {
    match threads {
        Some(n) if n == 0 || n > MAX_THREADS => {
            Err(CoreError::invalid("num_threads", format!("must be in 1..={MAX_THREADS}, got {n}")))
        }
        _ => Ok(()),
    }
}

fn build(threads: Option<usize>) -> Result<Arc<rayon::ThreadPool>> {
    let mut b = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("{THREAD_NAME_PREFIX}{i}"));
    if let Some(n) = threads {
        b = b.num_threads(n);
    }
    b.build().map(Arc::new).map_err(|e| {
        let n = threads.map_or_else(|| "the default number of".to_string(), |n| n.to_string());
        CoreError::invalid("num_threads", format!("cannot start {n} threads: {e}"))
    })
}

/// Run `f` on a rayon pool of this process with `threads` workers (`None`: rayon's default
/// size, `RAYON_NUM_THREADS` or the number of logical CPUs). Pools are built once per size and
/// process and kept (up to a few sizes): starting threads on every call would cost more than a
/// small batch.
pub fn with_threads<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    check_threads(threads)?;
    let pool = {
        let mut pools = process_pools().pools.lock().unwrap_or_else(|e| e.into_inner());
        match pools.get(&threads) {
            Some(p) => Arc::clone(p),
            None if pools.len() < CACHED_POOLS => Arc::clone(pools.entry(threads).or_insert(build(threads)?)),
            None => build(threads)?,
        }
    };
    Ok(pool.install(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_own_worker() -> bool {
        std::thread::current().name().is_some_and(|n| n.starts_with(THREAD_NAME_PREFIX))
    }

    #[test]
    fn thread_counts_are_bounded() {
        assert!(with_threads(Some(0), || ()).is_err());
        assert!(with_threads(Some(MAX_THREADS + 1), || ()).unwrap_err().to_string().contains("num_threads"));
        // More distinct sizes than are cached still run.
        for n in 1..=CACHED_POOLS + 2 {
            assert_eq!(with_threads(Some(n), rayon::current_num_threads).unwrap(), n);
        }
    }

    #[test]
    fn the_default_size_is_an_own_pool_not_the_global_one() {
        assert!(with_threads(None, on_own_worker).unwrap());
        assert!(with_threads(Some(2), on_own_worker).unwrap());
        // Jobs spawned inside run on the same pool's workers.
        use rayon::prelude::*;
        assert!(with_threads(None, || (0..64).into_par_iter().all(|_| on_own_worker())).unwrap());
        assert!(!on_own_worker());
    }

    #[test]
    fn pools_are_reused_within_a_process() {
        with_threads(Some(3), || ()).unwrap();
        let cache = CURRENT.load(Ordering::Acquire);
        let pool = |n| Arc::as_ptr(&process_pools().pools.lock().unwrap()[&Some(n)]);
        let first = pool(3);
        with_threads(Some(3), || ()).unwrap();
        assert_eq!((cache, first), (CURRENT.load(Ordering::Acquire), pool(3)));
        assert_eq!(process_pools().pid, std::process::id());
    }
}

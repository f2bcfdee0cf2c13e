//! Rayon pools of a requested size, shared by every parallel entry point.

use crate::core::error::{CoreError, Result};

/// Most workers `with_threads` starts for one call.
pub const MAX_THREADS: usize = 1024;
/// Pools kept for reuse (distinct sizes); further sizes get a pool for the one call.
pub(crate) const CACHED_POOLS: usize = 8;

/// Run `f` on a rayon pool of `threads` workers (`None`: the global pool). Pools are built
/// once per size and kept (up to a few sizes): starting threads on every call would cost more
/// than a small batch.
pub fn with_threads<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let n = match threads {
        None => return Ok(f()),
        Some(n) if n == 0 || n > MAX_THREADS => {
            return Err(CoreError::invalid("num_threads", format!("must be in 1..={MAX_THREADS}, got {n}")))
        }
        Some(n) => n,
    };
    let build = || {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map(Arc::new)
            .map_err(|e| CoreError::invalid("num_threads", format!("cannot start {n} threads: {e}")))
    };
    let pool = {
        let mut pools = POOLS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        match pools.get(&n) {
            Some(p) => Arc::clone(p),
            None if pools.len() < CACHED_POOLS => Arc::clone(pools.entry(n).or_insert(build()?)),
            None => build()?,
        }
    };
    Ok(pool.install(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_are_bounded() {
        assert!(with_threads(Some(0), || ()).is_err());
        assert!(with_threads(Some(MAX_THREADS + 1), || ()).unwrap_err().to_string().contains("num_threads"));
        // More distinct sizes than are cached still run.
        for n in 1..=CACHED_POOLS + 2 {
            assert_eq!(with_threads(Some(n), rayon::current_num_threads).unwrap(), n);
        }
    }
}

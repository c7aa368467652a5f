//! The open-file limit: every connection holds a file descriptor, so a run's concurrency must
//! fit under the process's `RLIMIT_NOFILE` (`ulimit -n`), or its connections fail with "too many
//! open files".

/// Descriptors a process keeps beyond its connections: runtime, logs, listeners, reports.
pub const RESERVED_FILES: u64 = 64;

/// Raises the soft open-file limit to the hard one (allowed without privileges) and returns the
/// limit now in force; `None` when it cannot be read.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn raise_open_files() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed, which lives for
    // the whole call; failures are reported through the return values.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    Some(limit.rlim_cur)
}

/// Other platforms: unknown.
#[cfg(not(unix))]
pub fn raise_open_files() -> Option<u64> {
    None
}

/// Whether `connections` fit under the open-file limit `limit` beside [`RESERVED_FILES`].
pub fn fits(connections: u64, limit: u64) -> bool {
    connections.saturating_add(RESERVED_FILES) <= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_read_and_reserves_room() {
        let limit = raise_open_files().unwrap_or(u64::MAX);
        assert!(limit > RESERVED_FILES);
        assert!(fits(limit - RESERVED_FILES, limit));
        assert!(!fits(limit - RESERVED_FILES + 1, limit));
    }
}

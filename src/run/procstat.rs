//! gauntlet's own resource use, from /proc: CPU per group of threads (by thread-name prefix)
//! and resident memory — so that the driver's load on the machine is reported apart from the
//! in-process mocks' (docs/reports.md, "report.html").

use std::time::Duration;

/// CPU time used so far by the threads whose name starts with each prefix.
pub fn cpu_by_thread_prefix(prefixes: &[&str]) -> Vec<Duration> {
    let mut out = vec![Duration::ZERO; prefixes.len()];
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    let tick = clock_tick();
    for entry in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((name, ticks)) = parse_stat(&stat) else {
            continue;
        };
        if let Some(i) = prefixes.iter().position(|p| name.starts_with(p)) {
            out[i] += Duration::from_secs_f64(ticks as f64 / tick);
        }
    }
    out
}

/// The thread's name and utime + stime in clock ticks, from a `stat` line.
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = &stat[open + 1..close];
    // Fields after the name: state is field 3; utime and stime are fields 14 and 15.
    let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// Clock ticks per second (the unit of CPU times in /proc).
pub fn clock_ticks_per_s() -> f64 {
    clock_tick()
}

fn clock_tick() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// Resident set size of this process, in bytes.
pub fn rss_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .map_or(0, |p| p * page)
}

/// Raises the open-file limit to its hard maximum (docs/architecture.md, "A run"); returns the new
/// soft limit.
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write to and read from a valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        let want = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
            return want.rlim_cur;
        }
    }
    lim.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_stat_line_with_spaces_in_the_name() {
        let line = "123 (gauntlet-mock x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_stat(line), Some(("gauntlet-mock x", 300)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn measures_this_process() {
        assert!(rss_bytes() > 0);
        assert!(raise_nofile_limit() >= 1024);
        let burn = std::thread::Builder::new()
            .name("gauntlet-burn".into())
            .spawn(|| {
                let t = std::time::Instant::now();
                let mut x = 0u64;
                while t.elapsed() < Duration::from_millis(200) {
                    x = x.wrapping_add(std::hint::black_box(1));
                }
                cpu_by_thread_prefix(&["gauntlet-burn"])[0]
            })
            .unwrap();
        let used = burn.join().unwrap();
        assert!(used >= Duration::from_millis(50), "{used:?}");
    }
}

//! A launched gateway's process: started without a shell in its own process group, watched,
//! and torn down so that nothing it started outlives the run.
//!
//! - gauntlet makes itself a child subreaper ([`become_subreaper`]): a process the gateway
//!   started and then abandoned is re-parented to gauntlet, not to init, so it can be found and
//!   stopped;
//! - the gateway gets a parent-death signal (SIGKILL if gauntlet dies) and its own process group;
//! - [`Gateway::stop`]: SIGTERM to the group, a grace period, SIGKILL to what is left of the
//!   gateway's tree and group, then the zombies are reaped. [`Drop`] does the same without the
//!   grace, so a panic or an early return cannot leak the gateway;
//! - [`sweep`], once the run is over: SIGKILL to every process still below gauntlet (orphans
//!   that left the gateway's group, re-parented to gauntlet as its subreaper).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Makes this process a child subreaper (Linux; elsewhere nothing happens).
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
}

/// A running gateway.
pub struct Gateway {
    child: Child,
    pid: u32,
    pub log: PathBuf,
    pub started: Instant,
    exited: Option<ExitStatus>,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Spawn<'a> {
    pub argv: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub dir: &'a Path,
    /// stdout and stderr go here.
    pub log: &'a Path,
}

impl Gateway {
    /// Starts the gateway. Its argv is passed as is (no shell).
    pub fn spawn(s: &Spawn<'_>) -> Result<Gateway, String> {
        let Some((program, args)) = s.argv.split_first() else {
            return Err("the gateway's `command` is empty".into());
        };
        let out =
            File::create(s.log).map_err(|e| format!("cannot write {}: {e}", s.log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot write {}: {e}", s.log.display()))?;
        let mut c = Command::new(program);
        c.args(args)
            .envs(s.env)
            .current_dir(s.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            c.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = c
            .spawn()
            .map_err(|e| format!("cannot start the gateway `{program}`: {e}"))?;
        Ok(Gateway {
            pid: child.id(),
            child,
            log: s.log.to_path_buf(),
            started: Instant::now(),
            exited: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The exit status, once the gateway has exited (checked without waiting).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// The last `n` lines of the gateway's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// SIGTERM to the gateway's group, up to `grace` for it to exit, then SIGKILL to what is
    /// left of its tree and group. Returns how many processes had to be killed.
    pub fn stop(&mut self, grace: Duration) -> usize {
        let members = tree(&all_processes(), self.pid);
        signal_group(self.pid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Members seen before the SIGTERM, and whatever the group and tree hold now.
        let mut left: BTreeSet<u32> = members.iter().map(|p| p.pid).collect();
        let now = all_processes();
        left.extend(tree(&now, self.pid).iter().map(|p| p.pid));
        let alive: BTreeSet<u32> = now
            .iter()
            .filter(|p| p.state != 'Z')
            .map(|p| p.pid)
            .collect();
        let killed = left
            .iter()
            .filter(|pid| alive.contains(pid) && kill(**pid))
            .count();
        signal_group(self.pid, libc::SIGKILL);
        let _ = self.child.wait();
        reap(&left.into_iter().collect::<Vec<_>>());
        killed
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.exited().is_none() {
            self.stop(Duration::ZERO);
        }
    }
}

/// SIGKILL; `true` if the process existed (and was ours to signal).
fn kill(pid: u32) -> bool {
    let Ok(p) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with a pid; no memory involved.
    unsafe { libc::kill(p, libc::SIGKILL) == 0 }
}

/// SIGKILL to every process still below this one, then the zombies reaped. Returns how many
/// there were. For the end of a run: under a subreaper this catches what a gateway left behind.
pub fn sweep() -> usize {
    let killed: Vec<u32> = descendants(std::process::id())
        .into_iter()
        .filter(|&pid| kill(pid))
        .collect();
    reap(&killed);
    killed.len()
}

fn signal_group(pgid: u32, sig: i32) {
    if let Ok(p) = i32::try_from(pgid) {
        // SAFETY: kill with a negative pid signals the process group; no memory involved.
        unsafe {
            libc::kill(-p, sig);
        }
    }
}

/// Reaps the killed processes that are this process's children (orphans re-parented to a
/// subreaper become its children); others are their parents' to reap. Only the given pids, so
/// that children owned elsewhere (a runtime's) keep their exit status.
fn reap(killed: &[u32]) {
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut pending: Vec<i32> = killed
        .iter()
        .filter_map(|&p| i32::try_from(p).ok())
        .collect();
    while !pending.is_empty() && Instant::now() < deadline {
        pending.retain(|&pid| {
            let mut status = 0;
            // SAFETY: waitpid with WNOHANG writes only the status integer.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            r == 0 // still running (or not yet a zombie); -1: not our child; pid: reaped
        });
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// One line of /proc/PID/stat, the fields gauntlet reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub pid: u32,
    pub ppid: u32,
    pub pgrp: u32,
    pub state: char,
    /// User + system CPU time, clock ticks.
    pub cpu_ticks: u64,
    pub rss_pages: u64,
}

/// Parses /proc/PID/stat (the command name may hold spaces and parentheses).
pub fn parse_stat(text: &str) -> Option<Stat> {
    let pid = text.split_whitespace().next()?.parse().ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields from 3 (state) on; f[0] is field 3.
    let num = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    Some(Stat {
        pid,
        state: f.first()?.chars().next()?,
        ppid: u32::try_from(num(4)?).ok()?,
        pgrp: u32::try_from(num(5)?).ok()?,
        cpu_ticks: num(14)? + num(15)?,
        rss_pages: num(24)?,
    })
}

/// Every process on the machine, from /proc.
pub fn all_processes() -> Vec<Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let name = e.ok()?.file_name();
        let pid: u32 = name.to_str()?.parse().ok()?;
        parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    })
    .collect()
}

/// The living descendants of `root` (children, their children…), zombies left out.
pub fn descendants(root: u32) -> Vec<u32> {
    tree(&all_processes(), root)
        .into_iter()
        .filter(|p| p.pid != root)
        .map(|p| p.pid)
        .collect()
}

/// `root` and its descendants among `procs`, plus the members of `root`'s process group (a
/// process the gateway started that has left its tree is still in its group), no zombies.
pub fn tree(procs: &[Stat], root: u32) -> Vec<Stat> {
    let mut children: BTreeMap<u32, Vec<&Stat>> = BTreeMap::new();
    for p in procs {
        children.entry(p.ppid).or_default().push(p);
    }
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        if seen.insert(pid) {
            stack.extend(children.get(&pid).into_iter().flatten().map(|p| p.pid));
        }
    }
    procs
        .iter()
        .filter(|p| (seen.contains(&p.pid) || p.pgrp == root) && p.state != 'Z')
        .copied()
        .collect()
}

/// What a process tree uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub rss_bytes: u64,
    /// User + system CPU time of the living members, clock ticks.
    pub cpu_ticks: u64,
    pub processes: usize,
    /// Members that run this very program (`gauntlet mock --stdio` backends a gateway spawned).
    pub backends: usize,
}

/// What the tree of `root` uses now.
pub fn usage(root: u32) -> Usage {
    let page = page_size();
    let t = tree(&all_processes(), root);
    let me = std::env::current_exe().ok();
    let ours = |pid: u32| {
        me.is_some() && std::fs::read_link(format!("/proc/{pid}/exe")).ok().as_ref() == me.as_ref()
    };
    Usage {
        rss_bytes: t.iter().map(|p| p.rss_pages * page).sum(),
        cpu_ticks: t.iter().map(|p| p.cpu_ticks).sum(),
        processes: t.len(),
        backends: t.iter().filter(|p| ours(p.pid)).count(),
    }
}

/// Whether `pid` runs (exists and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| parse_stat(&t))
        .is_some_and(|s| s.state != 'Z')
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a constant.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(pid: u32, ppid: u32, pgrp: u32) -> Stat {
        Stat {
            pid,
            ppid,
            pgrp,
            state: 'S',
            cpu_ticks: 1,
            rss_pages: 10,
        }
    }

    #[test]
    fn stat_lines_with_odd_names() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5 1000 250 18446744073709551615";
        let s = parse_stat(line).expect("parsed");
        assert_eq!((s.pid, s.ppid, s.pgrp, s.state), (4242, 1, 4242, 'S'));
        assert_eq!(s.cpu_ticks, 10);
        assert_eq!(s.rss_pages, 250);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn trees_follow_parents_and_the_group() {
        let procs = [
            stat(10, 1, 10),  // gateway
            stat(11, 10, 10), // its child
            stat(12, 11, 12), // grandchild in its own group
            stat(13, 1, 10),  // left the tree (re-parented), still in the group
            stat(20, 1, 20),  // someone else
            Stat {
                state: 'Z',
                ..stat(14, 10, 10)
            },
        ];
        let mut pids: Vec<u32> = tree(&procs, 10).iter().map(|p| p.pid).collect();
        pids.sort_unstable();
        assert_eq!(pids, [10, 11, 12, 13]);
    }

    #[test]
    fn a_launched_tree_is_stopped_entirely() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("gateway.log");
        // A "gateway" that starts a child which ignores SIGTERM, and prints.
        let argv: Vec<String> = [
            "sh",
            "-c",
            "trap '' TERM; (trap '' TERM; sleep 60) & echo started; sleep 60",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let env = BTreeMap::new();
        let mut g = Gateway::spawn(&Spawn {
            argv: &argv,
            env: &env,
            dir: dir.path(),
            log: &log,
        })
        .expect("spawned");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !g.log_tail(5).contains("started") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(g.log_tail(5).contains("started"));
        let u = usage(g.pid());
        assert!(u.rss_bytes > 0 && u.processes >= 2, "{u:?}");
        assert!(alive(g.pid()));
        let pid = g.pid();
        g.stop(Duration::from_millis(200));
        // SIGKILLed processes take a moment to be gone.
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut left = tree(&all_processes(), pid);
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            left = tree(&all_processes(), pid);
        }
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

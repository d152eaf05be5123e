//! The fault timeline as data: the `faults:` windows of a scenario expanded into concrete
//! occurrences (a window with `every:` repeats), sorted by start, each with its own window
//! number — the `i` of phases `fault:i` and `settle:i` and of per-window results.
//!
//! The fault kind is a type parameter: the scenario code puts its own fault enum in.
//! Times count from t = 0, the first intended call.

use crate::units::format_duration;
use std::time::Duration;

/// The most occurrences a timeline may hold (a tiny `every` would otherwise make millions).
pub const MAX_OCCURRENCES: usize = 10_000;

/// A fault window as written: `{ at, for, every }` and its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Window<K> {
    /// Its position in the scenario's `faults:` list.
    pub index: usize,
    pub start: Duration,
    /// `None` for a point event (a crash).
    pub end: Option<Duration>,
    /// `every:` — the period from one occurrence's start to the next.
    pub repeat: Option<Duration>,
    pub kind: K,
}

/// One concrete occurrence of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence<K> {
    /// Its number in the timeline: occurrences sorted by start.
    pub window: usize,
    /// The [`Window::index`] it comes from.
    pub fault: usize,
    /// Which repetition of that window (0 for the first).
    pub nth: u32,
    pub start: Duration,
    /// `None` for a point event.
    pub end: Option<Duration>,
    /// Whether the end was cut to the run's end.
    pub cut: bool,
    pub kind: K,
}

impl<K> Occurrence<K> {
    /// The occurrence as a (start, end) span for [`super::phase::Phases::new`]; a point event
    /// is the empty span at its time.
    pub fn span(&self) -> (Duration, Duration) {
        (self.start, self.end.unwrap_or(self.start))
    }

    /// Whether the fault is on at `t` (`[start, end)`; a point event never is).
    pub fn active_at(&self, t: Duration) -> bool {
        self.start <= t && self.end.is_some_and(|e| t < e)
    }

    /// For warnings: "fault 2 (repeat 3) at 40s".
    pub fn describe(&self) -> String {
        let at = format_duration(self.start);
        match self.nth {
            0 => format!("fault {} at {at}", self.fault),
            n => format!("fault {} (repeat {n}) at {at}", self.fault),
        }
    }
}

/// A switch in the timeline, for whoever turns faults on and off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Edge {
    /// A window closes (ordered first, so back-to-back windows switch off, then on).
    End,
    /// A point event happens.
    Point,
    /// A window opens.
    Start,
}

/// One switch: at `at`, `edge` of occurrence `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub at: Duration,
    pub edge: Edge,
    pub window: usize,
}

/// The fault occurrences of a run, sorted by start.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline<K> {
    occurrences: Vec<Occurrence<K>>,
}

impl<K> Default for Timeline<K> {
    fn default() -> Self {
        Timeline {
            occurrences: Vec::new(),
        }
    }
}

/// Checks one window; the message names the fault by its index.
fn check<K>(w: &Window<K>) -> Result<(), String> {
    let i = w.index;
    if w.end.is_some_and(|e| e < w.start) {
        return Err(format!("fault {i}: the window ends before it starts"));
    }
    let Some(every) = w.repeat else { return Ok(()) };
    if every.is_zero() {
        return Err(format!("fault {i}: `every` must be above 0"));
    }
    let len = w.end.map_or(Duration::ZERO, |e| e - w.start);
    if every < len {
        return Err(format!(
            "fault {i}: `every: {}` is shorter than the window (`for: {}`); occurrences of one \
             fault must not overlap",
            format_duration(every),
            format_duration(len)
        ));
    }
    Ok(())
}

impl<K: Clone> Timeline<K> {
    /// Expands `windows` for a run of length `run`: a repeating window yields an occurrence
    /// every `repeat` while it starts before `run`. Then the timeline is cut at `run` as
    /// [`Timeline::truncate`] does; what that dropped is returned beside it (warn, never
    /// fail). Errors are for windows that make no sense: an end before the start, `every: 0`,
    /// `every` shorter than the window, or more than [`MAX_OCCURRENCES`] occurrences.
    pub fn new(
        windows: Vec<Window<K>>,
        run: Duration,
    ) -> Result<(Timeline<K>, Vec<Occurrence<K>>), String> {
        let mut occurrences = Vec::new();
        for w in windows {
            check(&w)?;
            let mut nth = 0u32;
            let mut offset = Duration::ZERO;
            loop {
                if occurrences.len() >= MAX_OCCURRENCES {
                    return Err(format!(
                        "fault {}: the timeline would hold more than {MAX_OCCURRENCES} \
                         occurrences; raise `every`",
                        w.index
                    ));
                }
                occurrences.push(Occurrence {
                    window: 0,
                    fault: w.index,
                    nth,
                    start: w.start.saturating_add(offset),
                    end: w.end.map(|e| e.saturating_add(offset)),
                    cut: false,
                    kind: w.kind.clone(),
                });
                let Some(every) = w.repeat else { break };
                offset = offset.saturating_add(every);
                nth += 1;
                if w.start.saturating_add(offset) >= run {
                    break;
                }
            }
        }
        occurrences.sort_by_key(|o| (o.start, o.fault, o.nth));
        for (i, o) in occurrences.iter_mut().enumerate() {
            o.window = i;
        }
        let mut timeline = Timeline { occurrences };
        let dropped = timeline.truncate(run);
        Ok((timeline, dropped))
    }
}

impl<K> Timeline<K> {
    /// Cuts the timeline at `at` (`--duration`): occurrences starting at or after it are
    /// dropped and returned (for a warning); one running at `at` ends there (`cut`). Window
    /// numbers of the occurrences kept do not change (the dropped ones are the last).
    pub fn truncate(&mut self, at: Duration) -> Vec<Occurrence<K>> {
        let keep = self.occurrences.partition_point(|o| o.start < at);
        let dropped = self.occurrences.split_off(keep);
        for o in &mut self.occurrences {
            if o.end.is_some_and(|e| e > at) {
                o.end = Some(at);
                o.cut = true;
            }
        }
        dropped
    }

    pub fn occurrences(&self) -> &[Occurrence<K>] {
        &self.occurrences
    }

    pub fn len(&self) -> usize {
        self.occurrences.len()
    }

    pub fn is_empty(&self) -> bool {
        self.occurrences.is_empty()
    }

    /// The occurrences on at `t`.
    pub fn active_at(&self, t: Duration) -> impl Iterator<Item = &Occurrence<K>> {
        self.occurrences.iter().filter(move |o| o.active_at(t))
    }

    /// (start, end) of every occurrence, in window order: the input of
    /// [`super::phase::Phases::new`].
    pub fn spans(&self) -> Vec<(Duration, Duration)> {
        self.occurrences.iter().map(Occurrence::span).collect()
    }

    /// Every switch, in time order; at the same time ends come before points and starts.
    pub fn transitions(&self) -> Vec<Transition> {
        let mut t = Vec::with_capacity(self.occurrences.len() * 2);
        for o in &self.occurrences {
            let w = o.window;
            match o.end {
                None => t.push(Transition {
                    at: o.start,
                    edge: Edge::Point,
                    window: w,
                }),
                Some(end) => {
                    t.push(Transition {
                        at: o.start,
                        edge: Edge::Start,
                        window: w,
                    });
                    t.push(Transition {
                        at: end,
                        edge: Edge::End,
                        window: w,
                    });
                }
            }
        }
        t.sort_by_key(|x| (x.at, x.edge, x.window));
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    /// A window from the file: (index, at, for, every, kind).
    fn w(
        index: usize,
        at: u64,
        len: Option<u64>,
        every: Option<u64>,
        kind: &'static str,
    ) -> Window<&'static str> {
        Window {
            index,
            start: s(at),
            end: len.map(|l| s(at + l)),
            repeat: every.map(s),
            kind,
        }
    }

    /// Each occurrence as `fault.nth@start-end` (`*` when cut; `@start` alone for a point
    /// event), in window order, with its kind.
    fn show(t: &Timeline<&'static str>) -> String {
        let mut out = Vec::new();
        for (i, o) in t.occurrences().iter().enumerate() {
            assert_eq!(o.window, i);
            let end = o.end.map_or(String::new(), |e| format!("-{}", e.as_secs()));
            let cut = if o.cut { "*" } else { "" };
            let (f, n, at, k) = (o.fault, o.nth, o.start.as_secs(), o.kind);
            out.push(format!("{f}.{n}@{at}{end}{cut}:{k}"));
        }
        out.join(" ")
    }

    /// (name, windows, run, occurrences, how many were dropped)
    type Case = (
        &'static str,
        Vec<Window<&'static str>>,
        u64,
        &'static str,
        usize,
    );

    #[test]
    fn expansion_by_table() {
        let (a, b, c) = ("a", "b", "c");
        #[rustfmt::skip]
        let cases: [Case; 8] = [
            ("none", vec![], 60, "", 0),
            ("two windows, sorted by start",
             vec![w(0, 40, Some(5), None, a), w(1, 20, Some(10), None, b)], 60,
             "1.0@20-30:b 0.0@40-45:a", 0),
            ("every 20s, until the run ends", vec![w(0, 10, Some(5), Some(20), a)], 60,
             "0.0@10-15:a 0.1@30-35:a 0.2@50-55:a", 0),
            ("repeats interleave with other faults",
             vec![w(0, 0, Some(5), Some(20), a), w(1, 30, None, None, c)], 50,
             "0.0@0-5:a 0.1@20-25:a 1.0@30:c 0.2@40-45:a", 0),
            ("the last repeat is cut at the end", vec![w(0, 0, Some(10), Some(25), a)], 55,
             "0.0@0-10:a 0.1@25-35:a 0.2@50-55*:a", 0),
            ("a window after the run is dropped, one across its end cut",
             vec![w(0, 50, Some(20), None, a), w(1, 60, Some(5), None, b), w(2, 70, None, None, c)],
             60, "0.0@50-60*:a", 2),
            ("back-to-back repeats (every = for)", vec![w(0, 0, Some(10), Some(10), a)], 30,
             "0.0@0-10:a 0.1@10-20:a 0.2@20-30:a", 0),
            ("same start: by fault index",
             vec![w(1, 10, None, None, b), w(0, 10, Some(1), None, a)], 60,
             "0.0@10-11:a 1.0@10:b", 0),
        ];
        for (name, windows, run, want, want_dropped) in cases {
            let (t, dropped) = Timeline::new(windows, s(run)).unwrap();
            assert_eq!(show(&t), want, "{name}");
            assert_eq!(dropped.len(), want_dropped, "{name}");
        }
    }

    #[test]
    fn truncation_drops_and_cuts_without_renumbering() {
        let windows = vec![
            w(0, 10, Some(10), None, "a"),
            w(1, 30, None, None, "crash"),
            w(2, 40, Some(10), None, "b"),
        ];
        let cases: [(u64, usize, Vec<usize>, Option<u64>); 5] = [
            (60, 3, vec![], Some(50)),
            (45, 3, vec![], Some(45)),
            (40, 2, vec![2], None),
            (30, 1, vec![1, 2], Some(20)),
            (15, 1, vec![1, 2], Some(15)),
        ];
        for (at, kept, dropped_windows, last_end) in cases {
            let (mut t, _) = Timeline::new(windows.clone(), s(60)).unwrap();
            let dropped = t.truncate(s(at));
            assert_eq!(t.len(), kept, "at {at}");
            let d: Vec<usize> = dropped.iter().map(|o| o.window).collect();
            assert_eq!(d, dropped_windows, "at {at}");
            let last = &t.occurrences()[kept - 1];
            assert_eq!(last.end.map(|e| e.as_secs()), last_end, "at {at}");
            assert!(
                t.occurrences()
                    .iter()
                    .enumerate()
                    .all(|(i, o)| o.window == i)
            );
        }
        let (mut t, _) = Timeline::new(windows, s(60)).unwrap();
        assert_eq!(t.truncate(s(35))[0].describe(), "fault 2 at 40s");
    }

    #[test]
    fn bad_windows_are_errors() {
        let cases = [
            (
                w(3, 0, Some(10), Some(5), "a"),
                "fault 3: `every: 5s` is shorter than the window",
            ),
            (w(0, 0, None, Some(0), "a"), "`every` must be above 0"),
            (
                Window {
                    index: 1,
                    start: s(10),
                    end: Some(s(5)),
                    repeat: None,
                    kind: "a",
                },
                "ends before it starts",
            ),
        ];
        for (window, want) in cases {
            let e = Timeline::new(vec![window], s(60)).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        let tiny = Window {
            index: 0,
            start: s(0),
            end: None,
            repeat: Some(Duration::from_millis(1)),
            kind: "a",
        };
        assert!(
            Timeline::new(vec![tiny], s(60))
                .unwrap_err()
                .contains("more than")
        );
    }

    #[test]
    fn activity_spans_and_transitions() {
        let windows = vec![
            w(0, 10, Some(10), Some(10), "a"),
            w(1, 15, None, None, "crash"),
        ];
        let (t, _) = Timeline::new(windows, s(30)).unwrap();
        // Occurrences: 0 = a [10, 20), 1 = crash at 15, 2 = a [20, 30).
        let active = |at| t.active_at(s(at)).map(|o| o.window).collect::<Vec<_>>();
        assert_eq!(active(9), Vec::<usize>::new());
        assert_eq!(active(15), vec![0]);
        assert_eq!(active(20), vec![2]);
        assert_eq!(
            t.spans(),
            vec![(s(10), s(20)), (s(15), s(15)), (s(20), s(30))]
        );
        let tr: Vec<(u64, Edge, usize)> = t
            .transitions()
            .iter()
            .map(|x| (x.at.as_secs(), x.edge, x.window))
            .collect();
        assert_eq!(
            tr,
            vec![
                (10, Edge::Start, 0),
                (15, Edge::Point, 1),
                (20, Edge::End, 0),
                (20, Edge::Start, 2),
                (30, Edge::End, 2),
            ]
        );
    }
}

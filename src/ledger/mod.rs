//! The request ledger (docs/architecture.md, "Mock servers"): every request a mock receives,
//! counted as it arrives and aggregated online so that memory stays flat; raw entries go to a
//! JSON-lines file only when asked.
//!
//! Call ids are tracked in two sparse bitsets over the driver's dense id sequence ("seen" and
//! "seen twice"); ids outside the issued range are counted as foreign.

pub mod ids;

use ids::{Arrived, IdSet, KEY_CAP, KeyCounts};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::{Mutex, mpsc};

/// The methods counted by name; anything else is counted as `other`.
const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
    "logging/setLevel",
    "completion/complete",
    "server/discover",
];

/// How a mock answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "code")]
pub enum Answered {
    Ok,
    ToolError,
    RpcError(i32),
    HttpError(u16),
    /// The client cancelled it (notifications/cancelled).
    Cancelled,
    /// The client went away before the answer was ready.
    Abandoned,
}

/// What is known of a request when it arrives.
#[derive(Debug, Clone, Serialize)]
pub struct Arrival {
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub args_hash: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// CLOCK_MONOTONIC nanoseconds.
    pub arrival_ns: u64,
}

/// A recorded arrival, to be finished with its outcome.
pub struct Ticket {
    pub arrival: Arrival,
    /// The tool's slot in the ledger (found once, on arrival).
    slot: Option<usize>,
    /// For calls without a call id: how many earlier calls had the same tool and arguments
    /// (faults key on it: docs/scenario.md, "Faults").
    pub key_index: u64,
}

#[derive(Serialize)]
struct Entry<'a> {
    server: &'a str,
    #[serde(flatten)]
    arrival: &'a Arrival,
    service_ns: u64,
    outcome: Answered,
}

/// Per-tool counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ToolCounts {
    pub calls: u64,
    pub ok: u64,
    pub tool_error: u64,
    pub rpc_error: u64,
    pub http_error: u64,
    pub cancelled: u64,
    pub abandoned: u64,
    pub service_us_sum: u64,
}

/// Call-id bookkeeping.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CallIds {
    /// Distinct ids in the issued range.
    pub distinct: u64,
    /// Ids seen more than once (retries, duplicated forwarding).
    pub repeated: u64,
    /// Arrivals of an id already seen twice or more.
    pub extra_arrivals: u64,
    /// Ids outside the issued range.
    pub foreign: u64,
    /// Calls (tools/call) that carried no id.
    pub missing: u64,
}

/// The ledger's aggregate, as reported.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Snapshot {
    pub server: String,
    pub requests: u64,
    pub methods: BTreeMap<String, u64>,
    pub tools: BTreeMap<String, ToolCounts>,
    pub call_ids: CallIds,
    /// Calls (tools/call) that carried a traceparent (in `_meta` or the header).
    pub with_traceparent: u64,
}

impl Snapshot {
    /// tools/call requests (every tool).
    pub fn tool_calls(&self) -> u64 {
        self.methods.get("tools/call").copied().unwrap_or(0)
    }

    /// What arrived after `before` (an earlier snapshot of the same ledger): counters minus
    /// counters.
    pub fn since(&self, before: &Snapshot) -> Snapshot {
        let mut s = self.clone();
        s.requests = s.requests.saturating_sub(before.requests);
        for (m, n) in &mut s.methods {
            *n = n.saturating_sub(before.methods.get(m).copied().unwrap_or(0));
        }
        for (t, c) in &mut s.tools {
            if let Some(b) = before.tools.get(t) {
                c.calls = c.calls.saturating_sub(b.calls);
                c.ok = c.ok.saturating_sub(b.ok);
                c.tool_error = c.tool_error.saturating_sub(b.tool_error);
                c.rpc_error = c.rpc_error.saturating_sub(b.rpc_error);
                c.http_error = c.http_error.saturating_sub(b.http_error);
                c.cancelled = c.cancelled.saturating_sub(b.cancelled);
                c.abandoned = c.abandoned.saturating_sub(b.abandoned);
                c.service_us_sum = c.service_us_sum.saturating_sub(b.service_us_sum);
            }
        }
        let (i, b) = (&mut s.call_ids, &before.call_ids);
        i.distinct = i.distinct.saturating_sub(b.distinct);
        i.repeated = i.repeated.saturating_sub(b.repeated);
        i.extra_arrivals = i.extra_arrivals.saturating_sub(b.extra_arrivals);
        i.foreign = i.foreign.saturating_sub(b.foreign);
        i.missing = i.missing.saturating_sub(b.missing);
        s.with_traceparent = s.with_traceparent.saturating_sub(before.with_traceparent);
        s
    }
}

struct Inner {
    issued: Range<u64>,
    methods: Vec<u64>,
    tools: Vec<ToolCounts>,
    other_tools: ToolCounts,
    requests: u64,
    ids_seen: IdSet,
    ids: CallIds,
    with_traceparent: u64,
    /// tools/call arrivals without a call id, per (tool slot, arguments hash).
    unmarked: KeyCounts<(Option<usize>, u64)>,
}

/// One server's ledger.
pub struct Ledger {
    server: String,
    tool_names: Vec<String>,
    inner: Mutex<Inner>,
    raw: Option<mpsc::Sender<String>>,
}

impl Ledger {
    pub fn new(server: &str, tool_names: Vec<String>) -> Ledger {
        let n = tool_names.len();
        Ledger {
            server: server.to_string(),
            tool_names,
            inner: Mutex::new(Inner {
                issued: ids::ISSUED,
                methods: vec![0; METHODS.len() + 1],
                tools: vec![ToolCounts::default(); n],
                other_tools: ToolCounts::default(),
                requests: 0,
                ids_seen: IdSet::default(),
                ids: CallIds::default(),
                with_traceparent: 0,
                unmarked: KeyCounts::new(KEY_CAP),
            }),
            raw: None,
        }
    }

    /// Streams raw entries as JSON lines to `sink` (a writer thread keeps I/O off the calls).
    pub fn with_raw_sink(mut self, sink: mpsc::Sender<String>) -> Ledger {
        self.raw = Some(sink);
        self
    }

    /// The call ids the driver issues; others count as foreign.
    pub fn set_issued(&self, range: Range<u64>) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).issued = range;
    }

    fn tool_slot(&self, tool: Option<&str>) -> Option<usize> {
        tool.and_then(|t| self.tool_names.iter().position(|n| n == t))
    }

    /// Counts a request as it arrives.
    pub fn arrive(&self, arrival: Arrival) -> Ticket {
        let slot = self.tool_slot(arrival.tool.as_deref());
        let is_call = arrival.method == "tools/call";
        let m = METHODS
            .iter()
            .position(|m| *m == arrival.method)
            .unwrap_or(METHODS.len());
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.requests += 1;
        g.methods[m] += 1;
        if is_call {
            match slot {
                Some(i) => g.tools[i].calls += 1,
                None => g.other_tools.calls += 1,
            }
            if arrival.traceparent.is_some() {
                g.with_traceparent += 1;
            }
        }
        let mut key_index = 0;
        match arrival.call_id {
            Some(id) if g.issued.contains(&id) => match g.ids_seen.arrive(id) {
                Arrived::First => g.ids.distinct += 1,
                Arrived::Second => g.ids.repeated += 1,
                Arrived::Again => g.ids.extra_arrivals += 1,
            },
            Some(_) => g.ids.foreign += 1,
            None => {
                if is_call {
                    g.ids.missing += 1;
                    // Past the map's bound a new key counts as its first arrival.
                    key_index = g.unmarked.add(&(slot, arrival.args_hash)).unwrap_or(0);
                }
            }
        }
        Ticket {
            arrival,
            slot,
            key_index,
        }
    }

    /// Counts how a request was answered.
    pub fn finish(&self, ticket: &Ticket, service_ns: u64, outcome: Answered) {
        let a = &ticket.arrival;
        if a.method == "tools/call" {
            let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let c = match ticket.slot {
                Some(i) => &mut g.tools[i],
                None => &mut g.other_tools,
            };
            match outcome {
                Answered::Ok => c.ok += 1,
                Answered::ToolError => c.tool_error += 1,
                Answered::RpcError(_) => c.rpc_error += 1,
                Answered::HttpError(_) => c.http_error += 1,
                Answered::Cancelled => c.cancelled += 1,
                Answered::Abandoned => c.abandoned += 1,
            }
            c.service_us_sum += service_ns / 1000;
        }
        if let Some(tx) = &self.raw {
            let entry = Entry {
                server: &self.server,
                arrival: a,
                service_ns,
                outcome,
            };
            if let Ok(line) = serde_json::to_string(&entry) {
                let _ = tx.send(line);
            }
        }
    }

    /// How often call id `id` arrived: 0, 1, or 2 for twice or more (O(1)).
    pub fn seen_count(&self, id: u64) -> u8 {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.issued.contains(&id) {
            g.ids_seen.count(id)
        } else {
            0
        }
    }

    /// The call-id counters alone (cheaper than a snapshot).
    pub fn call_ids(&self) -> CallIds {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ids
            .clone()
    }

    /// The tools/call arrivals of `tool` that carried no call id, per arguments hash; `Err`
    /// (saying why) when the per-arguments map overflowed and the counts are incomplete.
    pub fn unmarked(&self, tool: &str) -> std::result::Result<HashMap<u64, u64>, String> {
        let slot = self.tool_slot(Some(tool));
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.unmarked.overflow() > 0 {
            return Err(format!(
                "`{}` received calls without a call id with more than {KEY_CAP} distinct \
                 arguments: too many to match",
                self.server
            ));
        }
        Ok(g.unmarked
            .iter()
            .filter(|((s, _), _)| *s == slot)
            .map(|((_, h), n)| (*h, *n))
            .collect())
    }

    pub fn snapshot(&self) -> Snapshot {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut methods = BTreeMap::new();
        for (i, n) in g.methods.iter().enumerate() {
            if *n > 0 {
                let name = METHODS.get(i).copied().unwrap_or("other");
                methods.insert(name.to_string(), *n);
            }
        }
        let mut tools: BTreeMap<String, ToolCounts> = self
            .tool_names
            .iter()
            .cloned()
            .zip(g.tools.iter().cloned())
            .collect();
        if g.other_tools.calls > 0 {
            tools.insert("(unknown)".into(), g.other_tools.clone());
        }
        Snapshot {
            server: self.server.clone(),
            requests: g.requests,
            methods,
            tools,
            call_ids: g.ids.clone(),
            with_traceparent: g.with_traceparent,
        }
    }
}

/// A thread that writes raw ledger entries as JSON lines.
pub struct RawWriter {
    tx: mpsc::Sender<String>,
    thread: std::thread::JoinHandle<()>,
}

impl RawWriter {
    /// Creates `path` and starts the writer.
    pub fn create(path: &Path) -> std::io::Result<RawWriter> {
        let file = std::fs::File::create(path)?;
        let (tx, rx) = mpsc::channel::<String>();
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || {
                let mut out = std::io::BufWriter::new(file);
                for line in rx {
                    if writeln!(out, "{line}").is_err() {
                        return;
                    }
                }
                let _ = out.flush();
            })?;
        Ok(RawWriter { tx, thread })
    }

    /// A sender for [`Ledger::with_raw_sink`].
    pub fn sink(&self) -> mpsc::Sender<String> {
        self.tx.clone()
    }

    /// Waits until every line is on disk; call after every ledger using it is dropped.
    pub fn finish(self) {
        drop(self.tx);
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: Option<u64>, tool: &str) -> Arrival {
        Arrival {
            method: "tools/call".into(),
            tool: Some(tool.into()),
            args_hash: 1,
            call_id: id,
            traceparent: None,
            session: None,
            arrival_ns: 0,
        }
    }

    #[test]
    fn counts_ids_once_twice_and_foreign() {
        let l = Ledger::new("s", vec!["a".into()]);
        l.set_issued(0..100);
        for id in [1, 2, 2, 3, 3, 3, 500] {
            let t = l.arrive(call(Some(id), "a"));
            l.finish(&t, 1000, Answered::Ok);
        }
        let s = l.snapshot();
        assert_eq!(s.call_ids.distinct, 3);
        assert_eq!(s.call_ids.repeated, 2);
        assert_eq!(s.call_ids.extra_arrivals, 1);
        assert_eq!(s.call_ids.foreign, 1);
        assert_eq!(s.tools["a"].calls, 7);
        assert_eq!(s.tools["a"].ok, 7);
        assert_eq!(s.methods["tools/call"], 7);
    }

    #[test]
    fn calls_without_ids_get_a_per_key_index() {
        let l = Ledger::new("s", vec!["a".into()]);
        let idx: Vec<u64> = (0..3)
            .map(|_| l.arrive(call(None, "a")).key_index)
            .collect();
        assert_eq!(idx, vec![0, 1, 2]);
        assert_eq!(l.snapshot().call_ids.missing, 3);
    }

    #[test]
    fn seen_counts_unmarked_calls_and_since() {
        let l = Ledger::new("s", vec!["a".into(), "b".into()]);
        l.set_issued(0..100);
        let before = l.snapshot();
        for (id, tool, h) in [
            (Some(4), "a", 1),
            (Some(4), "a", 1),
            (None, "a", 7),
            (None, "a", 7),
            (None, "b", 7),
            (Some(500), "a", 1),
        ] {
            let mut c = call(id, tool);
            c.args_hash = h;
            let t = l.arrive(c);
            l.finish(&t, 1000, Answered::Ok);
        }
        assert_eq!(
            (l.seen_count(4), l.seen_count(5), l.seen_count(500)),
            (2, 0, 0)
        );
        let a = l.unmarked("a").expect("counts");
        assert_eq!(a.get(&7), Some(&2));
        assert_eq!(a.len(), 1);
        assert_eq!(l.unmarked("b").expect("counts").get(&7), Some(&1));
        let s = l.snapshot().since(&before);
        assert_eq!(s.tool_calls(), 6);
        assert_eq!(
            (s.call_ids.distinct, s.call_ids.repeated, s.call_ids.missing),
            (1, 1, 3)
        );
        assert_eq!(s.since(&s).tool_calls(), 0);
    }
}

//! The result cache of one backend: results of cacheable tools (a pure function of their
//! arguments), keyed by the tool and its arguments as canonical JSON (object keys sorted, so
//! that `{"a":1,"b":2}` and `{"b":2,"a":1}` are one key), kept for the tool's time to live,
//! at most `max` entries (the oldest go first), and dropped whole when the backend says its
//! tools changed (notifications/tools/list_changed).
//!
//! The time is passed in, so expiry is tested without sleeping.

use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// The cache key of a call: the tool's name, a newline, the canonical arguments.
pub fn key(tool: &str, args: Option<&Value>) -> String {
    let mut out = String::with_capacity(tool.len() + 64);
    out.push_str(tool);
    out.push('\n');
    match args {
        None | Some(Value::Null) => out.push_str("{}"),
        Some(v) => canonical(v, &mut out),
    }
    out
}

/// `v` as JSON with every object's keys in order.
pub fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

struct Entry {
    value: Arc<Value>,
    expires: Instant,
    seq: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Arc<str>, Entry>,
    /// Keys in insertion order, with the insertion they stand for (older ones are stale).
    order: VecDeque<(Arc<str>, u64)>,
    seq: u64,
}

impl Inner {
    /// Drops expired entries from the front of the insertion queue, up to the first live
    /// one, so that a steady stream of new keys keeps the cache at what the time to live
    /// holds instead of filling it to the bound. Amortised O(1): each key is popped once.
    fn sweep(&mut self, now: Instant) {
        while let Some((k, s)) = self.order.front() {
            match self.map.get(k) {
                Some(e) if e.seq == *s && now < e.expires => break,
                Some(e) if e.seq == *s => {
                    self.map.remove(k);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }
}

pub struct Cache {
    max: usize,
    inner: Mutex<Inner>,
}

impl Cache {
    /// A cache of at most `max` entries (0: nothing is cached).
    pub fn new(max: usize) -> Cache {
        Cache {
            max,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached result for `key`, if there is one that has not expired.
    pub fn get(&self, key: &str, now: Instant) -> Option<Arc<Value>> {
        let mut g = self.lock();
        let e = g.map.get(key)?;
        if now < e.expires {
            return Some(e.value.clone());
        }
        g.map.remove(key);
        None
    }

    /// Keeps `value` for `ttl`.
    pub fn put(&self, key: String, value: Value, ttl: Duration, now: Instant) {
        if self.max == 0 || ttl.is_zero() {
            return;
        }
        let mut g = self.lock();
        g.seq += 1;
        let seq = g.seq;
        let key: Arc<str> = Arc::from(key);
        let entry = Entry {
            value: Arc::new(value),
            expires: now + ttl,
            seq,
        };
        g.map.insert(key.clone(), entry);
        g.order.push_back((key, seq));
        g.sweep(now);
        while g.map.len() > self.max {
            let Some((k, s)) = g.order.pop_front() else {
                break;
            };
            if g.map.get(&k).is_some_and(|e| e.seq == s) {
                g.map.remove(&k);
            }
        }
        // Stale order entries (keys stored again, or expired) are dropped now and then, so
        // that the queue stays within a few times the entries.
        if g.order.len() > 2 * self.max + 64 {
            let Inner { map, order, .. } = &mut *g;
            order.retain(|(k, s)| map.get(k).is_some_and(|e| e.seq == *s));
        }
    }

    /// Drops every entry; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut g = self.lock();
        let n = g.map.len();
        g.map.clear();
        g.order.clear();
        n
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_canonical() {
        let a = key(
            "t",
            Some(&json!({"b": [1, {"y": 2, "x": "é\""}], "a": null})),
        );
        let b = key(
            "t",
            Some(&json!({"a": null, "b": [1, {"x": "é\"", "y": 2}]})),
        );
        assert_eq!(a, b);
        assert_eq!(a, "t\n{\"a\":null,\"b\":[1,{\"x\":\"é\\\"\",\"y\":2}]}");
        assert_eq!(key("t", None), key("t", Some(&json!({}))));
        assert_ne!(
            key("t", Some(&json!({"a": 1}))),
            key("u", Some(&json!({"a": 1})))
        );
        assert_ne!(
            key("t", Some(&json!({"a": 1}))),
            key("t", Some(&json!({"a": "1"})))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn expired_entries_go_without_being_read() {
        let t0 = Instant::now();
        let c = Cache::new(100_000);
        let ttl = Duration::from_secs(10);
        // A new key every 10 ms for 100 s, none read again: the cache holds what 10 s hold.
        for i in 0..10_000u64 {
            let now = t0 + Duration::from_millis(10 * i);
            c.put(format!("k{i}"), json!(i), ttl, now);
            assert!(c.len() <= 1001, "{} entries at {i}", c.len());
        }
        assert!(c.len() >= 999);
        assert!(c.lock().order.len() <= 1001);
        // A longer-lived entry at the front holds the sweep back, within the bound.
        let c = Cache::new(50);
        c.put("long".into(), json!(0), Duration::from_secs(1000), t0);
        for i in 0..200u64 {
            c.put(format!("k{i}"), json!(i), ttl, t0 + Duration::from_secs(i));
        }
        assert_eq!(c.get("long", t0 + Duration::from_secs(199)), None, "bound");
        assert!(c.len() <= 11, "{} entries once the long one went", c.len());
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_and_are_bounded() {
        let t0 = Instant::now();
        let c = Cache::new(2);
        let ttl = Duration::from_secs(10);
        c.put("a".into(), json!(1), ttl, t0);
        assert_eq!(
            c.get("a", t0 + Duration::from_secs(9)).as_deref(),
            Some(&json!(1))
        );
        assert_eq!(c.get("a", t0 + ttl), None);
        c.put("a".into(), json!(1), ttl, t0);
        c.put("b".into(), json!(2), ttl, t0);
        c.put("a".into(), json!(3), ttl, t0);
        c.put("c".into(), json!(4), ttl, t0);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("b", t0), None, "the oldest entry went");
        assert_eq!(c.get("a", t0).as_deref(), Some(&json!(3)));
        for i in 0..1000 {
            c.put("a".into(), json!(i), ttl, t0);
        }
        assert!(c.lock().order.len() <= 2 * 2 + 64 + 1);
        assert_eq!(c.clear(), 2);
        assert!(c.is_empty());
        let off = Cache::new(0);
        off.put("a".into(), json!(1), ttl, t0);
        assert!(off.is_empty());
    }
}

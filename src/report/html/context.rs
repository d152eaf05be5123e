//! The context of a run in report.html: the gateway (how it was reached and started, its names
//! for the scenario's tools), the protocols spoken, and the events.

use super::markup::{Cell, empty, escape, n, section, t, table};
use crate::metrics::Summary;
use crate::metrics::summary::EventEntryKind;
use std::fmt::Write;

/// How the gateway was reached and started, its names, and the protocols spoken.
pub(super) fn gateway(s: &Summary) -> String {
    let mut out = section("gateway", "Gateway and protocols");
    match &s.gateway {
        None => out.push_str(&empty(
            "No gateway: the driver called the mock servers directly.",
        )),
        Some(g) => {
            let command = g
                .command
                .iter()
                .map(|a| escape(a))
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(
                out,
                "<p>{} at <code>{}</code>{}; at teardown {} process(es) killed, {} swept.</p>",
                escape(&g.kind),
                escape(&g.url),
                if command.is_empty() {
                    String::new()
                } else {
                    format!(", started as <code>{command}</code>")
                },
                g.killed_at_teardown,
                g.swept_at_teardown
            );
            let rows: Vec<Vec<Cell>> = g
                .names
                .iter()
                .map(|x| vec![t(&x.server), t(&x.tool), t(&x.name), t(&x.how)])
                .collect();
            if !rows.is_empty() {
                out.push_str(&table(
                    &["server", "tool", "name at the gateway", "how"],
                    &rows,
                ));
            }
        }
    }
    out.push_str("<h3>Protocols spoken</h3>\n");
    let rows: Vec<Vec<Cell>> = s
        .protocols
        .iter()
        .map(|p| {
            let probed = if p.probed { "probed" } else { "named" };
            vec![
                t(&p.target),
                t(&p.revision),
                t(&p.era),
                t(&p.transport),
                t(probed),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str(&empty("No protocol was recorded."));
    } else {
        out.push_str(&table(
            &["target", "revision", "era", "transport", "how"],
            &rows,
        ));
    }
    out.push_str("</section>\n");
    out
}

/// At most this many events are listed.
const EVENT_ROWS: usize = 300;
/// Up to this many events are listed unfolded.
const EVENTS_OPEN: usize = 20;

/// Faults, processes, reinitialised sessions and notes (session starts are left out).
pub(super) fn events(s: &Summary) -> String {
    let mut out = section("events", "Events");
    let listed: Vec<_> = s
        .events
        .iter()
        .filter(|e| !matches!(e.kind, EventEntryKind::SessionInit { .. }))
        .collect();
    if listed.is_empty() {
        out.push_str(&empty("No fault, process or note events."));
        out.push_str("</section>\n");
        return out;
    }
    let rows: Vec<Vec<Cell>> = listed
        .iter()
        .take(EVENT_ROWS)
        .map(|e| {
            let at = format!("{:.3} s", e.at_ns as f64 / 1e9);
            let (what, text) = event_text(&e.kind);
            vec![n(at), t(what), t(text)]
        })
        .collect();
    // A few events are shown at once; many are folded.
    let open = if listed.len() <= EVENTS_OPEN {
        " open"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<details{open}><summary>{} events</summary>",
        listed.len()
    );
    out.push_str(&table(&["at", "event", "detail"], &rows));
    if listed.len() > EVENT_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"note\">… and {} more (results.json has them all).</p>",
            listed.len() - EVENT_ROWS
        );
    }
    out.push_str("</details>\n</section>\n");
    out
}

fn event_text(k: &EventEntryKind) -> (&'static str, String) {
    match k {
        EventEntryKind::SessionInit {
            server,
            session,
            ok,
            ..
        } => ("session", format!("{server} session {session} ok={ok}")),
        EventEntryKind::Reinit { server, session } => (
            "reinit",
            format!("{server} session {session} initialised again"),
        ),
        EventEntryKind::Fault {
            index,
            server,
            kind,
            start,
        } => {
            let edge = if *start { "starts" } else { "ends" };
            ("fault", format!("fault {index}: {kind} on {server} {edge}"))
        }
        EventEntryKind::Process {
            server,
            pid,
            what,
            reason,
            calls,
        } => {
            let mut text = format!("{server} pid {pid} {what}");
            if let Some(r) = reason {
                let _ = write!(text, ": {r}");
            }
            if let Some(c) = calls {
                let _ = write!(text, " after {c} calls");
            }
            ("process", text)
        }
        EventEntryKind::Note { text } => ("note", text.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_texts() {
        let k = EventEntryKind::Process {
            server: "a".into(),
            pid: 7,
            what: "exit".into(),
            reason: Some("signal 9".into()),
            calls: Some(3),
        };
        assert_eq!(
            event_text(&k),
            ("process", "a pid 7 exit: signal 9 after 3 calls".into())
        );
    }
}

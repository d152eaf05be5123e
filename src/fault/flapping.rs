//! `flapping`: within the window the server goes down (connections refused, as `outage:
//! refuse`) and up in turn: each period starts with `1 − duty` of it down, then `duty` of it up.
//! Every switch resets the open connections. At the window's end the server is up.

use crate::mcp::gate::Reach;
use std::time::Duration;

/// Most switches one window may make (a tiny period would otherwise make millions).
pub const MAX_SWITCHES: usize = 10_000;

/// The switches of a window `[start, end)`, in time order: (when, reach from then on). The
/// window's end (back up) is not among them.
pub fn switches(
    start: Duration,
    end: Duration,
    period: Duration,
    duty: f64,
) -> Vec<(Duration, Reach)> {
    let mut out = Vec::new();
    if period.is_zero() || end <= start {
        return out;
    }
    let down = period.mul_f64((1.0 - duty).clamp(0.0, 1.0));
    let mut at = start;
    while at < end && out.len() + 2 <= MAX_SWITCHES {
        out.push((at, Reach::Refuse));
        let up = at + down;
        if up < end {
            out.push((up, Reach::Up));
        }
        at += period;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn switches_by_table() {
        use Reach::{Refuse as D, Up as U};
        /// (start, end, period, duty, switches)
        type Case = (u64, u64, u64, f64, Vec<(u64, Reach)>);
        let cases: [Case; 4] = [
            (
                0,
                2000,
                1000,
                0.5,
                vec![(0, D), (500, U), (1000, D), (1500, U)],
            ),
            (
                100,
                1100,
                400,
                0.75,
                vec![(100, D), (200, U), (500, D), (600, U), (900, D), (1000, U)],
            ),
            (0, 300, 1000, 0.5, vec![(0, D)]),
            (0, 0, 1000, 0.5, vec![]),
        ];
        for (start, end, period, duty, want) in cases {
            let got: Vec<(u64, Reach)> = switches(ms(start), ms(end), ms(period), duty)
                .into_iter()
                .map(|(t, r)| (t.as_millis() as u64, r))
                .collect();
            assert_eq!(got, want, "{start}..{end} every {period} at {duty}");
        }
        assert!(
            switches(
                ms(0),
                Duration::from_secs(3600),
                Duration::from_micros(1),
                0.5
            )
            .len()
                <= MAX_SWITCHES
        );
    }
}

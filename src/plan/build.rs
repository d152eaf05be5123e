//! `Scenario` + command-line overrides → [`Plan`]: the schedule, the weighted mix with its
//! argument generators, the phases and the fault timeline, as pure values.

use super::phase::{Phase, Phases};
use super::schedule::{self, Profile as PlanProfile, Schedule};
use super::timeline::{Timeline, Window};
use crate::args::ArgsGen;
use crate::dist::unit;
use crate::error::Error;
use crate::scenario::{FaultKind, Model, Profile, Scenario, Spacing};
use crate::units::format_duration;
use std::time::Duration;

/// Salt of the mix draw (keeps it independent of other per-call draws).
const MIX_SALT: u64 = 0x6d69_785f_6472_6177;

/// What the command line changes (tests use `--duration` and `--rate-scale` to stay short).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub duration: Option<Duration>,
    pub rate_scale: Option<f64>,
    pub seed: Option<u64>,
}

impl Overrides {
    /// From the command line's `--duration`, `--rate-scale` and `--seed`.
    pub fn from_flags(
        duration: Option<&str>,
        rate_scale: Option<f64>,
        seed: Option<u64>,
    ) -> Result<Overrides, Error> {
        let duration = duration
            .map(crate::units::parse_duration)
            .transpose()
            .map_err(|e| Error::Input(format!("--duration: {e}")))?;
        Ok(Overrides {
            duration,
            rate_scale,
            seed,
        })
    }
}

/// One entry of the mix, ready to draw arguments.
#[derive(Debug, Clone)]
pub struct PlannedCall {
    /// Index into [`Plan::keys`].
    pub key: u32,
    pub server: String,
    pub tool: String,
    pub weight: f64,
    pub args: ArgsGen,
}

/// A run's plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub duration: Duration,
    pub warmup: Duration,
    pub schedule: Schedule,
    pub mix: Vec<PlannedCall>,
    cumulative: Vec<f64>,
    /// (server, tool) of every key, in mix order.
    pub keys: Vec<(String, String)>,
    pub phases: Phases,
    pub timeline: Timeline<FaultKind>,
    /// What `--duration` dropped, and similar: said, never an error.
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn build(s: &Scenario, o: Overrides) -> Result<Plan, Error> {
        let seed = o.seed.unwrap_or(s.seed);
        let duration = o.duration.unwrap_or(s.duration);
        if duration.is_zero() {
            return Err(Error::Input("--duration must be above 0".into()));
        }
        let mut warnings = Vec::new();
        let mut schedule = schedule(s, seed, duration, &mut warnings)?;
        if let Some(x) = o.rate_scale {
            schedule = schedule.scaled(x).map_err(Error::Input)?;
        }
        let timeline = timeline(s, duration, &mut warnings)?;
        if s.warmup >= duration {
            warnings.push(format!(
                "the run ({}) is no longer than its warmup ({}): every call is phase warmup",
                format_duration(duration),
                format_duration(s.warmup)
            ));
        }
        let phases = Phases::new(s.warmup, &timeline.spans(), s.settle);
        let mix = mix(s)?;
        let mut total = 0.0;
        let cumulative = mix
            .iter()
            .map(|m| {
                total += m.weight;
                total
            })
            .collect();
        Ok(Plan {
            seed,
            duration,
            warmup: s.warmup,
            schedule,
            keys: mix
                .iter()
                .map(|m| (m.server.clone(), m.tool.clone()))
                .collect(),
            mix,
            cumulative,
            phases,
            timeline,
            warnings,
        })
    }

    /// Which mix entry call `seq` makes: a pure function of (seed, seq).
    pub fn pick(&self, seq: u64) -> &PlannedCall {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = unit(self.seed ^ MIX_SALT, seq) * total;
        let i = self.cumulative.partition_point(|c| *c <= x);
        &self.mix[i.min(self.mix.len() - 1)]
    }

    /// The phase of an intended start.
    pub fn phase_at(&self, t: Duration) -> Phase {
        self.phases.phase_at(t)
    }
}

fn schedule(
    s: &Scenario,
    seed: u64,
    duration: Duration,
    warnings: &mut Vec<String>,
) -> Result<Schedule, Error> {
    let built = match &s.load.model {
        Model::Closed { think } => Schedule::closed(s.load.sessions, *think, duration),
        Model::Open { profile, spacing } => {
            let p = match profile {
                Profile::Constant(r) => PlanProfile::constant(*r, duration),
                Profile::Stages(st) => PlanProfile::stages(0.0, st),
                Profile::Steps(st) => PlanProfile::steps(*st),
            }
            .map_err(Error::Input)?
            .held_to(duration);
            let spacing = match spacing {
                Spacing::Uniform => schedule::Spacing::Uniform,
                Spacing::Poisson => schedule::Spacing::Poisson { seed },
            };
            Schedule::open(p, spacing)
        }
    }
    .map_err(Error::Input)?;
    let (cut, dropped) = built.truncated(duration);
    for seg in dropped {
        warnings.push(format!(
            "{seg} starts after the run's end ({}): dropped",
            format_duration(duration)
        ));
    }
    Ok(cut)
}

fn timeline(
    s: &Scenario,
    duration: Duration,
    warnings: &mut Vec<String>,
) -> Result<Timeline<FaultKind>, Error> {
    let windows = s
        .faults
        .iter()
        .enumerate()
        .map(|(index, f)| Window {
            index,
            start: f.at,
            end: f.length.map(|l| f.at + l),
            repeat: f.every,
            kind: f.kind.clone(),
        })
        .collect();
    let (timeline, dropped) = Timeline::new(windows, duration).map_err(Error::Input)?;
    for occ in dropped {
        warnings.push(format!(
            "{} starts after the run's end ({}): dropped",
            occ.describe(),
            format_duration(duration)
        ));
    }
    Ok(timeline)
}

fn mix(s: &Scenario) -> Result<Vec<PlannedCall>, Error> {
    s.load
        .mix
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let schema = s
                .server(&m.server)
                .and_then(|srv| srv.catalog.tool(&m.tool))
                .and_then(|t| t.descriptor.get("inputSchema"))
                .cloned()
                .unwrap_or_default();
            let args = match &m.args {
                Some(a) => ArgsGen::parse(a)
                    .map_err(|e| Error::Input(format!("{}.{}: {e}", m.server, m.tool)))?
                    .typed_by(&schema),
                None => ArgsGen::from_schema(&schema),
            };
            Ok(PlannedCall {
                key: i as u32,
                server: m.server.clone(),
                tool: m.tool.clone(),
                weight: m.weight,
                args,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn quickstart() -> Scenario {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.yaml");
        crate::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_mix_follows_the_weights_and_is_pure() {
        let plan = Plan::build(&quickstart(), Overrides::default()).unwrap();
        let mut counts = vec![0u32; plan.mix.len()];
        for seq in 0..100_000 {
            counts[plan.pick(seq).key as usize] += 1;
        }
        let total: f64 = plan.mix.iter().map(|m| m.weight).sum();
        for (m, n) in plan.mix.iter().zip(&counts) {
            let want = 100_000.0 * m.weight / total;
            assert!(
                (f64::from(*n) - want).abs() < want * 0.05 + 50.0,
                "{m:?}: {n} vs {want}"
            );
        }
        assert_eq!(plan.pick(77).key, plan.pick(77).key);
    }

    #[test]
    fn overrides_cut_scale_and_reseed() {
        let s = quickstart();
        let full = Plan::build(&s, Overrides::default()).unwrap();
        assert_eq!(full.schedule.calls(), Some(1000));
        let short = Plan::build(
            &s,
            Overrides {
                duration: Some(Duration::from_secs(4)),
                rate_scale: Some(0.5),
                seed: Some(9),
            },
        )
        .unwrap();
        assert_eq!(short.schedule.calls(), Some(100));
        assert_eq!(short.seed, 9);
        assert_eq!(short.phase_at(Duration::from_millis(500)), Phase::Warmup);
        assert_eq!(short.phase_at(Duration::from_secs(3)), Phase::Steady);
    }
}

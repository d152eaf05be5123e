//! The scenario file as written (docs/scenario.md): serde types that mirror the YAML. Unknown keys
//! are errors; values that can be wrong in ways serde cannot see keep their location (`Spanned`)
//! for [`super::validate`].

pub use crate::catalog::{ErrorSpec, RpcSpec};
use crate::dist::DurationDist;
use crate::units::{Dur, Percent, Rate};
use indexmap::IndexMap;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    pub duration: Spanned<Dur>,
    #[serde(default)]
    pub warmup: Option<Spanned<Dur>>,
    /// How long after a fault window its calls are phase `settle:i` (default 10 s).
    #[serde(default)]
    pub settle: Option<Spanned<Dur>>,
    #[serde(default)]
    pub protocol: Option<Spanned<String>>,
    pub servers: Spanned<IndexMap<String, Spanned<ServerSpec>>>,
    #[serde(default)]
    pub gateway: Option<Spanned<GatewaySpec>>,
    pub load: Spanned<LoadSpec>,
    #[serde(default)]
    pub faults: Vec<Spanned<FaultSpec>>,
    #[serde(default)]
    pub budgets: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    pub catalog: Spanned<String>,
    #[serde(default)]
    pub transport: Option<Transport>,
    #[serde(default)]
    pub port: Option<Spanned<u16>>,
    /// Cold start: delay before the first initialize is answered.
    #[serde(default)]
    pub startup: Option<Dur>,
    /// Replaces the catalogue's service time.
    #[serde(default)]
    pub latency: Option<Spanned<DurationDist>>,
    /// Replaces the catalogue's error mix.
    #[serde(default)]
    pub errors: Option<Spanned<OneOrMany<ErrorSpec>>>,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Http,
    Sse,
    Stdio,
}

/// `gateway:` — `none`, `builtin`, or a map (builtin settings, a command to launch, a URL).
pub enum GatewaySpec {
    Word(String),
    Map(Box<GatewayMap>),
}

impl<'de> Deserialize<'de> for GatewaySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GatewaySpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`none`, `builtin`, or a map with `builtin`, `command` or `url`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<GatewaySpec, E> {
                Ok(GatewaySpec::Word(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<GatewaySpec, A::Error> {
                GatewayMap::deserialize(de::value::MapAccessDeserializer::new(m))
                    .map(|g| GatewaySpec::Map(Box::new(g)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GatewayMap {
    #[serde(default)]
    pub builtin: Option<BuiltinSpec>,
    #[serde(default)]
    pub command: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub config: Option<Spanned<ConfigSpec>>,
    #[serde(default)]
    pub url: Option<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub setup: Vec<Spanned<Vec<String>>>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub server_url: Option<Spanned<String>>,
    #[serde(default)]
    pub ready: Option<ReadySpec>,
    #[serde(default)]
    pub tool_names: Option<Spanned<String>>,
    /// The same mix direct to the mocks before t = 0.
    #[serde(default)]
    pub baseline: Option<Spanned<Dur>>,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct BuiltinSpec {
    #[serde(default)]
    pub cache_ttl: Option<Dur>,
    #[serde(default)]
    pub lazy: Option<bool>,
    #[serde(default)]
    pub idle_timeout: Option<Dur>,
    #[serde(default)]
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default)]
    pub separator: Option<String>,
}

/// `config: mcp-servers-json` or `config: { template: FILE }`.
pub enum ConfigSpec {
    Word(String),
    Template(String),
}

impl<'de> Deserialize<'de> for ConfigSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct T {
            template: String,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ConfigSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`mcp-servers-json` or `{ template: FILE }`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ConfigSpec, E> {
                Ok(ConfigSpec::Word(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<ConfigSpec, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(m))
                    .map(|t| ConfigSpec::Template(t.template))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadyTools {
    All,
    Any,
    None,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ReadySpec {
    #[serde(default)]
    pub tools: Option<ReadyTools>,
    #[serde(default)]
    pub timeout: Option<Dur>,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ModelSpec {
    Open,
    Closed,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SpacingSpec {
    Uniform,
    Poisson,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    #[serde(default)]
    pub model: Option<ModelSpec>,
    #[serde(default)]
    pub rate: Option<Spanned<Rate>>,
    #[serde(default)]
    pub stages: Option<Spanned<Vec<Spanned<StageSpec>>>>,
    #[serde(default)]
    pub steps: Option<Spanned<StepsSpec>>,
    #[serde(default)]
    pub p99_max: Option<Spanned<Dur>>,
    #[serde(default)]
    pub spacing: Option<SpacingSpec>,
    #[serde(default)]
    pub sessions: Option<Spanned<u32>>,
    #[serde(default)]
    pub max_in_flight: Option<Spanned<u32>>,
    #[serde(default)]
    pub think: Option<Dur>,
    #[serde(default)]
    pub timeout: Option<Spanned<Dur>>,
    pub mix: Spanned<Vec<Spanned<MixSpec>>>,
}

/// `{ to: 500/s, over: 30s }` or `{ hold: 30s }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    #[serde(default)]
    pub to: Option<Rate>,
    #[serde(default)]
    pub over: Option<Dur>,
    #[serde(default)]
    pub hold: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepsSpec {
    pub from: Rate,
    pub by: Rate,
    pub hold: Dur,
    pub max: Rate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    pub call: Spanned<String>,
    #[serde(default)]
    pub weight: Option<Spanned<f64>>,
    #[serde(default)]
    pub args: Option<Spanned<Value>>,
}

/// A fault window: when, where, and exactly one kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub at: Spanned<Dur>,
    #[serde(rename = "for", default)]
    pub for_: Option<Spanned<Dur>>,
    #[serde(default)]
    pub every: Option<Spanned<Dur>>,
    pub server: Spanned<String>,
    #[serde(default)]
    pub tool: Option<Spanned<String>>,
    #[serde(default)]
    pub latency: Option<LatencyFaultSpec>,
    #[serde(default)]
    pub errors: Option<OneOrMany<ErrorSpec>>,
    #[serde(default)]
    pub outage: Option<OutageMode>,
    #[serde(default)]
    pub crash: Option<CrashSpec>,
    #[serde(default)]
    pub slow_start: Option<Dur>,
    #[serde(default)]
    pub flapping: Option<FlappingSpec>,
    #[serde(default)]
    pub malformed: Option<MalformedSpec>,
    #[serde(default)]
    pub session_loss: Option<bool>,
    #[serde(default)]
    pub list_change: Option<ListChangeSpec>,
    #[serde(default)]
    pub data_change: Option<DataChangeSpec>,
}

/// The names of the fault kinds, in the order of [`FaultSpec`]'s fields.
pub const FAULT_KINDS: &[&str] = &[
    "latency",
    "errors",
    "outage",
    "crash",
    "slow_start",
    "flapping",
    "malformed",
    "session_loss",
    "list_change",
    "data_change",
];

/// `latency: stall` or a distribution added to service time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyFaultSpec {
    Stall,
    Add(DurationDist),
}

impl<'de> Deserialize<'de> for LatencyFaultSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if v.as_str() == Some("stall") {
            return Ok(LatencyFaultSpec::Stall);
        }
        serde_json::from_value::<DurationDist>(v.clone())
            .map(LatencyFaultSpec::Add)
            .map_err(|_| {
                de::Error::custom(format!(
                    "`{v}` is not a latency: write `stall`, a duration (300ms), or one of \
                     {{fixed: D}}, {{uniform: {{min, max}}}}, {{normal: {{mean, stddev}}}}, \
                     {{lognormal: {{p50, p99}}}}, {{pareto: {{scale, shape}}}}"
                ))
            })
    }
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutageMode {
    Refuse,
    Reset,
    Blackhole,
    Kill,
}

/// `crash: exit` or `crash: { after_calls: N }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashSpec {
    Exit,
    AfterCalls(u64),
}

impl<'de> Deserialize<'de> for CrashSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct After {
            after_calls: u64,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CrashSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`exit` or `{ after_calls: N }`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<CrashSpec, E> {
                match s {
                    "exit" => Ok(CrashSpec::Exit),
                    other => Err(E::custom(format!(
                        "`{other}` is not a crash: write `exit` or `{{ after_calls: N }}`"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<CrashSpec, A::Error> {
                After::deserialize(de::value::MapAccessDeserializer::new(m))
                    .map(|a| CrashSpec::AfterCalls(a.after_calls))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Clone, Copy, Debug)]
#[serde(deny_unknown_fields)]
pub struct FlappingSpec {
    pub period: Dur,
    /// Share of each period the server is up.
    pub duty: Percent,
}

/// `malformed: invalid_json | wrong_id | cut_sse` or `malformed: { drip: 5s }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MalformedSpec {
    InvalidJson,
    WrongId,
    CutSse,
    Drip(Dur),
}

impl<'de> Deserialize<'de> for MalformedSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Drip {
            drip: Dur,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MalformedSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("invalid_json, wrong_id, cut_sse or { drip: DURATION }")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<MalformedSpec, E> {
                match s {
                    "invalid_json" => Ok(MalformedSpec::InvalidJson),
                    "wrong_id" => Ok(MalformedSpec::WrongId),
                    "cut_sse" => Ok(MalformedSpec::CutSse),
                    other => Err(E::custom(format!(
                        "unknown malformation `{other}`; expected one of invalid_json, wrong_id, \
                         cut_sse, {{ drip: DURATION }}"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<MalformedSpec, A::Error> {
                Drip::deserialize(de::value::MapAccessDeserializer::new(m))
                    .map(|d| MalformedSpec::Drip(d.drip))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, serde::Serialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ListChangeSpec {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Deserialize, serde::Serialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct DataChangeSpec {
    /// The version the tool's results carry from the fault's start (default: the next one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One value or a list of them.
#[derive(Debug, Clone)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("one entry or a list of entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<OneOrMany<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(m)).map(|t| OneOrMany(vec![t]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<OneOrMany<T>, A::Error> {
                Vec::<T>::deserialize(de::value::SeqAccessDeserializer::new(s)).map(OneOrMany)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

//! Argument generators for mix entries: `args: { text: "{{zipf 1000}}", to: pt }`
//! (docs/scenario.md).
//!
//! `args` is any JSON/YAML value; strings may hold placeholders:
//!
//! | placeholder | value |
//! |---|---|
//! | `{{seq}}` | the call's sequence number |
//! | `{{uniform A B}}` | a whole number, uniform in [A, B] |
//! | `{{zipf N}}`, `{{zipf N S}}` | a rank in 1..=N, P(k) ∝ k^-S (S defaults to 1) |
//! | `{{choice a b c}}` | one of the words, uniformly (`"two words"` in double quotes) |
//!
//! A string stays a string: `"sku-{{zipf 1000}}"` gives `"sku-17"`, and `"{{zipf 1000}}"`
//! gives `"17"`. Where the tool's input schema types a property as integer, number or boolean,
//! [`ArgsGen::typed_by`] makes a string that is exactly one placeholder give the typed value
//! (`17`), so that arguments pass the server's type checks.
//!
//! Every value is a pure function of (seed, entry index, call sequence number) and the
//! placeholder's position, through [`crate::dist::unit`]: no shared generator state, so the
//! same seed gives the same arguments call for call however calls interleave.

use crate::dist::{mix, unit};
use serde_json::{Map, Value, json};

const ALLOWED: &str = "allowed: seq, uniform A B, zipf N [S], choice A B …";
/// Keeps argument draws apart from other users of the same seed.
const SALT: u64 = 0xa465_ca11_0fa7_e5e5;
/// Zipf ranks must stay exact as f64.
const MAX_ZIPF_N: u64 = 1 << 53;
/// Rejection-inversion accepts well over 90% of tries; this bound is never reached in practice.
const MAX_TRIES: u64 = 64;
/// How deep [`ArgsGen::from_schema`] follows nested objects.
const MAX_DEPTH: usize = 8;

/// The arguments of one mix entry, compiled once and rendered per call.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgsGen {
    root: Gen,
}

#[derive(Debug, Clone, PartialEq)]
enum Gen {
    Lit(Value),
    /// A string with placeholders.
    Text(Vec<Piece>),
    /// One placeholder giving a typed value.
    Typed(Draw),
    Array(Vec<Gen>),
    Object(Vec<(String, Gen)>),
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Draw(Draw),
}

/// A placeholder; `slot` (its position among the entry's placeholders) keys its draws.
#[derive(Debug, Clone, PartialEq)]
struct Draw {
    slot: u64,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Seq,
    Uniform {
        lo: i64,
        hi: i64,
    },
    Real {
        lo: f64,
        hi: f64,
    },
    Zipf(Zipf),
    /// One of `values`, uniformly or by Zipf rank (the first value is rank 1).
    Pick {
        values: Vec<Value>,
        zipf: Option<Zipf>,
    },
}

impl Default for ArgsGen {
    fn default() -> Self {
        ArgsGen {
            root: Gen::Lit(Value::Object(Map::new())),
        }
    }
}

impl ArgsGen {
    /// Compiles a mix entry's `args`, which must be a map; a message names the argument and
    /// the placeholder at fault and says what is allowed.
    pub fn parse(args: &Value) -> Result<ArgsGen, String> {
        if !args.is_object() {
            return Err(format!(
                "`args` must be a map of argument names to values, e.g. \
                 {{ text: \"{{{{zipf 1000}}}}\", to: pt }} (got {args})"
            ));
        }
        let mut slots = 0;
        Ok(ArgsGen {
            root: value_gen(args, "", &mut slots)?,
        })
    }

    /// Compiles one string template (renders to a string).
    pub fn template(src: &str) -> Result<ArgsGen, String> {
        let mut slots = 0;
        Ok(ArgsGen {
            root: text_gen(src, &mut slots)?,
        })
    }

    /// Plausible arguments for a tool whose mix entry has no `args`: every *required*
    /// property of `input_schema`, by its `const`, else its `enum` (a Zipf-chosen value,
    /// the first most often), else its `default`, else its type: string → `"<name>-<seq>"`,
    /// integer → uniform within `minimum`/`maximum` (1..=100 without bounds), number → the
    /// same as a real, boolean → either, array → `[]`, object → its own required properties.
    pub fn from_schema(input_schema: &Value) -> ArgsGen {
        let mut slots = 0;
        ArgsGen {
            root: object_from_schema(input_schema, &mut slots, 0),
        }
    }

    /// Lets a string that is exactly one placeholder give a typed value where `input_schema`
    /// types the property as integer, number, boolean or null (nested objects and arrays
    /// follow `properties` and `items`).
    pub fn typed_by(self, input_schema: &Value) -> ArgsGen {
        ArgsGen {
            root: self.root.typed_by(input_schema),
        }
    }

    /// The arguments of call `seq` of mix entry `entry` in a run seeded `seed`.
    pub fn render(&self, seed: u64, entry: u64, seq: u64) -> Value {
        self.root.render(mix(mix(seed ^ SALT) ^ entry), seq)
    }

    /// Whether every call gets the same arguments.
    pub fn is_literal(&self) -> bool {
        self.root.is_literal()
    }
}

fn value_gen(v: &Value, path: &str, slots: &mut u64) -> Result<Gen, String> {
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match v {
        Value::String(s) => text_gen(s, slots).map_err(|e| match path {
            "" => e,
            p => format!("in `{p}`: {e}"),
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| value_gen(x, &format!("{path}[{i}]"), slots))
            .collect::<Result<_, _>>()
            .map(Gen::Array),
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| Ok((k.clone(), value_gen(x, &child(k), slots)?)))
            .collect::<Result<_, String>>()
            .map(Gen::Object),
        other => Ok(Gen::Lit(other.clone())),
    }
}

fn text_gen(src: &str, slots: &mut u64) -> Result<Gen, String> {
    let mut pieces = Vec::new();
    let mut rest = src;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Lit(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| format!("`{{{{` without a closing `}}}}` in {src:?}"))?;
        let kind = placeholder(after[..close].trim())?;
        pieces.push(Piece::Draw(new_draw(slots, kind)));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(rest.to_string()));
    }
    Ok(match pieces.as_slice() {
        [] => Gen::Lit(Value::String(String::new())),
        [Piece::Lit(s)] => Gen::Lit(Value::String(s.clone())),
        _ => Gen::Text(pieces),
    })
}

fn new_draw(slots: &mut u64, kind: Kind) -> Draw {
    let slot = *slots;
    *slots += 1;
    Draw { slot, kind }
}

/// Splits a placeholder into words; `"two words"` is one word.
fn words(inner: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(ch) => word.push(ch),
                    None => return Err(format!("`{inner}`: a double quote is not closed")),
                }
            }
        } else {
            while let Some(ch) = chars.next_if(|ch| !ch.is_whitespace()) {
                word.push(ch);
            }
        }
        out.push(word);
    }
    Ok(out)
}

fn placeholder(inner: &str) -> Result<Kind, String> {
    let words = words(inner)?;
    let Some((name, args)) = words.split_first() else {
        return Err(format!("empty placeholder `{{{{}}}}`; {ALLOWED}"));
    };
    let named = |m: String| format!("`{inner}`: {m}");
    match name.as_str() {
        "seq" if args.is_empty() => Ok(Kind::Seq),
        "seq" => Err(named("seq takes no arguments".into())),
        "uniform" => uniform(args).map_err(named),
        "zipf" => zipf(args).map_err(named),
        "choice" if args.is_empty() => {
            Err(named("write choice A B … (at least one option)".into()))
        }
        "choice" => Ok(Kind::Pick {
            values: args.iter().map(|a| Value::String(a.clone())).collect(),
            zipf: None,
        }),
        other => Err(format!("unknown generator `{other}`; {ALLOWED}")),
    }
}

fn uniform(args: &[String]) -> Result<Kind, String> {
    let [a, b] = args else {
        return Err("write uniform A B (two whole numbers, A ≤ B)".into());
    };
    let (Ok(lo), Ok(hi)) = (a.parse::<i64>(), b.parse::<i64>()) else {
        return Err("A and B must be whole numbers".into());
    };
    if lo > hi {
        return Err("A must not exceed B".into());
    }
    Ok(Kind::Uniform { lo, hi })
}

fn zipf(args: &[String]) -> Result<Kind, String> {
    let (n, s) = match args {
        [n] => (n, None),
        [n, s] => (n, Some(s)),
        _ => return Err("write zipf N or zipf N S (N ranks, exponent S, default 1)".into()),
    };
    let n: u64 = n
        .parse()
        .map_err(|_| "N must be a whole number".to_string())?;
    if n == 0 {
        return Err("N must be at least 1".into());
    }
    if n > MAX_ZIPF_N {
        return Err(format!("N must be at most {MAX_ZIPF_N}"));
    }
    let s = match s {
        None => 1.0,
        Some(s) => s.parse::<f64>().unwrap_or(f64::NAN),
    };
    if !(s.is_finite() && s >= 0.0) {
        return Err("S must be a number ≥ 0".into());
    }
    Ok(Kind::Zipf(Zipf::new(n, s)))
}

/// Zipf ranks by rejection-inversion (Hörmann & Derflinger, 1996, as in Apache Commons): exact,
/// O(1) time and memory for any N, and any S ≥ 0 (S = 0 is uniform).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Zipf {
    n: f64,
    s: f64,
    h_x1: f64,
    h_n: f64,
    cut: f64,
}

/// ln(1 + x) / x, accurate near 0.
fn log1p_over(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - x * 0.25))
    }
}

/// (eˣ − 1) / x, accurate near 0.
fn expm1_over(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + x * 0.25))
    }
}

impl Zipf {
    fn new(n: u64, s: f64) -> Zipf {
        let mut z = Zipf {
            n: n as f64,
            s,
            h_x1: 0.0,
            h_n: 0.0,
            cut: 0.0,
        };
        z.h_x1 = z.h_integral(1.5) - 1.0;
        z.h_n = z.h_integral(n as f64 + 0.5);
        z.cut = 2.0 - z.h_integral_inv(z.h_integral(2.5) - z.h(2.0));
        z
    }

    /// x^-s.
    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    /// ∫₁ˣ t^-s dt.
    fn h_integral(&self, x: f64) -> f64 {
        let lx = x.ln();
        expm1_over((1.0 - self.s) * lx) * lx
    }

    fn h_integral_inv(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (log1p_over(t) * x).exp()
    }

    /// A rank in 1..=n; `draw(i)` is the i-th independent uniform in [0, 1).
    fn sample(&self, draw: impl Fn(u64) -> f64) -> u64 {
        let mut k = 1.0;
        for i in 0..MAX_TRIES {
            let u = self.h_n + draw(i) * (self.h_x1 - self.h_n);
            let x = self.h_integral_inv(u);
            k = if x.is_nan() {
                1.0
            } else {
                (x + 0.5).floor().clamp(1.0, self.n)
            };
            if k - x <= self.cut || u >= self.h_integral(k + 0.5) - self.h(k) {
                break;
            }
        }
        k as u64
    }
}

/// A whole number in [lo, hi] from a uniform draw.
fn uniform_int(lo: i64, hi: i64, u: f64) -> i64 {
    let span = i128::from(hi) - i128::from(lo) + 1;
    let off = ((u * span as f64) as i128).clamp(0, span - 1);
    i64::try_from(i128::from(lo) + off).unwrap_or(hi)
}

impl Draw {
    /// The typed value for call `seq`; `key` is this placeholder's stream.
    fn value(&self, key: u64, seq: u64) -> Value {
        let u = |try_: u64| match try_ {
            0 => unit(key, seq),
            n => unit(mix(key.wrapping_add(n)), seq),
        };
        match &self.kind {
            Kind::Seq => Value::from(seq),
            Kind::Uniform { lo, hi } => Value::from(uniform_int(*lo, *hi, u(0))),
            Kind::Real { lo, hi } => json!(lo + (hi - lo) * u(0)),
            Kind::Zipf(z) => Value::from(z.sample(u)),
            Kind::Pick { values, zipf } => {
                let i = match zipf {
                    Some(z) => z.sample(u).saturating_sub(1) as usize,
                    None => (u(0) * values.len() as f64) as usize,
                };
                let last = values.len().saturating_sub(1);
                values.get(i.min(last)).cloned().unwrap_or(Value::Null)
            }
        }
    }

    /// Choice words become numbers, booleans or null where they read as such.
    fn into_typed(self) -> Draw {
        let kind = match self.kind {
            Kind::Pick { values, zipf } => Kind::Pick {
                values: values.into_iter().map(scalar).collect(),
                zipf,
            },
            other => other,
        };
        Draw { kind, ..self }
    }
}

fn scalar(v: Value) -> Value {
    match &v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(t @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => t,
            _ => v,
        },
        _ => v,
    }
}

impl Gen {
    fn render(&self, base: u64, seq: u64) -> Value {
        let key = |d: &Draw| mix(base ^ d.slot);
        match self {
            Gen::Lit(v) => v.clone(),
            Gen::Typed(d) => d.value(key(d), seq),
            Gen::Text(pieces) => {
                let mut out = String::new();
                for p in pieces {
                    match p {
                        Piece::Lit(s) => out.push_str(s),
                        Piece::Draw(d) => match d.value(key(d), seq) {
                            Value::String(s) => out.push_str(&s),
                            v => out.push_str(&v.to_string()),
                        },
                    }
                }
                Value::String(out)
            }
            Gen::Array(items) => Value::Array(items.iter().map(|g| g.render(base, seq)).collect()),
            Gen::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, g)| (k.clone(), g.render(base, seq)))
                    .collect(),
            ),
        }
    }

    fn is_literal(&self) -> bool {
        match self {
            Gen::Lit(_) => true,
            Gen::Text(_) | Gen::Typed(_) => false,
            Gen::Array(items) => items.iter().all(Gen::is_literal),
            Gen::Object(entries) => entries.iter().all(|(_, g)| g.is_literal()),
        }
    }

    fn typed_by(self, schema: &Value) -> Gen {
        match self {
            Gen::Text(mut pieces) if pieces.len() == 1 && wants_value(schema) => {
                match pieces.pop() {
                    Some(Piece::Draw(d)) => Gen::Typed(d.into_typed()),
                    other => Gen::Text(other.into_iter().collect()),
                }
            }
            Gen::Object(entries) => Gen::Object(
                entries
                    .into_iter()
                    .map(
                        |(k, g)| match schema.get("properties").and_then(|p| p.get(&k)) {
                            Some(sub) => {
                                let g = g.typed_by(sub);
                                (k, g)
                            }
                            None => (k, g),
                        },
                    )
                    .collect(),
            ),
            Gen::Array(items) => match schema.get("items") {
                Some(sub) => Gen::Array(items.into_iter().map(|g| g.typed_by(sub)).collect()),
                None => Gen::Array(items),
            },
            other => other,
        }
    }
}

/// The schema's declared type (the first non-null one of a list).
fn declared_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

fn wants_value(schema: &Value) -> bool {
    matches!(
        declared_type(schema),
        Some("integer" | "number" | "boolean" | "null")
    )
}

fn object_from_schema(schema: &Value, slots: &mut u64, depth: usize) -> Gen {
    let props = schema.get("properties").and_then(Value::as_object);
    let required = schema.get("required").and_then(Value::as_array);
    let mut out = Vec::new();
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        let sub = props.and_then(|p| p.get(name)).unwrap_or(&Value::Null);
        out.push((
            name.to_string(),
            property_from_schema(name, sub, slots, depth + 1),
        ));
    }
    Gen::Object(out)
}

fn property_from_schema(name: &str, schema: &Value, slots: &mut u64, depth: usize) -> Gen {
    if let Some(c) = schema.get("const") {
        return Gen::Lit(c.clone());
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        match values.as_slice() {
            [] => {}
            [one] => return Gen::Lit(one.clone()),
            many => {
                let zipf = Some(Zipf::new(many.len() as u64, 1.0));
                let values = many.to_vec();
                return Gen::Typed(new_draw(slots, Kind::Pick { values, zipf }));
            }
        }
    }
    if let Some(d) = schema.get("default") {
        return Gen::Lit(d.clone());
    }
    let inferred = if schema.get("properties").is_some() {
        "object"
    } else if schema.get("items").is_some() {
        "array"
    } else {
        "string"
    };
    match declared_type(schema).unwrap_or(inferred) {
        "integer" => Gen::Typed(new_draw(slots, int_range(schema))),
        "number" => Gen::Typed(new_draw(slots, real_range(schema))),
        "boolean" => {
            let values = vec![Value::Bool(true), Value::Bool(false)];
            Gen::Typed(new_draw(slots, Kind::Pick { values, zipf: None }))
        }
        "array" => Gen::Lit(json!([])),
        "null" => Gen::Lit(Value::Null),
        "object" if depth < MAX_DEPTH => object_from_schema(schema, slots, depth),
        "object" => Gen::Lit(json!({})),
        _ => Gen::Text(vec![
            Piece::Lit(format!("{name}-")),
            Piece::Draw(new_draw(slots, Kind::Seq)),
        ]),
    }
}

/// (lowest, highest) allowed by `minimum`/`exclusiveMinimum` and `maximum`/`exclusiveMaximum`,
/// with `step` the unit an exclusive bound moves by (1 for integers, 0 for reals); an open side
/// spans 99 from the other, and neither side gives 1..=100.
fn range(schema: &Value, step: f64) -> (f64, f64) {
    let num = |k: &str| {
        schema
            .get(k)
            .and_then(Value::as_f64)
            .filter(|x| x.is_finite())
    };
    let round = |x: f64, up: bool| match (step > 0.0, up) {
        (false, _) => x,
        (true, true) => x.ceil(),
        (true, false) => x.floor(),
    };
    let lo = [
        num("minimum").map(|x| round(x, true)),
        num("exclusiveMinimum").map(|x| round(x, false) + step),
    ];
    let hi = [
        num("maximum").map(|x| round(x, false)),
        num("exclusiveMaximum").map(|x| round(x, true) - step),
    ];
    let lo = lo.into_iter().flatten().reduce(f64::max);
    let hi = hi.into_iter().flatten().reduce(f64::min);
    match (lo, hi) {
        (Some(l), Some(h)) => (l, h.max(l)),
        (Some(l), None) => (l, l + 99.0),
        (None, Some(h)) => (h - 99.0, h),
        (None, None) => (1.0, 100.0),
    }
}

fn int_range(schema: &Value) -> Kind {
    let (lo, hi) = range(schema, 1.0);
    // `as` saturates at the ends of i64.
    Kind::Uniform {
        lo: lo as i64,
        hi: hi as i64,
    }
}

fn real_range(schema: &Value) -> Kind {
    let (lo, hi) = range(schema, 0.0);
    Kind::Real { lo, hi }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn gen_of(args: Value) -> ArgsGen {
        ArgsGen::parse(&args).unwrap()
    }

    /// Renders `src` (one placeholder, typed by an integer schema) for calls 0..n.
    fn ints(src: &str, n: u64) -> Vec<i64> {
        let g = gen_of(json!({ "x": src }))
            .typed_by(&json!({"type": "object", "properties": {"x": {"type": "integer"}}}));
        (0..n)
            .map(|seq| g.render(42, 3, seq)["x"].as_i64().unwrap())
            .collect()
    }

    fn chi_square(counts: &BTreeMap<i64, u64>, probs: &[(i64, f64)], n: f64) -> f64 {
        probs
            .iter()
            .map(|&(k, p)| {
                let obs = counts.get(&k).copied().unwrap_or(0) as f64;
                (obs - n * p).powi(2) / (n * p)
            })
            .sum()
    }

    fn histogram(v: &[i64]) -> BTreeMap<i64, u64> {
        let mut h = BTreeMap::new();
        for &x in v {
            *h.entry(x).or_insert(0) += 1;
        }
        h
    }

    fn zipf_probs(n: i64, s: f64) -> Vec<(i64, f64)> {
        let h: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
        (1..=n).map(|k| (k, (k as f64).powf(-s) / h)).collect()
    }

    #[test]
    fn zipf_passes_chi_square_at_0_001() {
        // (N, S, the 0.999 quantile of χ² with N − 1 degrees of freedom)
        let cases = [
            (100, "", 1.0, 148.23),
            (10, " 2", 2.0, 27.88),
            (20, " 0.5", 0.5, 43.82),
        ];
        for (n, s_word, s, critical) in cases {
            let draws = ints(&format!("{{{{zipf {n}{s_word}}}}}"), 100_000);
            let h = histogram(&draws);
            assert!(
                h.keys().all(|&k| (1..=n).contains(&k)),
                "zipf {n}: out of range"
            );
            let x2 = chi_square(&h, &zipf_probs(n, s), 100_000.0);
            assert!(x2 < critical, "zipf {n} {s}: χ² = {x2} ≥ {critical}");
        }
    }

    #[test]
    fn zipf_edge_cases() {
        assert!(ints("{{zipf 1}}", 100).iter().all(|&k| k == 1));
        let uniform = histogram(&ints("{{zipf 4 0}}", 40_000));
        let x2 = chi_square(&uniform, &zipf_probs(4, 0.0), 40_000.0);
        assert!(x2 < 16.27, "zipf S = 0 is uniform: χ² = {x2}");
        let big = ints("{{zipf 1000000000}}", 1000);
        assert!(big.iter().all(|&k| (1..=1_000_000_000).contains(&k)));
        assert!(
            big.iter().filter(|&&k| k == 1).count() > 20,
            "rank 1 is the most common"
        );
    }

    #[test]
    fn uniform_covers_its_range_evenly() {
        let v = ints("{{uniform 3 7}}", 50_000);
        let h = histogram(&v);
        assert_eq!(h.keys().copied().collect::<Vec<_>>(), vec![3, 4, 5, 6, 7]);
        let probs: Vec<(i64, f64)> = (3..=7).map(|k| (k, 0.2)).collect();
        assert!(chi_square(&h, &probs, 50_000.0) < 18.47);
        assert!(ints("{{uniform -2 -2}}", 10).iter().all(|&x| x == -2));
        let wide = ints(&format!("{{{{uniform {} {}}}}}", i64::MIN, i64::MAX), 1000);
        assert!(wide.iter().any(|&x| x < 0) && wide.iter().any(|&x| x > 0));
    }

    #[test]
    fn choice_is_fair() {
        let g = ArgsGen::template("{{choice a b c}}").unwrap();
        let mut h = BTreeMap::new();
        for seq in 0..30_000 {
            let v = g.render(1, 0, seq);
            *h.entry(v.as_str().unwrap().to_string()).or_insert(0u64) += 1;
        }
        assert_eq!(h.len(), 3);
        let x2: f64 = h
            .values()
            .map(|&c| (c as f64 - 10_000.0).powi(2) / 10_000.0)
            .sum();
        assert!(x2 < 13.82, "χ² = {x2}");
    }

    #[test]
    fn templates_render_in_place() {
        let g = gen_of(json!({
            "sku": "sku-{{zipf 1000}}",
            "id": "{{seq}}",
            "city": "{{choice \"New York\"}}",
            "pair": "{{uniform 1 9}}/{{uniform 10 19}}",
            "n": 5,
            "nested": { "list": ["{{seq}}", true, null] },
            "plain": "no placeholders",
        }));
        let v = g.render(7, 0, 41);
        let sku = v["sku"].as_str().unwrap();
        let rank: u64 = sku.strip_prefix("sku-").unwrap().parse().unwrap();
        assert!((1..=1000).contains(&rank));
        assert_eq!(v["id"], json!("41"));
        assert_eq!(v["city"], json!("New York"));
        let (a, b) = v["pair"].as_str().unwrap().split_once('/').unwrap();
        assert!((1..=9).contains(&a.parse::<i64>().unwrap()));
        assert!((10..=19).contains(&b.parse::<i64>().unwrap()));
        assert_eq!(v["n"], json!(5));
        assert_eq!(v["nested"], json!({ "list": ["41", true, null] }));
        assert_eq!(v["plain"], json!("no placeholders"));
        assert!(!g.is_literal());
        assert!(gen_of(json!({"a": [1, "b"]})).is_literal());
    }

    #[test]
    fn draws_are_pure_functions_of_seed_entry_and_seq() {
        let g = gen_of(json!({ "a": "{{uniform 1 1000000}}", "b": "{{uniform 1 1000000}}" }));
        let calls = |seed, entry| {
            (0..50)
                .map(|s| g.render(seed, entry, s))
                .collect::<Vec<_>>()
        };
        assert_eq!(calls(1, 0), calls(1, 0));
        assert_ne!(calls(1, 0), calls(2, 0));
        assert_ne!(calls(1, 0), calls(1, 1));
        // In any order, the same call gets the same value.
        let backwards: Vec<Value> = (0..50).rev().map(|s| g.render(1, 0, s)).collect();
        assert_eq!(backwards.into_iter().rev().collect::<Vec<_>>(), calls(1, 0));
        // Two placeholders of one entry draw independently.
        let same = calls(1, 0).iter().filter(|v| v["a"] == v["b"]).count();
        assert_eq!(same, 0);
    }

    #[test]
    fn typed_by_gives_typed_values_only_where_the_schema_says() {
        let schema = json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer"},
                "flag": {"type": ["boolean", "null"]},
                "text": {"type": "string"},
                "mixed": {"type": "integer"},
                "deep": {"type": "object", "properties": {"k": {"type": "number"}}},
                "list": {"type": "array", "items": {"type": "integer"}},
            }
        });
        let g = gen_of(json!({
            "n": "{{zipf 10}}",
            "flag": "{{choice true false}}",
            "text": "{{zipf 10}}",
            "mixed": "x{{seq}}",
            "other": "{{seq}}",
            "deep": {"k": "{{uniform 1 2}}"},
            "list": ["{{seq}}"],
        }))
        .typed_by(&schema);
        let v = g.render(0, 0, 5);
        assert!(v["n"].is_u64());
        assert!(v["flag"].is_boolean());
        assert!(v["text"].is_string());
        assert_eq!(v["mixed"], json!("x5"));
        assert_eq!(v["other"], json!("5"));
        assert!(v["deep"]["k"].is_i64());
        assert_eq!(v["list"], json!([5]));
    }

    #[test]
    fn bad_placeholders_say_what_is_allowed() {
        let cases = [
            (
                "{{zipff 10}}",
                "unknown generator `zipff`; allowed: seq, uniform A B, zipf N [S]",
            ),
            ("{{zipf 0}}", "`zipf 0`: N must be at least 1"),
            ("{{zipf}}", "`zipf`: write zipf N or zipf N S"),
            ("{{zipf 1.5}}", "`zipf 1.5`: N must be a whole number"),
            ("{{zipf 10 -1}}", "`zipf 10 -1`: S must be a number ≥ 0"),
            ("{{zipf 10 x}}", "S must be a number"),
            ("{{uniform 5 1}}", "`uniform 5 1`: A must not exceed B"),
            ("{{uniform 1}}", "write uniform A B"),
            ("{{uniform a 2}}", "A and B must be whole numbers"),
            ("{{seq 3}}", "`seq 3`: seq takes no arguments"),
            ("{{choice}}", "at least one option"),
            ("{{choice \"a b}}", "double quote is not closed"),
            ("{{ }}", "empty placeholder"),
            ("abc {{seq", "without a closing"),
        ];
        for (src, want) in cases {
            let e = ArgsGen::template(src).unwrap_err();
            assert!(e.contains(want), "{src}: {e}");
        }
        let e = ArgsGen::parse(&json!({"a": {"b": ["{{nope}}"]}})).unwrap_err();
        assert!(
            e.starts_with("in `a.b[0]`: unknown generator `nope`"),
            "{e}"
        );
        assert!(
            ArgsGen::parse(&json!("{{seq}}"))
                .unwrap_err()
                .contains("must be a map")
        );
    }

    /// The mock's -32602 check: required keys present, declared types right.
    fn fits(schema: &Value, args: &Value) -> Result<(), String> {
        let props = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            let v = args.get(r).ok_or(format!("missing {r}"))?;
            let ok = match props[r]["type"].as_str() {
                Some("string") => v.is_string(),
                Some("integer") => v.is_i64() || v.is_u64(),
                Some("number") => v.is_number(),
                Some("boolean") => v.is_boolean(),
                Some("array") => v.is_array(),
                Some("object") => v.is_object() && fits(&props[r], v).is_ok(),
                _ => true,
            };
            if !ok {
                return Err(format!("{r}: {v}"));
            }
        }
        Ok(())
    }

    #[test]
    fn arguments_from_a_schema_fit_it() {
        let schema = json!({
            "type": "object",
            "properties": {
                "text": {"type": "string", "minLength": 1},
                "qty": {"type": "integer", "minimum": 1, "maximum": 5},
                "over": {"type": "integer", "exclusiveMinimum": 10},
                "weight": {"type": "number", "minimum": 0.5, "exclusiveMaximum": 2.5},
                "express": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "to": {"type": "string", "enum": ["pt", "en", "es"]},
                "version": {"const": 2},
                "limit": {"type": "integer", "default": 10},
                "address": {
                    "type": "object",
                    "properties": {"zip": {"type": "string"}, "floor": {"type": "integer"}},
                    "required": ["zip"]
                },
                "loose": {},
                "optional": {"type": "string"}
            },
            "required": ["text", "qty", "over", "weight", "express", "tags", "to", "version",
                         "limit", "address", "loose"]
        });
        let g = ArgsGen::from_schema(&schema);
        let mut seen_to = BTreeMap::new();
        for seq in 0..2000 {
            let v = g.render(9, 2, seq);
            fits(&schema, &v).unwrap();
            assert_eq!(v["text"], json!(format!("text-{seq}")));
            assert!((1..=5).contains(&v["qty"].as_i64().unwrap()));
            assert!((11..=110).contains(&v["over"].as_i64().unwrap()));
            let w = v["weight"].as_f64().unwrap();
            assert!((0.5..2.5).contains(&w), "{w}");
            assert_eq!(v["tags"], json!([]));
            assert_eq!(v["version"], json!(2));
            assert_eq!(v["limit"], json!(10));
            assert_eq!(v["address"], json!({"zip": format!("zip-{seq}")}));
            assert!(v["loose"].is_string());
            assert!(v.get("optional").is_none());
            *seen_to
                .entry(v["to"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        // The enum is Zipf-chosen: every value appears, the first most often.
        assert_eq!(seen_to.len(), 3);
        assert!(seen_to["pt"] > seen_to["en"] && seen_to["en"] > seen_to["es"]);
        assert_eq!(
            ArgsGen::from_schema(&json!({"type": "object"})).render(0, 0, 0),
            json!({})
        );
    }

    #[test]
    fn schema_ranges_by_table() {
        let cases = [
            (json!({}), (1.0, 100.0)),
            (json!({"minimum": 50}), (50.0, 149.0)),
            (json!({"maximum": 0}), (-99.0, 0.0)),
            (json!({"minimum": 1.5, "maximum": 3.5}), (2.0, 3.0)),
            (
                json!({"exclusiveMinimum": 0, "exclusiveMaximum": 3}),
                (1.0, 2.0),
            ),
            (json!({"minimum": 9, "maximum": 1}), (9.0, 9.0)),
        ];
        for (schema, want) in cases {
            assert_eq!(range(&schema, 1.0), want, "{schema}");
        }
        assert_eq!(range(&json!({"exclusiveMinimum": 0.5}), 0.0), (0.5, 99.5));
    }
}

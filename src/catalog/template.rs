//! Result templates: text with `{{…}}` placeholders, compiled once when a catalogue loads and
//! rendered per call without parsing.

use serde_json::{Map, Value};
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Lit(String),
    Arg(String),
    AllArgs,
    Tool,
    Server,
    CallId,
    Var(String),
}

/// A compiled text template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template(Vec<Seg>);

/// What placeholders a template may use.
pub struct Scope<'a> {
    /// Argument names allowed after `args.`; `None` allows any.
    pub args: Option<&'a [String]>,
    /// Variables allowed by bare name (resource template variables).
    pub vars: &'a [String],
    /// Whether `tool`, `server` and `call_id` make sense here.
    pub call: bool,
}

/// What a template is rendered with.
#[derive(Default)]
pub struct Ctx<'a> {
    pub args: Option<&'a Map<String, Value>>,
    pub tool: &'a str,
    pub server: &'a str,
    pub call_id: Option<u64>,
    pub vars: &'a [(String, String)],
}

impl Template {
    /// Compiles `src`; the error names the placeholder and what is allowed.
    pub fn compile(src: &str, scope: &Scope) -> Result<Template, String> {
        let mut segs = Vec::new();
        let mut rest = src;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segs.push(Seg::Lit(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("`{{{{` without a closing `}}}}` in {src:?}"))?;
            segs.push(placeholder(after[..close].trim(), scope)?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            segs.push(Seg::Lit(rest.to_string()));
        }
        Ok(Template(segs))
    }

    /// A template with no placeholders.
    pub fn literal(s: &str) -> Template {
        Template(vec![Seg::Lit(s.to_string())])
    }

    pub fn is_literal(&self) -> bool {
        self.0.iter().all(|s| matches!(s, Seg::Lit(_)))
    }

    pub fn render(&self, ctx: &Ctx) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            match seg {
                Seg::Lit(s) => out.push_str(s),
                Seg::Arg(name) => match ctx.args.and_then(|a| a.get(name)) {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(v) => out.push_str(&v.to_string()),
                    None => {}
                },
                Seg::AllArgs => match ctx.args {
                    Some(a) => out.push_str(&Value::Object(a.clone()).to_string()),
                    None => out.push_str("{}"),
                },
                Seg::Tool => out.push_str(ctx.tool),
                Seg::Server => out.push_str(ctx.server),
                Seg::CallId => {
                    if let Some(id) = ctx.call_id {
                        let _ = write!(out, "{id}");
                    }
                }
                Seg::Var(name) => {
                    if let Some((_, v)) = ctx.vars.iter().find(|(k, _)| k == name) {
                        out.push_str(v);
                    }
                }
            }
        }
        out
    }

    /// Renders to JSON: a template that is exactly one argument placeholder keeps the
    /// argument's JSON type; anything else is a string.
    pub fn render_value(&self, ctx: &Ctx) -> Value {
        if let [Seg::Arg(name)] = self.0.as_slice() {
            return ctx
                .args
                .and_then(|a| a.get(name))
                .cloned()
                .unwrap_or(Value::Null);
        }
        if let [Seg::AllArgs] = self.0.as_slice() {
            return Value::Object(ctx.args.cloned().unwrap_or_default());
        }
        Value::String(self.render(ctx))
    }
}

fn placeholder(name: &str, scope: &Scope) -> Result<Seg, String> {
    if let Some(arg) = name.strip_prefix("args.") {
        return match scope.args {
            None => Ok(Seg::Arg(arg.to_string())),
            Some(allowed) if allowed.iter().any(|a| a == arg) => Ok(Seg::Arg(arg.to_string())),
            Some(allowed) => Err(format!(
                "unknown argument `{arg}` in `{{{{{name}}}}}`; arguments are: {}",
                list(allowed)
            )),
        };
    }
    match name {
        "args" if scope.call || scope.args.is_some() => Ok(Seg::AllArgs),
        "tool" if scope.call => Ok(Seg::Tool),
        "server" => Ok(Seg::Server),
        "call_id" if scope.call => Ok(Seg::CallId),
        v if scope.vars.iter().any(|x| x == v) => Ok(Seg::Var(v.to_string())),
        _ => {
            let mut allowed: Vec<String> = Vec::new();
            if scope.call {
                allowed.extend(["args.NAME", "args", "tool", "call_id"].map(String::from));
            } else if scope.args.is_some() {
                allowed.extend(["args.NAME", "args"].map(String::from));
            }
            allowed.push("server".into());
            allowed.extend(scope.vars.iter().cloned());
            Err(format!(
                "unknown placeholder `{{{{{name}}}}}`; allowed: {}",
                list(&allowed)
            ))
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

/// A JSON value whose strings are templates.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    Const(Value),
    Text(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    pub fn compile(v: &Value, scope: &Scope) -> Result<JsonTemplate, String> {
        Ok(match v {
            Value::String(s) => {
                let t = Template::compile(s, scope)?;
                if t.is_literal() {
                    JsonTemplate::Const(v.clone())
                } else {
                    JsonTemplate::Text(t)
                }
            }
            Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .map(|i| JsonTemplate::compile(i, scope))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => JsonTemplate::Object(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), JsonTemplate::compile(v, scope)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => JsonTemplate::Const(other.clone()),
        })
    }

    pub fn render(&self, ctx: &Ctx) -> Value {
        match self {
            JsonTemplate::Const(v) => v.clone(),
            JsonTemplate::Text(t) => t.render_value(ctx),
            JsonTemplate::Array(items) => {
                Value::Array(items.iter().map(|i| i.render(ctx)).collect())
            }
            JsonTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.render(ctx)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call_scope(args: &[String]) -> Scope<'_> {
        Scope {
            args: Some(args),
            vars: &[],
            call: true,
        }
    }

    #[test]
    fn renders_arguments_and_context() {
        let names = vec!["text".to_string(), "to".to_string()];
        let t = Template::compile(
            "[{{args.to}}] {{ args.text }} via {{tool}}@{{server}} #{{call_id}}",
            &call_scope(&names),
        )
        .unwrap();
        let args = json!({"text": "hello", "to": "pt"});
        let ctx = Ctx {
            args: args.as_object(),
            tool: "translate",
            server: "translation",
            call_id: Some(7),
            vars: &[],
        };
        assert_eq!(t.render(&ctx), "[pt] hello via translate@translation #7");
    }

    #[test]
    fn json_keeps_argument_types() {
        let names = vec!["weight_kg".to_string()];
        let t = JsonTemplate::compile(
            &json!({"w": "{{args.weight_kg}}", "s": "w={{args.weight_kg}}", "n": 1}),
            &call_scope(&names),
        )
        .unwrap();
        let args = json!({"weight_kg": 2.5});
        let ctx = Ctx {
            args: args.as_object(),
            ..Ctx::default()
        };
        assert_eq!(t.render(&ctx), json!({"w": 2.5, "s": "w=2.5", "n": 1}));
    }

    #[test]
    fn errors_name_the_placeholder() {
        let names = vec!["text".to_string()];
        let e = Template::compile("{{args.txt}}", &call_scope(&names)).unwrap_err();
        assert!(e.contains("`txt`") && e.contains("text"), "{e}");
        let e = Template::compile("{{nope}}", &call_scope(&names)).unwrap_err();
        assert!(e.contains("nope") && e.contains("allowed"), "{e}");
        assert!(Template::compile("{{args.text", &call_scope(&names)).is_err());
        let vars = vec!["id".to_string()];
        let scope = Scope {
            args: None,
            vars: &vars,
            call: false,
        };
        assert!(Template::compile("x{{id}}", &scope).is_ok());
        assert!(Template::compile("{{tool}}", &scope).is_err());
    }
}

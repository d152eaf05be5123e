//! Catalogue files (docs/catalogue.md): YAML → checked, compiled [`Catalog`].
//!
//! Reading happens in two steps: serde types that mirror the file (unknown keys are errors,
//! values keep their source location), then `compile`, which checks what serde cannot
//! (duplicates, schemas, templates, rates) and precomputes the JSON that lists return.

pub mod template;

use crate::diag::SourceError;
use crate::dist::DurationDist;
use crate::mcp::protocol::LogLevel;
use crate::units::{Dur, Percent};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use serde_saphyr::Spanned;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use template::{JsonTemplate, Scope, Template};

// ---- the file, as written ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    name: Spanned<String>,
    version: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    instructions: Option<String>,
    #[serde(default)]
    behaviour: BehaviourSpec,
    #[serde(default)]
    tools: Vec<ToolSpec>,
    #[serde(default)]
    resources: Vec<ResourceSpec>,
    #[serde(default)]
    resource_templates: Vec<TemplateSpec>,
    #[serde(default)]
    prompts: Vec<PromptSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BehaviourSpec {
    #[serde(default)]
    service_time: Option<Spanned<DurationDist>>,
    #[serde(default)]
    errors: Option<Vec<Spanned<ErrorSpec>>>,
    #[serde(default)]
    response: Option<ResponseMode>,
    #[serde(default)]
    page_size: Option<Spanned<usize>>,
}

/// How a request's answer travels over Streamable HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ResponseMode {
    Json,
    Sse,
    /// SSE only when the call sends notifications.
    #[default]
    Auto,
}

/// One entry of an error mix as written: `{ rate: 1%, rpc: -32603 }` (also used by scenarios).
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    pub rate: Percent,
    #[serde(default)]
    pub rpc: Option<RpcSpec>,
    #[serde(default)]
    pub tool_error: Option<String>,
    #[serde(default)]
    pub http: Option<u16>,
    #[serde(default)]
    pub retry_after: Option<Dur>,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum RpcSpec {
    Code(i32),
    Full {
        code: i32,
        #[serde(default)]
        message: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolSpec {
    name: Spanned<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "inputSchema")]
    input_schema: Spanned<Value>,
    #[serde(rename = "outputSchema", default)]
    output_schema: Option<Value>,
    #[serde(default)]
    annotations: Option<Value>,
    #[serde(default)]
    cacheable: bool,
    #[serde(default)]
    result: ResultSpec,
    #[serde(default)]
    notifications: NotificationsSpec,
    #[serde(default)]
    service_time: Option<Spanned<DurationDist>>,
    #[serde(default)]
    errors: Option<Vec<Spanned<ErrorSpec>>>,
    #[serde(default)]
    response: Option<ResponseMode>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ResultSpec {
    #[serde(default)]
    content: Vec<ContentSpec>,
    #[serde(rename = "structuredContent", default)]
    structured_content: Option<Spanned<Value>>,
    #[serde(rename = "isError", default)]
    is_error: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ContentSpec {
    Text(Spanned<String>),
    Image(BinarySpec),
    Audio(BinarySpec),
    Resource(EmbeddedSpec),
    ResourceLink(LinkSpec),
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct BinarySpec {
    data: String,
    #[serde(rename = "mimeType")]
    mime_type: String,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct EmbeddedSpec {
    uri: String,
    #[serde(rename = "mimeType", default)]
    mime_type: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    blob: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct LinkSpec {
    uri: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "mimeType", default)]
    mime_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NotificationsSpec {
    #[serde(default)]
    progress: u32,
    #[serde(default)]
    log: Vec<LogSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSpec {
    level: LogLevel,
    data: Spanned<String>,
    #[serde(default)]
    logger: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceSpec {
    uri: Spanned<String>,
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "mimeType", default)]
    mime_type: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    blob: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateSpec {
    #[serde(rename = "uriTemplate")]
    uri_template: Spanned<String>,
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "mimeType", default)]
    mime_type: Option<String>,
    #[serde(default)]
    text: Option<Spanned<String>>,
    #[serde(default)]
    blob: Option<String>,
    #[serde(default)]
    complete: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptSpec {
    name: Spanned<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    arguments: Vec<ArgumentSpec>,
    #[serde(default)]
    messages: Vec<Spanned<MessageSpec>>,
    #[serde(default)]
    complete: HashMap<String, Vec<String>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct ArgumentSpec {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    required: bool,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct MessageSpec {
    role: Role,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    image: Option<BinarySpec>,
    #[serde(default)]
    audio: Option<BinarySpec>,
    #[serde(default)]
    resource: Option<EmbeddedSpec>,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

// ---- the compiled catalogue ----------------------------------------------------------------

/// What a call may be answered with instead of its result.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    Rpc {
        code: i32,
        message: String,
    },
    ToolError(String),
    Http {
        status: u16,
        retry_after_s: Option<u64>,
    },
}

/// One entry of an error mix.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorMix {
    pub rate: f64,
    pub failure: Failure,
}

#[derive(Debug, Clone)]
pub struct Behaviour {
    pub service_time: DurationDist,
    pub errors: Vec<ErrorMix>,
    pub response: ResponseMode,
}

#[derive(Debug, Clone)]
pub enum ContentTemplate {
    Text(Template),
    Fixed(Value),
}

#[derive(Debug, Clone)]
pub struct LogTemplate {
    pub level: LogLevel,
    pub logger: Option<String>,
    pub data: Template,
}

#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    /// The tools/list entry.
    pub descriptor: Value,
    pub cacheable: bool,
    pub content: Vec<ContentTemplate>,
    pub structured: Option<JsonTemplate>,
    pub is_error: bool,
    pub progress_steps: u32,
    pub logs: Vec<LogTemplate>,
    pub behaviour: Behaviour,
    /// Declared properties with their JSON type (if the schema names one), for -32602.
    pub properties: Vec<(String, Option<String>)>,
    pub required: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub uri: String,
    pub descriptor: Value,
    /// The resources/read `contents` entry.
    pub contents: Value,
}

#[derive(Debug, Clone)]
pub struct ResourceTemplate {
    pub pattern: UriPattern,
    pub descriptor: Value,
    pub mime_type: Option<String>,
    pub text: Option<Template>,
    pub blob: Option<String>,
    pub complete: HashMap<String, Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Prompt {
    pub name: String,
    pub descriptor: Value,
    pub arguments: Vec<(String, bool)>,
    pub messages: Vec<(Role, PromptContent)>,
    pub complete: HashMap<String, Vec<String>>,
}

#[derive(Debug, Clone)]
pub enum PromptContent {
    Text(Template),
    Json(JsonTemplate),
}

/// A compiled catalogue.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub source: PathBuf,
    pub name: String,
    pub version: String,
    pub title: Option<String>,
    pub instructions: Option<String>,
    pub page_size: usize,
    pub tools: Vec<Tool>,
    pub tool_index: HashMap<String, usize>,
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
    pub prompts: Vec<Prompt>,
}

impl Catalog {
    /// Reads and checks a catalogue file.
    pub fn load(path: &Path) -> Result<Catalog, SourceError> {
        let bytes = std::fs::read(path).map_err(|e| SourceError {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            message: format!("cannot read the catalogue: {e}"),
        })?;
        Catalog::parse(&crate::diag::utf8(bytes, path)?, path)
    }

    /// Checks a catalogue held in memory; `path` names it in errors.
    pub fn parse(src: &str, path: &Path) -> Result<Catalog, SourceError> {
        crate::diag::not_empty(
            src,
            path,
            "a catalogue needs at least `name`, `version` and `tools` (or `resources` or `prompts`)",
        )?;
        let opts = serde_saphyr::options! { with_snippet: false };
        let spec: FileSpec = serde_saphyr::from_str_with_options(src, opts)
            .map_err(|e| SourceError::from_yaml(path, &e, src))?;
        compile(spec, path)
    }

    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.tool_index.get(name).map(|&i| &self.tools[i])
    }

    pub fn resource(&self, uri: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.uri == uri)
    }

    pub fn prompt(&self, name: &str) -> Option<&Prompt> {
        self.prompts.iter().find(|p| p.name == name)
    }
}

type Res<T> = Result<T, SourceError>;

fn compile(spec: FileSpec, path: &Path) -> Res<Catalog> {
    let err = |loc, msg: String| SourceError::at(path, loc, msg);
    let name = spec.name.value.clone();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(err(
            spec.name.referenced,
            format!("server name `{name}` must be lower-case letters, digits, `_` or `-`"),
        ));
    }
    let defaults = behaviour(&spec.behaviour, None, path)?;
    let page_size = match &spec.behaviour.page_size {
        Some(p) if p.value == 0 => {
            return Err(err(p.referenced, "`page_size` must be at least 1".into()));
        }
        Some(p) => p.value,
        None => 100,
    };
    let mut tools = Vec::new();
    let mut tool_index = HashMap::new();
    for t in &spec.tools {
        if tool_index
            .insert(t.name.value.clone(), tools.len())
            .is_some()
        {
            return Err(err(
                t.name.referenced,
                format!("tool `{}` is defined twice", t.name.value),
            ));
        }
        tools.push(tool(t, &defaults, path)?);
    }
    let mut seen = HashSet::new();
    let mut resources = Vec::new();
    for r in &spec.resources {
        if !seen.insert(r.uri.value.clone()) {
            return Err(err(
                r.uri.referenced,
                format!("resource `{}` is defined twice", r.uri.value),
            ));
        }
        resources.push(resource(r, path)?);
    }
    let templates = spec
        .resource_templates
        .iter()
        .map(|t| resource_template(t, path))
        .collect::<Res<Vec<_>>>()?;
    let mut seen = HashSet::new();
    let mut prompts = Vec::new();
    for p in &spec.prompts {
        if !seen.insert(p.name.value.clone()) {
            return Err(err(
                p.name.referenced,
                format!("prompt `{}` is defined twice", p.name.value),
            ));
        }
        prompts.push(prompt(p, path)?);
    }
    Ok(Catalog {
        source: path.to_path_buf(),
        name,
        version: spec.version,
        title: spec.title,
        instructions: spec.instructions,
        page_size,
        tools,
        tool_index,
        resources,
        templates,
        prompts,
    })
}

fn behaviour(b: &BehaviourSpec, base: Option<&Behaviour>, path: &Path) -> Res<Behaviour> {
    let service_time = match &b.service_time {
        Some(s) => {
            s.value
                .validate()
                .map_err(|m| SourceError::at(path, s.referenced, m))?;
            s.value
        }
        None => base.map(|b| b.service_time).unwrap_or_default(),
    };
    let errors = match &b.errors {
        Some(list) => error_mix(list, path)?,
        None => base.map(|b| b.errors.clone()).unwrap_or_default(),
    };
    let response = b.response.or(base.map(|b| b.response)).unwrap_or_default();
    Ok(Behaviour {
        service_time,
        errors,
        response,
    })
}

fn error_mix(list: &[Spanned<ErrorSpec>], path: &Path) -> Res<Vec<ErrorMix>> {
    let mut out = Vec::new();
    for e in list {
        out.push(error_entry(&e.value).map_err(|m| SourceError::at(path, e.referenced, m))?);
    }
    if let (Err(m), Some(first)) = (check_total(&out), list.first()) {
        return Err(SourceError::at(path, first.referenced, m));
    }
    Ok(out)
}

/// Checks one error-mix entry and compiles it.
pub fn error_entry(s: &ErrorSpec) -> Result<ErrorMix, String> {
    let failure = match (&s.rpc, &s.tool_error, s.http) {
        (Some(rpc), None, None) => {
            let (code, message) = match rpc {
                RpcSpec::Code(c) => (*c, None),
                RpcSpec::Full { code, message } => (*code, message.clone()),
            };
            Failure::Rpc {
                code,
                message: message.unwrap_or_else(|| default_message(code).to_string()),
            }
        }
        (None, Some(m), None) => Failure::ToolError(m.clone()),
        (None, None, Some(status)) => {
            if !(400..=599).contains(&status) {
                return Err("`http` must be an error status, 400..599".into());
            }
            Failure::Http {
                status,
                retry_after_s: s.retry_after.map(|d| d.0.as_secs().max(1)),
            }
        }
        _ => {
            return Err(
                "an error entry needs exactly one of `rpc`, `tool_error` and `http`".into(),
            );
        }
    };
    if s.retry_after.is_some() && !matches!(failure, Failure::Http { .. }) {
        return Err("`retry_after` goes with `http` (e.g. http: 429)".into());
    }
    Ok(ErrorMix {
        rate: s.rate.0,
        failure,
    })
}

/// The rates of a mix must not add up to more than 100%.
pub fn check_total(mix: &[ErrorMix]) -> Result<(), String> {
    let total: f64 = mix.iter().map(|e| e.rate).sum();
    if total > 1.0 + 1e-9 {
        return Err(format!(
            "error rates add up to {:.2}%, more than 100%",
            total * 100.0
        ));
    }
    Ok(())
}

fn default_message(code: i32) -> &'static str {
    match code {
        -32700 => "Parse error",
        -32600 => "Invalid Request",
        -32601 => "Method not found",
        -32602 => "Invalid params",
        -32603 => "Internal error",
        _ => "Server error",
    }
}

/// The argument names, types and required list of an `inputSchema`.
type Signature = (Vec<(String, Option<String>)>, Vec<String>);

fn signature(schema: &Spanned<Value>, path: &Path) -> Res<Signature> {
    let at = |m: &str| SourceError::at(path, schema.referenced, m.to_string());
    let obj = schema.value.as_object().ok_or_else(|| {
        at("`inputSchema` must be a JSON Schema object (type: object, properties: …)")
    })?;
    if obj.get("type").and_then(Value::as_str) != Some("object") {
        return Err(at("`inputSchema` must have `type: object`"));
    }
    let properties: Vec<(String, Option<String>)> = obj
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .map(|(k, v)| {
                    let ty = v.get("type").and_then(Value::as_str).map(str::to_owned);
                    (k.clone(), ty)
                })
                .collect()
        })
        .unwrap_or_default();
    let required: Vec<String> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(missing) = required
        .iter()
        .find(|r| !properties.iter().any(|(p, _)| p == *r))
    {
        return Err(at(&format!(
            "`required` names `{missing}`, which is not in `properties`"
        )));
    }
    Ok((properties, required))
}

/// The tools/list entry.
fn tool_descriptor(t: &ToolSpec) -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!(t.name.value));
    if let Some(v) = &t.title {
        d.insert("title".into(), json!(v));
    }
    if let Some(v) = &t.description {
        d.insert("description".into(), json!(v));
    }
    d.insert("inputSchema".into(), t.input_schema.value.clone());
    if let Some(v) = &t.output_schema {
        d.insert("outputSchema".into(), v.clone());
    }
    if let Some(v) = &t.annotations {
        d.insert("annotations".into(), v.clone());
    }
    Value::Object(d)
}

fn tool(t: &ToolSpec, defaults: &Behaviour, path: &Path) -> Res<Tool> {
    let at = |loc, m: String| SourceError::at(path, loc, m);
    let name = &t.name.value;
    if name.is_empty() || name.len() > 128 {
        return Err(at(
            t.name.referenced,
            "a tool name has 1 to 128 characters".into(),
        ));
    }
    let (properties, required) = signature(&t.input_schema, path)?;
    let arg_names: Vec<String> = properties.iter().map(|(n, _)| n.clone()).collect();
    let scope = Scope {
        args: Some(&arg_names),
        vars: &[],
        call: true,
    };
    let content = t
        .result
        .content
        .iter()
        .map(|c| content(c, &scope, path))
        .collect::<Res<Vec<_>>>()?;
    let structured = match &t.result.structured_content {
        Some(s) => Some(JsonTemplate::compile(&s.value, &scope).map_err(|m| at(s.referenced, m))?),
        None => None,
    };
    let logs = t
        .notifications
        .log
        .iter()
        .map(|l| {
            Ok(LogTemplate {
                level: l.level,
                logger: l.logger.clone(),
                data: Template::compile(&l.data.value, &scope)
                    .map_err(|m| at(l.data.referenced, m))?,
            })
        })
        .collect::<Res<Vec<_>>>()?;
    let own = BehaviourSpec {
        service_time: t.service_time.clone(),
        errors: t.errors.clone(),
        response: t.response,
        page_size: None,
    };
    Ok(Tool {
        name: name.clone(),
        descriptor: tool_descriptor(t),
        cacheable: t.cacheable,
        content,
        structured,
        is_error: t.result.is_error,
        progress_steps: t.notifications.progress,
        logs,
        behaviour: behaviour(&own, Some(defaults), path)?,
        properties,
        required,
    })
}

fn content(c: &ContentSpec, scope: &Scope, path: &Path) -> Res<ContentTemplate> {
    Ok(match c {
        ContentSpec::Text(t) => ContentTemplate::Text(
            Template::compile(&t.value, scope)
                .map_err(|m| SourceError::at(path, t.referenced, m))?,
        ),
        ContentSpec::Image(b) => ContentTemplate::Fixed(binary("image", b)),
        ContentSpec::Audio(b) => ContentTemplate::Fixed(binary("audio", b)),
        ContentSpec::Resource(e) => {
            ContentTemplate::Fixed(json!({"type": "resource", "resource": embedded(e)}))
        }
        ContentSpec::ResourceLink(l) => {
            let mut v = json!({"type": "resource_link", "uri": l.uri, "name": l.name});
            if let Some(d) = &l.description {
                v["description"] = json!(d);
            }
            if let Some(m) = &l.mime_type {
                v["mimeType"] = json!(m);
            }
            ContentTemplate::Fixed(v)
        }
    })
}

fn binary(kind: &str, b: &BinarySpec) -> Value {
    json!({"type": kind, "data": b.data, "mimeType": b.mime_type})
}

fn embedded(e: &EmbeddedSpec) -> Value {
    let mut v = json!({"uri": e.uri});
    if let Some(m) = &e.mime_type {
        v["mimeType"] = json!(m);
    }
    if let Some(t) = &e.text {
        v["text"] = json!(t);
    }
    if let Some(b) = &e.blob {
        v["blob"] = json!(b);
    }
    v
}

fn descriptor(pairs: &[(&str, Option<&String>)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            m.insert((*k).to_string(), json!(v));
        }
    }
    Value::Object(m)
}

fn resource(r: &ResourceSpec, path: &Path) -> Res<Resource> {
    let uri = &r.uri.value;
    let mut contents = json!({"uri": uri});
    match (&r.text, &r.blob) {
        (Some(t), None) => contents["text"] = json!(t),
        (None, Some(b)) => contents["blob"] = json!(b),
        _ => {
            return Err(SourceError::at(
                path,
                r.uri.referenced,
                format!("resource `{uri}` needs exactly one of `text` and `blob`"),
            ));
        }
    }
    if let Some(m) = &r.mime_type {
        contents["mimeType"] = json!(m);
    }
    Ok(Resource {
        uri: uri.clone(),
        descriptor: descriptor(&[
            ("uri", Some(uri)),
            ("name", Some(&r.name)),
            ("title", r.title.as_ref()),
            ("description", r.description.as_ref()),
            ("mimeType", r.mime_type.as_ref()),
        ]),
        contents,
    })
}

fn resource_template(t: &TemplateSpec, path: &Path) -> Res<ResourceTemplate> {
    let at = |loc, m: String| SourceError::at(path, loc, m);
    let pattern =
        UriPattern::parse(&t.uri_template.value).map_err(|m| at(t.uri_template.referenced, m))?;
    let vars = pattern.vars();
    let scope = Scope {
        args: None,
        vars: &vars,
        call: false,
    };
    let text = match (&t.text, &t.blob) {
        (Some(s), None) => {
            Some(Template::compile(&s.value, &scope).map_err(|m| at(s.referenced, m))?)
        }
        (None, Some(_)) => None,
        _ => {
            return Err(at(
                t.uri_template.referenced,
                "a resource template needs exactly one of `text` and `blob`".into(),
            ));
        }
    };
    if let Some(k) = t.complete.keys().find(|k| !vars.contains(k)) {
        return Err(at(
            t.uri_template.referenced,
            format!("`complete` names `{k}`, which is not a variable of the URI template"),
        ));
    }
    Ok(ResourceTemplate {
        descriptor: descriptor(&[
            ("uriTemplate", Some(&t.uri_template.value)),
            ("name", Some(&t.name)),
            ("title", t.title.as_ref()),
            ("description", t.description.as_ref()),
            ("mimeType", t.mime_type.as_ref()),
        ]),
        pattern,
        mime_type: t.mime_type.clone(),
        text,
        blob: t.blob.clone(),
        complete: t.complete.clone(),
    })
}

fn prompt(p: &PromptSpec, path: &Path) -> Res<Prompt> {
    let names: Vec<String> = p.arguments.iter().map(|a| a.name.clone()).collect();
    let scope = Scope {
        args: Some(&names),
        vars: &[],
        call: false,
    };
    let mut messages = Vec::new();
    for m in &p.messages {
        let at = |msg: String| SourceError::at(path, m.referenced, msg);
        let s = &m.value;
        let set = [
            s.text.is_some(),
            s.image.is_some(),
            s.audio.is_some(),
            s.resource.is_some(),
        ];
        if set.iter().filter(|x| **x).count() != 1 {
            return Err(at(
                "a prompt message needs exactly one of `text`, `image`, `audio`, `resource`".into(),
            ));
        }
        let fixed = match (&s.text, &s.image, &s.audio, &s.resource) {
            (Some(t), ..) => {
                messages.push((
                    s.role,
                    PromptContent::Text(Template::compile(t, &scope).map_err(at)?),
                ));
                continue;
            }
            (_, Some(b), ..) => binary("image", b),
            (_, _, Some(b), _) => binary("audio", b),
            (.., Some(e)) => json!({"type": "resource", "resource": embedded(e)}),
            _ => Value::Null,
        };
        // An embedded resource may name an argument: `uri: "{{args.resourceUri}}"`.
        let content = PromptContent::Json(JsonTemplate::compile(&fixed, &scope).map_err(at)?);
        messages.push((s.role, content));
    }
    if let Some(k) = p.complete.keys().find(|k| !names.contains(k)) {
        return Err(SourceError::at(
            path,
            p.name.referenced,
            format!("`complete` names `{k}`, which is not an argument of the prompt"),
        ));
    }
    let arguments: Vec<Value> = p
        .arguments
        .iter()
        .map(|a| {
            let mut v = json!({"name": a.name, "required": a.required});
            if let Some(d) = &a.description {
                v["description"] = json!(d);
            }
            v
        })
        .collect();
    let mut d = descriptor(&[
        ("name", Some(&p.name.value)),
        ("title", p.title.as_ref()),
        ("description", p.description.as_ref()),
    ]);
    d["arguments"] = Value::Array(arguments);
    Ok(Prompt {
        name: p.name.value.clone(),
        descriptor: d,
        arguments: p
            .arguments
            .iter()
            .map(|a| (a.name.clone(), a.required))
            .collect(),
        messages,
        complete: p.complete.clone(),
    })
}

/// A URI template of RFC 6570 level 1 (`{var}` expansions), matched against URIs.
#[derive(Debug, Clone, PartialEq)]
pub struct UriPattern {
    parts: Vec<UriPart>,
}

#[derive(Debug, Clone, PartialEq)]
enum UriPart {
    Lit(String),
    Var(String),
}

impl UriPattern {
    pub fn parse(src: &str) -> Result<UriPattern, String> {
        let mut parts = Vec::new();
        let mut rest = src;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(UriPart::Lit(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("`{{` without `}}` in URI template `{src}`"))?;
            let var = &rest[open + 1..open + close];
            if var.is_empty() || !var.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(format!(
                    "`{{{var}}}` in `{src}`: variables are letters, digits and `_`"
                ));
            }
            if matches!(parts.last(), Some(UriPart::Var(_))) {
                return Err(format!(
                    "two variables in a row in `{src}` cannot be told apart"
                ));
            }
            parts.push(UriPart::Var(var.to_string()));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(UriPart::Lit(rest.to_string()));
        }
        Ok(UriPattern { parts })
    }

    pub fn vars(&self) -> Vec<String> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                UriPart::Var(v) => Some(v.clone()),
                UriPart::Lit(_) => None,
            })
            .collect()
    }

    /// The variables' values if `uri` matches; a variable never spans a `/`.
    pub fn matches(&self, uri: &str) -> Option<Vec<(String, String)>> {
        let mut out = Vec::new();
        let mut rest = uri;
        let mut i = 0;
        while i < self.parts.len() {
            match &self.parts[i] {
                UriPart::Lit(l) => rest = rest.strip_prefix(l.as_str())?,
                UriPart::Var(v) => {
                    let end = match self.parts.get(i + 1) {
                        Some(UriPart::Lit(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    if value.is_empty() || value.contains('/') {
                        return None;
                    }
                    out.push((v.clone(), value.to_string()));
                    rest = &rest[end..];
                }
            }
            i += 1;
        }
        rest.is_empty().then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Catalog, SourceError> {
        Catalog::parse(src, Path::new("c.yaml"))
    }

    const MINIMAL: &str = "name: t\nversion: '1'\ntools:\n  - name: echo\n    inputSchema: { type: object, properties: { text: { type: string } }, required: [text] }\n    result: { content: [ { text: '{{args.text}}' } ] }\n";

    #[test]
    fn reads_a_minimal_catalogue() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.name, "t");
        assert_eq!(c.tools.len(), 1);
        assert_eq!(c.tool("echo").unwrap().required, vec!["text"]);
    }

    #[test]
    fn unknown_keys_are_located() {
        let e = parse("name: t\nversion: '1'\ntolls: []\n").unwrap_err();
        assert_eq!((e.line, e.col), (3, 1), "{e}");
        assert!(e.message.contains("tolls"), "{e}");
    }

    #[test]
    fn bad_placeholders_are_located() {
        let src = MINIMAL.replace("{{args.text}}", "{{args.txt}}");
        let e = parse(&src).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("txt"), "{e}");
    }

    #[test]
    fn duplicate_tools_and_bad_mixes_are_errors() {
        let dup = format!("{MINIMAL}  - name: echo\n    inputSchema: {{ type: object }}\n");
        let e = parse(&dup).unwrap_err();
        assert!(e.message.contains("twice") && e.line == 7, "{e}");
        let mix = "name: t\nversion: '1'\nbehaviour:\n  errors:\n    - { rate: 1%, rpc: -32603, http: 500 }\n";
        let e = parse(mix).unwrap_err();
        assert!(e.message.contains("exactly one") && e.line == 5, "{e}");
        let rate = "name: t\nversion: '1'\nbehaviour:\n  errors:\n    - { rate: 3, http: 500 }\n";
        assert!(parse(rate).unwrap_err().message.contains('%'));
    }

    #[test]
    fn uri_patterns_match() {
        let p = UriPattern::parse("test://template/{id}/data").unwrap();
        assert_eq!(
            p.matches("test://template/42/data"),
            Some(vec![("id".into(), "42".into())])
        );
        assert_eq!(p.matches("test://template/42/other"), None);
        assert_eq!(p.matches("test://template//data"), None);
        let q = UriPattern::parse("x://{a}").unwrap();
        assert_eq!(q.matches("x://b"), Some(vec![("a".into(), "b".into())]));
        assert!(UriPattern::parse("x://{a}{b}").is_err());
    }
}

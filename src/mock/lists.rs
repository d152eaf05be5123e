//! The catalogue methods that answer at once: initialize, the lists (with opaque cursors),
//! resources/read, prompts/get, completion/complete, subscriptions.

use crate::catalog::template::Ctx;
use crate::catalog::{Catalog, PromptContent, Role};
use crate::mcp::jsonrpc::{ErrorObject, code};
use crate::mcp::protocol::Version;
use serde_json::{Map, Value, json};

type Params<'a> = Option<&'a Map<String, Value>>;

/// The capabilities a catalogue gives its server.
fn capabilities(c: &Catalog) -> Map<String, Value> {
    let mut caps = Map::new();
    caps.insert("tools".into(), json!({"listChanged": true}));
    caps.insert("logging".into(), json!({}));
    if !c.resources.is_empty() || !c.templates.is_empty() {
        caps.insert(
            "resources".into(),
            json!({"subscribe": true, "listChanged": false}),
        );
    }
    if !c.prompts.is_empty() {
        caps.insert("prompts".into(), json!({"listChanged": false}));
    }
    let completes = c.prompts.iter().any(|p| !p.complete.is_empty())
        || c.templates.iter().any(|t| !t.complete.is_empty());
    if completes {
        caps.insert("completions".into(), json!({}));
    }
    caps
}

/// `serverInfo`: the catalogue's name, version and title.
pub fn server_info(c: &Catalog) -> Value {
    let mut info = json!({"name": c.name, "version": c.version});
    if let Some(t) = &c.title {
        info["title"] = json!(t);
    }
    info
}

/// The initialize result: the negotiated revision, capabilities derived from the catalogue.
pub fn initialize(c: &Catalog, version: Version) -> Value {
    let mut r = json!({
        "protocolVersion": version.as_str(),
        "capabilities": capabilities(c),
        "serverInfo": server_info(c),
    });
    if let Some(i) = &c.instructions {
        r["instructions"] = json!(i);
    }
    r
}

/// The 2026-07-28 `server/discover` result: every revision the mock speaks, its capabilities
/// (2026-07-28 has no resource subscriptions: `subscriptions/listen` instead) and identity.
pub fn discover(c: &Catalog) -> Value {
    let mut caps = capabilities(c);
    if let Some(r) = caps.get_mut("resources").and_then(Value::as_object_mut) {
        r.remove("subscribe");
    }
    let mut r = json!({
        "supportedVersions": crate::mcp::modern::supported_versions(),
        "capabilities": caps,
        "_meta": {crate::mcp::protocol::modern_key::SERVER_INFO: server_info(c)},
    });
    if let Some(i) = &c.instructions {
        r["instructions"] = json!(i);
    }
    r
}

fn str_param<'a>(params: Params<'a>, name: &str) -> Result<&'a str, ErrorObject> {
    params
        .and_then(|p| p.get(name))
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorObject::invalid_params(format!("missing string parameter `{name}`")))
}

/// Resource not found: -32002 up to 2025-11-25, -32602 (invalid params) from 2026-07-28.
fn not_found(uri: &str, version: Version) -> ErrorObject {
    ErrorObject {
        code: if version >= Version::V2026_07_28 {
            code::INVALID_PARAMS
        } else {
            code::RESOURCE_NOT_FOUND
        },
        message: format!("Resource not found: {uri}"),
        data: Some(json!({"uri": uri})),
    }
}

pub fn read_resource(c: &Catalog, params: Params, version: Version) -> Result<Value, ErrorObject> {
    let uri = str_param(params, "uri")?;
    if let Some(r) = c.resource(uri) {
        return Ok(json!({"contents": [r.contents]}));
    }
    for t in &c.templates {
        let Some(vars) = t.pattern.matches(uri) else {
            continue;
        };
        let mut contents = json!({"uri": uri});
        if let Some(m) = &t.mime_type {
            contents["mimeType"] = json!(m);
        }
        match (&t.text, &t.blob) {
            (Some(text), _) => {
                let ctx = Ctx {
                    server: &c.name,
                    vars: &vars,
                    ..Ctx::default()
                };
                contents["text"] = json!(text.render(&ctx));
            }
            (None, Some(b)) => contents["blob"] = json!(b),
            (None, None) => {}
        }
        return Ok(json!({"contents": [contents]}));
    }
    Err(not_found(uri, version))
}

/// resources/subscribe and resources/unsubscribe: accepted (a catalogue's resources never
/// change, so no update is ever sent).
pub fn subscription(params: Params) -> Result<Value, ErrorObject> {
    str_param(params, "uri")?;
    Ok(json!({}))
}

pub fn get_prompt(c: &Catalog, params: Params) -> Result<Value, ErrorObject> {
    let name = str_param(params, "name")?;
    let p = c
        .prompt(name)
        .ok_or_else(|| ErrorObject::invalid_params(format!("Unknown prompt: {name}")))?;
    let args = match params.and_then(|p| p.get("arguments")) {
        None | Some(Value::Null) => None,
        Some(Value::Object(a)) => Some(a),
        Some(_) => return Err(ErrorObject::invalid_params("`arguments` must be an object")),
    };
    for (arg, required) in &p.arguments {
        if *required && !args.is_some_and(|a| a.contains_key(arg)) {
            return Err(ErrorObject::invalid_params(format!(
                "missing required argument `{arg}` for prompt `{name}`"
            )));
        }
    }
    let ctx = Ctx {
        args,
        server: &c.name,
        ..Ctx::default()
    };
    let messages: Vec<Value> = p
        .messages
        .iter()
        .map(|(role, content)| {
            let role = match role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            let content = match content {
                PromptContent::Text(t) => json!({"type": "text", "text": t.render(&ctx)}),
                PromptContent::Json(j) => j.render(&ctx),
            };
            json!({"role": role, "content": content})
        })
        .collect();
    let mut r = json!({"messages": messages});
    if let Some(d) = p.descriptor.get("description") {
        r["description"] = d.clone();
    }
    Ok(r)
}

/// completion/complete: the catalogue's values for the argument, filtered by prefix.
pub fn complete(c: &Catalog, params: Params) -> Result<Value, ErrorObject> {
    let r = params
        .and_then(|p| p.get("ref"))
        .and_then(Value::as_object)
        .ok_or_else(|| ErrorObject::invalid_params("missing object parameter `ref`"))?;
    let arg = params
        .and_then(|p| p.get("argument"))
        .and_then(Value::as_object)
        .ok_or_else(|| ErrorObject::invalid_params("missing object parameter `argument`"))?;
    let arg_name = arg.get("name").and_then(Value::as_str).unwrap_or_default();
    let prefix = arg.get("value").and_then(Value::as_str).unwrap_or_default();
    let table = match r.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => {
            let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
            &c.prompt(name)
                .ok_or_else(|| ErrorObject::invalid_params(format!("Unknown prompt: {name}")))?
                .complete
        }
        Some("ref/resource") => {
            let uri = r.get("uri").and_then(Value::as_str).unwrap_or_default();
            let t = c
                .templates
                .iter()
                .find(|t| t.descriptor.get("uriTemplate").and_then(Value::as_str) == Some(uri));
            &t.ok_or_else(|| {
                ErrorObject::invalid_params(format!("Unknown resource template: {uri}"))
            })?
            .complete
        }
        _ => {
            return Err(ErrorObject::invalid_params(
                "`ref.type` must be ref/prompt or ref/resource",
            ));
        }
    };
    let matching: Vec<&String> = table
        .get(arg_name)
        .map(|v| v.iter().filter(|s| s.starts_with(prefix)).collect())
        .unwrap_or_default();
    let values: Vec<&String> = matching.iter().take(100).copied().collect();
    Ok(json!({"completion": {
        "values": values,
        "total": matching.len(),
        "hasMore": matching.len() > values.len(),
    }}))
}

//! A mock MCP server: a [`Catalog`] behind the [`Service`] trait. Every request goes through
//! the [`Ledger`] as it arrives; tools/call applies the catalogue's behaviour (error mix,
//! service time, notifications) decided as a pure function of the call's key.

use super::lists;
use crate::catalog::template::Ctx;
use crate::catalog::{Catalog, ContentTemplate, Failure, ResponseMode, Tool};
use crate::clock;
use crate::dist::{mix, unit};
use crate::hash;
use crate::ledger::{Answered, Arrival, Ledger, Ticket};
use crate::mcp::jsonrpc::{ErrorObject, Notification, Request};
use crate::mcp::paging;
use crate::mcp::protocol::{LogLevel, meta};
use crate::mcp::service::{CallContext, Handled, HttpFault, Notifier, Reply, Service};
use crate::mcp::session::Session;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A mock server.
pub struct MockServer {
    pub catalog: Arc<Catalog>,
    pub ledger: Arc<Ledger>,
    /// Seeds the per-call decisions (error mix, service time).
    pub seed: u64,
    /// The server's name hashed once: decisions differ between servers with one seed.
    name_hash: u64,
    /// `serverInfo`, built once.
    info: Arc<Value>,
    /// What the clients spoke.
    pub eras: super::eras::Eras,
    /// The faults on now (switched by the run's timeline): consulted as each request arrives.
    pub faults: Arc<crate::fault::Live>,
}

impl MockServer {
    pub fn new(catalog: Arc<Catalog>, ledger: Arc<Ledger>, seed: u64) -> MockServer {
        MockServer {
            name_hash: str_hash(&catalog.name),
            info: Arc::new(lists::server_info(&catalog)),
            eras: super::eras::Eras::default(),
            faults: Arc::new(crate::fault::Live::new(seed ^ str_hash(&catalog.name))),
            catalog,
            ledger,
            seed,
        }
    }

    fn arrival(&self, req: &Request, ctx: &CallContext) -> Arrival {
        let params = req.params.as_ref();
        let m = params
            .and_then(|p| p.get("_meta"))
            .and_then(Value::as_object);
        let is_call = req.method == "tools/call";
        let tool = if is_call {
            params
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        } else {
            None
        };
        let args = params
            .and_then(|p| p.get("arguments"))
            .and_then(Value::as_object);
        Arrival {
            method: req.method.clone(),
            tool,
            args_hash: if is_call { hash::args_hash(args) } else { 0 },
            call_id: m
                .and_then(|m| m.get(meta::CALL_ID))
                .and_then(Value::as_u64)
                .or(ctx.call_id_header),
            traceparent: m
                .and_then(|m| m.get(meta::TRACEPARENT))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| ctx.traceparent.clone()),
            session: ctx.session.id().map(str::to_owned),
            arrival_ns: ctx.arrival_ns,
        }
    }

    /// Answers a request that needs no waiting; counts it in the ledger.
    fn immediate(&self, ticket: Ticket, result: Result<Value, ErrorObject>) -> Handled {
        let outcome = match &result {
            Ok(_) => Answered::Ok,
            Err(e) => Answered::RpcError(e.code),
        };
        let service = clock::now_ns().saturating_sub(ticket.arrival.arrival_ns);
        self.ledger.finish(&ticket, service, outcome);
        Handled::now(Reply { result, http: None })
    }
}

impl Service for MockServer {
    fn request(&self, req: Request, ctx: CallContext) -> Handled {
        self.eras.count(ctx.session.version(), ctx.transport);
        let ticket = self.ledger.arrive(self.arrival(&req, &ctx));
        let mut fx = self.fault_effects(&req.method, &ticket, &ctx);
        let hold = std::mem::take(&mut fx.hold);
        let params = req.params.as_ref();
        let c = &self.catalog;
        if let Some(changed) = self.faults.lists()
            && let Some(r) = crate::fault::list_change::answer(&changed, c, &req.method, params)
        {
            return hold.wrap(self.immediate(ticket, r));
        }
        let result = match req.method.as_str() {
            "tools/call" => return hold.wrap(self.call_tool(ticket, req.params, ctx, fx)),
            "initialize" => Ok(lists::initialize(c, ctx.session.version())),
            "ping" => Ok(json!({})),
            "tools/list" => paging::page(params, &c.tools, c.page_size, "tools", |t| {
                t.descriptor.clone()
            }),
            "resources/list" => paging::page(params, &c.resources, c.page_size, "resources", |r| {
                r.descriptor.clone()
            }),
            "resources/templates/list" => paging::page(
                params,
                &c.templates,
                c.page_size,
                "resourceTemplates",
                |t| t.descriptor.clone(),
            ),
            "prompts/list" => paging::page(params, &c.prompts, c.page_size, "prompts", |p| {
                p.descriptor.clone()
            }),
            "resources/read" => lists::read_resource(c, params, ctx.session.version()),
            "server/discover" => Ok(lists::discover(c)),
            "resources/subscribe" | "resources/unsubscribe" => lists::subscription(params),
            "prompts/get" => lists::get_prompt(c, params),
            "completion/complete" => lists::complete(c, params),
            "logging/setLevel" => set_level(&ctx.session, params),
            other => Err(ErrorObject::method_not_found(other)),
        };
        hold.wrap(self.immediate(ticket, result))
    }

    fn notification(&self, _n: Notification, _session: &Arc<Session>) {
        // notifications/initialized, roots/list_changed…: nothing for a mock to do.
    }

    fn server_info(&self) -> Option<Arc<Value>> {
        Some(self.info.clone())
    }
}

fn set_level(session: &Session, params: Option<&Map<String, Value>>) -> Result<Value, ErrorObject> {
    let level = params
        .and_then(|p| p.get("level"))
        .cloned()
        .and_then(|v| serde_json::from_value::<LogLevel>(v).ok())
        .ok_or_else(|| {
            ErrorObject::invalid_params(
                "`level` must be one of debug, info, notice, warning, error, critical, alert, emergency",
            )
        })?;
    session.set_log_level(Some(level));
    Ok(json!({}))
}

/// The decisions for one call, fixed before any work starts.
struct Plan {
    failure: Option<Failure>,
    delay: Duration,
    progress_token: Option<Value>,
    logs: bool,
}

impl MockServer {
    /// The per-call key for decisions: the caller's call id, or (tool, arguments, per-key
    /// index) for calls without one (docs/architecture.md, "Mock servers").
    fn call_key(&self, ticket: &Ticket) -> u64 {
        match ticket.arrival.call_id {
            Some(id) => mix(id),
            None => {
                mix(ticket.arrival.args_hash ^ mix(ticket.key_index))
                    ^ ticket.arrival.tool.as_deref().map_or(0, str_hash)
            }
        }
    }

    /// What the faults on now do to this request (nothing, with none on).
    fn fault_effects(
        &self,
        method: &str,
        ticket: &Ticket,
        ctx: &CallContext,
    ) -> crate::fault::live::Effects {
        if !self.faults.is_busy() {
            return crate::fault::live::Effects::default();
        }
        let stateless = ctx.session.version().era() == crate::mcp::protocol::Era::Stateless;
        let key = self.call_key(ticket);
        let tool = ticket.arrival.tool.as_deref();
        self.faults.effects(method, tool, key, stateless)
    }

    fn plan(&self, tool: &Tool, ticket: &Ticket, params: &Map<String, Value>, s: &Session) -> Plan {
        let key = self.call_key(ticket);
        let seed = self.seed ^ self.name_hash;
        let b = &tool.behaviour;
        let u = unit(seed, key);
        let mut cumulative = 0.0;
        let failure = b.errors.iter().find_map(|e| {
            cumulative += e.rate;
            (u < cumulative).then(|| e.failure.clone())
        });
        let delay = if b.service_time.is_zero() {
            Duration::ZERO
        } else {
            b.service_time
                .sample(unit(seed ^ 1, key), unit(seed ^ 2, key))
        };
        let progress_token = params
            .get("_meta")
            .and_then(|m| m.get(meta::PROGRESS_TOKEN))
            .filter(|_| tool.progress_steps > 0)
            .cloned();
        let logs = s
            .log_level()
            .is_some_and(|level| tool.logs.iter().any(|l| l.level >= level));
        Plan {
            failure,
            delay,
            progress_token,
            logs,
        }
    }

    fn call_tool(
        &self,
        ticket: Ticket,
        params: Option<Map<String, Value>>,
        ctx: CallContext,
        fx: crate::fault::live::Effects,
    ) -> Handled {
        let (tool_index, mut plan) = match self.check_call(params.as_ref()) {
            Ok((i, p)) => (
                i,
                self.plan(&self.catalog.tools[i], &ticket, p, &ctx.session),
            ),
            Err(e) => return self.immediate(ticket, Err(e)),
        };
        let tool = &self.catalog.tools[tool_index];
        if fx.failure.is_some() {
            plan.failure = fx.failure;
        }
        let http_failure = matches!(plan.failure, Some(Failure::Http { .. }));
        let wire = fx.wire.filter(|_| !http_failure);
        if let Some(w) = wire {
            crate::mcp::wire_fault::request(w);
        }
        let notifies = plan.progress_token.is_some() || plan.logs;
        let stream = (match tool.behaviour.response {
            ResponseMode::Json => false,
            ResponseMode::Sse => true,
            ResponseMode::Auto => notifies,
        } || wire == Some(crate::mcp::wire_fault::WireFault::CutSse))
            && !http_failure;
        // The arguments move into the call: no copy on the hot path.
        let args = params.and_then(|mut p| match p.remove("arguments") {
            Some(Value::Object(a)) => Some(a),
            _ => None,
        });
        let call = Call {
            catalog: self.catalog.clone(),
            ledger: self.ledger.clone(),
            tool_index,
            args,
            ticket: Some(ticket),
            cancel: ctx.cancel,
            version: fx.version,
        };
        Handled {
            stream,
            reply: Box::pin(call.run(plan, ctx.notify, ctx.session)),
        }
    }

    /// Finds the tool (by index) and checks the arguments against its schema (-32602
    /// otherwise).
    fn check_call<'a>(
        &self,
        params: Option<&'a Map<String, Value>>,
    ) -> Result<(usize, &'a Map<String, Value>), ErrorObject> {
        let params =
            params.ok_or_else(|| ErrorObject::invalid_params("tools/call needs params"))?;
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ErrorObject::invalid_params("tools/call needs a string `name`"))?;
        let index = *self
            .catalog
            .tool_index
            .get(name)
            .ok_or_else(|| ErrorObject::invalid_params(format!("Unknown tool: {name}")))?;
        let args = match params.get("arguments") {
            None | Some(Value::Null) => None,
            Some(Value::Object(a)) => Some(a),
            Some(_) => return Err(ErrorObject::invalid_params("`arguments` must be an object")),
        };
        check_arguments(&self.catalog.tools[index], args)?;
        Ok((index, params))
    }
}

fn check_arguments(tool: &Tool, args: Option<&Map<String, Value>>) -> Result<(), ErrorObject> {
    for r in &tool.required {
        if !args.is_some_and(|a| a.contains_key(r)) {
            return Err(ErrorObject::invalid_params(format!(
                "missing required argument `{r}` for tool `{}`",
                tool.name
            )));
        }
    }
    let Some(args) = args else { return Ok(()) };
    for (name, ty) in &tool.properties {
        let (Some(v), Some(ty)) = (args.get(name), ty) else {
            continue;
        };
        let fits = match ty.as_str() {
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            _ => true,
        };
        if !fits {
            return Err(ErrorObject::invalid_params(format!(
                "argument `{name}` of tool `{}` must be of type {ty}",
                tool.name
            )));
        }
    }
    Ok(())
}

/// FNV-1a of a string (stable across runs).
fn str_hash(s: &str) -> u64 {
    hash::fnv(s.as_bytes())
}

/// One tools/call in progress. If it is dropped before it answers (the client went away, or
/// cancelled), the ledger still records how it ended.
struct Call {
    catalog: Arc<Catalog>,
    ledger: Arc<Ledger>,
    tool_index: usize,
    args: Option<Map<String, Value>>,
    ticket: Option<Ticket>,
    cancel: Option<tokio_util::sync::CancellationToken>,
    /// The data version the result carries (a data change is on the timeline).
    version: Option<String>,
}

impl Drop for Call {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            let cancelled = self.cancel.as_ref().is_some_and(|c| c.is_cancelled());
            let outcome = if cancelled {
                Answered::Cancelled
            } else {
                Answered::Abandoned
            };
            let service = clock::now_ns().saturating_sub(t.arrival.arrival_ns);
            self.ledger.finish(&t, service, outcome);
        }
    }
}

impl Call {
    async fn run(mut self, plan: Plan, notify: Notifier, session: Arc<Session>) -> Option<Reply> {
        let tool = &self.catalog.tools[self.tool_index];
        let call_id = self.ticket.as_ref().and_then(|t| t.arrival.call_id);
        let ctx = Ctx {
            args: self.args.as_ref(),
            tool: &tool.name,
            server: &self.catalog.name,
            call_id,
            vars: &[],
        };
        if plan.logs {
            let level = session.log_level();
            for l in tool
                .logs
                .iter()
                .filter(|l| level.is_some_and(|v| l.level >= v))
            {
                let mut p = json!({"level": l.level, "data": l.data.render(&ctx)});
                if let Some(logger) = &l.logger {
                    p["logger"] = json!(logger);
                }
                notify.send(Notification::new("notifications/message", p));
            }
        }
        match &plan.progress_token {
            Some(token) => {
                let n = tool.progress_steps;
                let step = plan.delay / (n + 1);
                for i in 1..=n {
                    if !step.is_zero() {
                        tokio::time::sleep(step).await;
                    }
                    notify.send(Notification::new(
                        "notifications/progress",
                        json!({"progressToken": token, "progress": i, "total": n,
                               "message": format!("step {i} of {n}")}),
                    ));
                }
                if !step.is_zero() {
                    tokio::time::sleep(plan.delay.saturating_sub(step * n)).await;
                }
            }
            None if !plan.delay.is_zero() => tokio::time::sleep(plan.delay).await,
            None => {}
        }
        let ticket = self.ticket.take()?;
        let service_ns = clock::now_ns().saturating_sub(ticket.arrival.arrival_ns);
        let (mut reply, outcome) = answer(tool, &ctx, plan.failure, service_ns);
        if let Some(v) = &self.version {
            crate::fault::data_change::stamp(&mut reply, v);
        }
        self.ledger.finish(&ticket, service_ns, outcome);
        Some(reply)
    }
}

/// Builds the answer: the planned failure, or the tool's result with the service time in
/// `_meta`.
fn answer(tool: &Tool, ctx: &Ctx, failure: Option<Failure>, service_ns: u64) -> (Reply, Answered) {
    let result = |content: Vec<Value>, is_error: bool, structured: Option<Value>| {
        let mut r = Map::new();
        r.insert("content".into(), Value::Array(content));
        if let Some(s) = structured {
            r.insert("structuredContent".into(), s);
        }
        r.insert("isError".into(), Value::Bool(is_error));
        r.insert(
            "_meta".into(),
            json!({ meta::SERVICE_US: service_ns / 1000 }),
        );
        Value::Object(r)
    };
    match failure {
        Some(Failure::Rpc { code, message }) => (
            Reply::err(ErrorObject::new(code, message)),
            Answered::RpcError(code),
        ),
        Some(Failure::Http {
            status,
            retry_after_s,
        }) => (
            Reply {
                result: Err(ErrorObject::new(-32603, format!("HTTP {status}"))),
                http: Some(HttpFault {
                    status,
                    retry_after_s,
                }),
            },
            Answered::HttpError(status),
        ),
        Some(Failure::ToolError(message)) => (
            Reply::ok(result(
                vec![json!({"type": "text", "text": message})],
                true,
                None,
            )),
            Answered::ToolError,
        ),
        None => {
            let content = tool
                .content
                .iter()
                .map(|c| match c {
                    ContentTemplate::Text(t) => json!({"type": "text", "text": t.render(ctx)}),
                    ContentTemplate::Fixed(v) => v.clone(),
                })
                .collect();
            let structured = tool.structured.as_ref().map(|s| s.render(ctx));
            let outcome = if tool.is_error {
                Answered::ToolError
            } else {
                Answered::Ok
            };
            (
                Reply::ok(result(content, tool.is_error, structured)),
                outcome,
            )
        }
    }
}

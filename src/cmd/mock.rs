//! `gauntlet mock CATALOG… [--listen ADDR] [--stdio] [--control ADDR] [--write-config FILE]
//! [--ledger FILE]`.

use crate::catalog::Catalog;
use crate::cli::MockArgs;
use crate::error::{Error, Result};
use crate::ledger::{Ledger, RawWriter};
use crate::mcp::protocol::Version;
use crate::mcp::session::Session;
use crate::mock::{Mock, serve_http};
use crate::net::loopback_addr;
use crate::signal::wait_for_signal;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub fn run(args: &MockArgs) -> Result<()> {
    let spawn_ns = crate::clock::now_ns();
    // A server of a scenario starts as cold as its `startup` says.
    let (catalogs, startup) = match (&args.scenario, &args.server) {
        (Some(path), Some(name)) => {
            let (c, startup) = scenario_server(path, name)?;
            (vec![c], startup)
        }
        _ => (load_all(&args.catalogs)?, None),
    };
    let raw = match &args.ledger {
        Some(path) => Some(RawWriter::create(path).map_err(|e| {
            Error::Input(format!("cannot write the ledger {}: {e}", path.display()))
        })?),
        None => None,
    };
    // A stdio mock linked to a run reads its own ledger lines (the calls it served).
    let run_addr = match std::env::var(crate::fault::backchannel::ENV) {
        Ok(a) if args.stdio && !a.is_empty() => Some(
            loopback_addr(&a)
                .map_err(|e| Error::Input(format!("{}: {e}", crate::fault::backchannel::ENV)))?,
        ),
        _ => None,
    };
    let (own_tx, own_rx) = std::sync::mpsc::channel();
    let mocks: Vec<Mock> = catalogs
        .into_iter()
        .map(|c| {
            let names = c.tools.iter().map(|t| t.name.clone()).collect();
            let mut l = Ledger::new(&c.name, names);
            if run_addr.is_some() {
                l = l.with_raw_sink(own_tx.clone());
            } else if let Some(w) = &raw {
                l = l.with_raw_sink(w.sink());
            }
            let mock = Mock::with_ledger(c, l, args.seed);
            if let Some(d) = startup.filter(|_| !args.stdio) {
                mock.server.faults.starts_cold(d, false);
            }
            mock
        })
        .collect();
    drop(own_tx);
    let served = if args.stdio {
        match <[Mock; 1]>::try_from(mocks) {
            Ok([mock]) => {
                let link = run_addr.map(|addr| Linked {
                    addr,
                    spawn_ns,
                    lines: own_rx,
                    forward: raw.as_ref().map(RawWriter::sink),
                });
                run_stdio(mock, link, startup)
            }
            Err(_) => Err(Error::Input("--stdio serves exactly one catalogue".into())),
        }
    } else {
        serve_http_mocks(mocks, args)
    };
    if let Some(w) = raw {
        w.finish();
    }
    served
}

fn serve_http_mocks(mocks: Vec<Mock>, args: &MockArgs) -> Result<()> {
    let first = loopback_addr(&args.listen)?;
    let control = args
        .control
        .as_deref()
        .map(loopback_addr)
        .transpose()
        .map_err(|e| Error::Input(format!("--control: {e}")))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Run(format!("cannot start the runtime: {e}")))?;
    rt.block_on(serve_all(
        &mocks,
        first,
        control,
        args.write_config.as_deref(),
    ))?;
    for m in &mocks {
        let s = m.ledger().snapshot();
        eprintln!("{}: {} requests", s.server, s.requests);
    }
    Ok(())
}

/// Server `name` of the scenario at `path`, with its overrides applied, and its `startup`.
fn scenario_server(
    path: &std::path::Path,
    name: &str,
) -> Result<(Catalog, Option<std::time::Duration>)> {
    let s = crate::scenario::load(path)?;
    let server = s
        .servers
        .iter()
        .find(|x| x.name == name)
        .ok_or_else(|| Error::Input(format!("{} has no server `{name}`", path.display())))?;
    Ok((server.effective_catalog(), server.startup))
}

/// Reads every catalogue and reports every mistake, not only the first.
fn load_all(paths: &[std::path::PathBuf]) -> Result<Vec<Catalog>> {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match Catalog::load(p) {
            Ok(c) => ok.push(c),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Sources(errors));
    }
    for (i, c) in ok.iter().enumerate() {
        if let Some(other) = ok[..i].iter().find(|o| o.name == c.name) {
            return Err(Error::Input(format!(
                "{} and {} both define a server named `{}`; names must differ",
                other.source.display(),
                c.source.display(),
                c.name
            )));
        }
    }
    Ok(ok)
}

async fn serve_all(
    mocks: &[Mock],
    first: SocketAddr,
    control: Option<SocketAddr>,
    config: Option<&Path>,
) -> Result<()> {
    let mut listeners = Vec::new();
    for (i, m) in mocks.iter().enumerate() {
        let addr = if i == 0 {
            first
        } else {
            SocketAddr::new(first.ip(), 0)
        };
        let l = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Run(format!("cannot listen on {addr} for `{}`: {e}", m.name())))?;
        let local = l
            .local_addr()
            .map_err(|e| Error::Run(format!("cannot read the bound address: {e}")))?;
        listeners.push((l, format!("http://{local}/mcp")));
    }
    if let Some(path) = config {
        let names: Vec<&str> = mocks.iter().map(Mock::name).collect();
        let urls: Vec<&str> = listeners.iter().map(|(_, u)| u.as_str()).collect();
        write_config(path, &names, &urls)?;
    }
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    if let Some(addr) = control {
        let with_urls = mocks
            .iter()
            .cloned()
            .zip(listeners.iter().map(|(_, u)| u.clone()));
        tasks.push(serve_control(addr, with_urls.collect(), shutdown.clone()).await?);
    }
    let mut out = std::io::stdout().lock();
    for (m, (l, url)) in mocks.iter().zip(listeners) {
        let _ = writeln!(out, "serving {} at {url}", m.name());
        let (server, sessions, token) = (m.server.clone(), m.sessions.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            let mock = Mock { server, sessions };
            serve_http(&mock, l, token).await;
        }));
    }
    let _ = out.flush();
    drop(out);
    wait_for_signal().await;
    shutdown.cancel();
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Binds the control API and serves it; prints `control at http://ADDR`.
async fn serve_control(
    addr: SocketAddr,
    mocks: Vec<(Mock, String)>,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let l = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Run(format!("cannot listen on {addr} for the control API: {e}")))?;
    let local = l
        .local_addr()
        .map_err(|e| Error::Run(format!("cannot read the bound address: {e}")))?;
    println!("control at http://{local}");
    let control = crate::mock::control::Control::new(mocks);
    Ok(tokio::spawn(control.serve(l, shutdown)))
}

/// Writes the standard `mcpServers` JSON (with both `type` and `transport`, since gateways
/// disagree on the key).
fn write_config(path: &Path, names: &[&str], urls: &[&str]) -> Result<()> {
    let mut servers = Map::new();
    for (n, u) in names.iter().zip(urls) {
        servers.insert(
            (*n).to_string(),
            json!({"type": "http", "transport": "streamable-http", "url": u}),
        );
    }
    let doc = json!({ "mcpServers": Value::Object(servers) });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    std::fs::write(path, text + "\n")
        .map_err(|e| Error::Input(format!("cannot write {}: {e}", path.display())))
}

/// What a stdio mock needs to link to its run.
struct Linked {
    addr: SocketAddr,
    spawn_ns: u64,
    lines: std::sync::mpsc::Receiver<String>,
    forward: Option<std::sync::mpsc::Sender<String>>,
}

fn run_stdio(mock: Mock, linked: Option<Linked>, startup: Option<Duration>) -> Result<()> {
    // A stdio server belongs to whoever spawned it: die with the parent.
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Run(format!("cannot start the runtime: {e}")))?;
    let served = rt.block_on(serve_stdio(&mock, linked, startup));
    // A read of stdin may still be blocked on a thread (the back-channel closed first): do not
    // wait for it.
    rt.shutdown_background();
    served?;
    let s = mock.ledger().snapshot();
    eprintln!("{}: {} requests", s.server, s.requests);
    Ok(())
}

/// Serves stdin/stdout until stdin closes, a signal comes or the run's back-channel closes.
/// With a `startup`, the process boots for that long from now: requests that need it wait, and
/// the run hears `ready` when it is over.
async fn serve_stdio(mock: &Mock, linked: Option<Linked>, startup: Option<Duration>) -> Result<()> {
    use crate::fault::backchannel::{FromMock, Link};
    let ready_at = startup.and_then(|d| mock.server.faults.starts_cold(d, true));
    let shutdown = CancellationToken::new();
    let session = Session::new(None, Version::LATEST_SESSION);
    let link: Option<Arc<crate::mock::linked::StdioTarget>> = match linked {
        Some(l) => {
            let (link, faults) = Link::connect(l.addr, mock.name(), l.spawn_ns)
                .await
                .map_err(|e| Error::Run(format!("cannot reach the run at {}: {e}", l.addr)))?;
            let target = crate::mock::linked::StdioTarget::new(mock.clone(), session.clone(), link);
            crate::mock::linked::report_calls(l.lines, l.forward, Arc::downgrade(&target))
                .map_err(|e| Error::Run(format!("cannot start a thread: {e}")))?;
            tokio::spawn(crate::mock::linked::run_faults(
                target.clone(),
                faults,
                shutdown.clone(),
            ));
            Some(target)
        }
        None => None,
    };
    let closed = link
        .as_ref()
        .map_or_else(CancellationToken::new, |t| t.closed());
    let serve = crate::mcp::stdio::serve(
        mock.server.clone(),
        session,
        tokio::io::stdin(),
        tokio::io::stdout(),
        shutdown.clone(),
    );
    tokio::pin!(serve);
    if let Some(t) = &link {
        let link = t.link().clone();
        tokio::spawn(async move {
            if let Some(at) = ready_at {
                tokio::time::sleep_until(at).await;
            }
            link.send(FromMock::Ready {
                at_ns: crate::clock::now_ns(),
            });
        });
    }
    let (served, reason) = tokio::select! {
        r = &mut serve => (r, "stdin closed"),
        _ = wait_for_signal() => {
            shutdown.cancel();
            (serve.await, "signal")
        }
        _ = closed.cancelled() => {
            shutdown.cancel();
            (serve.await, "back-channel closed")
        }
    };
    shutdown.cancel();
    if let Some(t) = &link {
        t.flush();
        t.link().exit(reason).await;
    }
    served.map_err(|e| Error::Run(format!("stdio failed: {e}")))
}

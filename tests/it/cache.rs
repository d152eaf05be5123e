//! Cache hits through the reference gateway, end to end: `gauntlet run` against a gateway served
//! in this test (so that its `/status` can be read after the run), in front of the run's own
//! mocks on fixed ports. With call ids propagated the figure is exact and equals the gateway's
//! own count of hits; with `forward_meta: false` (ids do not reach the backend) it is estimated.

use crate::common::{catalogue, gauntlet_bin, heavy, run_with_timeout, runtime};
use gauntlet::catalog::Catalog;
use gauntlet::gateway::config::Backend;
use gauntlet::refgate::Gateway;
use gauntlet::refgate::config::Config;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const CATALOG: &str = "mock-servers/translation.yaml";

/// A free port on 127.0.0.1 (bound, then let go for the run's mock to take).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The reference gateway in-process, for the translation mock at `mock_port`.
async fn gateway(mock_port: u16, settings: Value) -> (Arc<Gateway>, String, CancellationToken) {
    let c = Catalog::load(&catalogue(CATALOG)).expect("catalogue");
    let backends = vec![(
        "translation".to_string(),
        Backend::Http {
            url: format!("http://127.0.0.1:{mock_port}/mcp"),
        },
    )];
    let doc =
        gauntlet::gateway::builtin::config(&backends, &[("translation".into(), &c)], settings);
    let config = Config::parse(&doc.to_string()).expect("config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    let gw = Gateway::start(config).await;
    let stop = CancellationToken::new();
    tokio::spawn(gw.clone().serve(listener, stop.clone()));
    (gw, url, stop)
}

/// `gauntlet run` of translate calls with zipf arguments through the gateway at `url`, the
/// mock on `mock_port`, its data changed at 4 s; results.json.
fn run(dir: &Path, mock_port: u16, url: &str) -> Value {
    let text = format!(
        "name: cache\nseed: 3\nduration: 8s\n\
         servers:\n  translation: {{ catalog: {}, port: {mock_port} }}\n\
         gateway: {{ url: \"{url}\" }}\n\
         load:\n  rate: 60/s\n  sessions: 2\n  timeout: 5s\n  mix:\n\
         \x20   - {{ call: translation.translate, args: {{ text: \"{{{{zipf 1000}}}}\", to: pt }} }}\n\
         faults:\n  - {{ at: 4s, server: translation, data_change: {{ version: v2 }} }}\n",
        catalogue(CATALOG).display()
    );
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).expect("write the scenario");
    let out = dir.join("out");
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .arg("--quiet");
    let o = run_with_timeout(&mut cmd, Duration::from_secs(90));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    crate::results::checked_results(&out)
}

/// The run through the gateway (with `settings`); (results.json, the gateway's `/status` entry
/// of the server).
async fn through_gateway(settings: Value) -> (Value, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let (_gw, url, stop) = gateway(port, settings).await;
    let (d, u) = (dir.path().to_path_buf(), url.clone());
    let r = tokio::task::spawn_blocking(move || run(&d, port, &u))
        .await
        .expect("the run");
    let status: Value = reqwest::get(url.replace("/mcp", "/status"))
        .await
        .expect("GET /status")
        .json()
        .await
        .expect("status JSON");
    stop.cancel();
    let server = status["servers"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == "translation").cloned())
        .unwrap_or_else(|| panic!("no translation in {status:#}"));
    (r, server)
}

fn cache_entry(r: &Value) -> Value {
    r["derived"]["cache"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["tool"] == "translate").cloned())
        .unwrap_or_else(|| panic!("no cache figure for translate: {:#}", r["derived"]))
}

#[test]
fn cache_hits_are_exact_through_the_reference_gateway_and_match_its_status() {
    let _heavy = heavy();
    let (r, server) = runtime().block_on(through_gateway(json!({"cache_ttl": "60s"})));
    let c = cache_entry(&r);
    eprintln!("exact: {c} /status: {server}");
    assert_eq!(c["quality"], "exact", "{c:#}");
    let hits = c["hits"].as_u64().expect("hits");
    let gateway_hits = server["cache_hits"].as_u64().expect("cache_hits");
    assert!(hits > 50, "zipf arguments repeat: {c:#}");
    assert_eq!(hits, gateway_hits, "derived {c:#} vs /status {server:#}");
    let rate = c["rate"].as_f64().expect("rate");
    let ok = c["ok"].as_u64().expect("ok");
    assert!((rate - hits as f64 / ok as f64).abs() < 0.001, "{c:#}");
    let routing = &r["derived"]["routing"];
    assert_eq!(routing["quality"], "exact", "{routing:#}");
    assert_eq!(routing["wrong_server"], 0, "{routing:#}");
    let retries = &r["derived"]["retries"][0];
    assert_eq!(retries["quality"], "exact", "{retries:#}");
    let backend = retries["backend_calls"].as_u64().expect("backend calls");
    assert!(
        backend + hits >= ok,
        "every miss reached the backend: {retries:#} {c:#}"
    );
    assert!(retries["amplification"].as_f64().is_some_and(|a| a >= 1.0));
    // The cache outlives the data change: results cached before it are served after it.
    let stale = &r["derived"]["stale_reads"][0];
    assert_eq!(stale["quality"], "exact", "{stale:#}");
    assert!(
        stale["stale_calls"].as_u64().is_some_and(|n| n > 0),
        "{stale:#}"
    );
    assert!(
        stale["window_ms"].as_f64().is_some_and(|w| w > 1000.0),
        "{stale:#}"
    );
}

#[test]
fn without_propagated_ids_the_cache_figure_is_estimated() {
    let _heavy = heavy();
    let settings = json!({"cache_ttl": "60s", "forward_meta": false});
    let (r, server) = runtime().block_on(through_gateway(settings));
    let c = cache_entry(&r);
    eprintln!("estimated: {c} /status: {server}");
    assert_eq!(c["quality"], "estimated", "{c:#}");
    assert!(
        c["reason"]
            .as_str()
            .is_some_and(|s| s.contains("arguments")),
        "{c:#}"
    );
    let hits = c["hits"].as_u64().expect("hits");
    let gateway_hits = server["cache_hits"].as_u64().expect("cache_hits");
    // Matching by arguments over the run: close to the gateway's count (retried calls and
    // errors blur it a little), never above the ok calls.
    assert!(hits <= c["ok"].as_u64().expect("ok"), "{c:#}");
    let diff = hits.abs_diff(gateway_hits);
    assert!(
        diff * 10 <= gateway_hits.max(10),
        "estimated {hits} vs the gateway's {gateway_hits}: {c:#}"
    );
    assert_eq!(r["derived"]["routing"]["quality"], "unavailable");
    assert_eq!(
        r["propagation"]["with_call_id"], 0,
        "{:#}",
        r["propagation"]
    );
}

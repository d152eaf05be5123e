//! Minimal JSON-RPC-over-HTTP server used as the baseline peer in `bench/mock-throughput.sh`.
//!
//! It does the least work any MCP server must do for a `tools/call` over Streamable HTTP with
//! JSON responses: read the POST body, parse it as JSON-RPC, and answer a fixed result carrying
//! the request id. No sessions, no routing, no validation beyond "it is JSON".
//!
//! Usage: `cargo run --release --example bare_mcp -- [PORT]` (0 or absent = a free port). Prints
//! `listening on http://127.0.0.1:<port>/mcp` once bound.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const RESULT_TAIL: &[u8] =
    br#","result":{"content":[{"type":"text","text":"hello"}],"isError":false}}"#;

fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if status != StatusCode::ACCEPTED {
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    resp
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::POST {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, Vec::new()));
    }
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(reply(StatusCode::BAD_REQUEST, Vec::new())),
    };
    let msg: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            let err =
                br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#;
            return Ok(reply(StatusCode::BAD_REQUEST, err.to_vec()));
        }
    };
    let Some(id) = msg.get("id") else {
        // A notification: nothing to answer.
        return Ok(reply(StatusCode::ACCEPTED, Vec::new()));
    };
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut out, id).expect("writing to a Vec cannot fail");
    out.extend_from_slice(RESULT_TAIL);
    Ok(reply(StatusCode::OK, out))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        None => 0,
        Some(s) => s.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("bad port {s:?}: {e}"),
            )
        })?,
    };
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let bound = listener.local_addr()?;
    println!("listening on http://127.0.0.1:{}/mcp", bound.port());

    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(handle));
            if let Err(e) = conn.await
                && !e.is_incomplete_message()
            {
                eprintln!("connection: {e}");
            }
        });
    }
}

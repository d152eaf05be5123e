//! Loopback only: gauntlet listens on this machine alone and sends load to it alone.

use crate::error::{Error, Result};
use std::net::SocketAddr;

/// Parses `--listen`; only loopback addresses are allowed.
pub fn loopback_addr(s: &str) -> Result<SocketAddr> {
    let addr: SocketAddr = s.parse().map_err(|_| {
        Error::Input(format!(
            "`{s}` is not an address: write 127.0.0.1:PORT (PORT 0 picks a free one)"
        ))
    })?;
    if !addr.ip().is_loopback() {
        return Err(Error::Input(format!(
            "`{s}` is not a loopback address: gauntlet serves on 127.0.0.1 or [::1] only"
        )));
    }
    Ok(addr)
}

/// Whether `url` is an http(s) URL whose host is 127.0.0.1, localhost or [::1].
pub fn is_loopback_url(url: &str) -> bool {
    let host = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    host.is_some_and(|h| {
        let name = if let Some(v6) = h.strip_prefix('[') {
            v6.split(']').next().unwrap_or("")
        } else {
            h.rsplit_once(':').map_or(h, |(n, _)| n)
        };
        matches!(name, "127.0.0.1" | "localhost" | "::1")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls() {
        for ok in [
            "http://127.0.0.1:9100/mcp",
            "http://localhost/mcp",
            "http://[::1]:80/sse",
            "https://127.0.0.1/mcp?x=1",
        ] {
            assert!(is_loopback_url(ok), "{ok}");
        }
        for no in [
            "http://10.0.0.1/mcp",
            "http://127.0.0.1@example.com/mcp",
            "http://127.0.0.1.example.com/mcp",
            "http://user@localhost.example/",
            "ftp://127.0.0.1/",
            "127.0.0.1:80",
            "",
        ] {
            assert!(!is_loopback_url(no), "{no}");
        }
    }

    #[test]
    fn only_loopback_addresses() {
        assert!(loopback_addr("127.0.0.1:0").is_ok());
        assert!(loopback_addr("[::1]:0").is_ok());
        assert!(loopback_addr("0.0.0.0:0").is_err());
        assert!(
            loopback_addr("localhost:0").is_err(),
            "an address, not a name"
        );
    }
}

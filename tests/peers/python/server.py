"""Interop peer: an MCP server written with the official Python SDK 1.x (FastMCP), for
gauntlet's driver to put load on.

    python server.py --transport streamable-http   # session-era Streamable HTTP at /mcp
    python server.py --transport sse               # 2024-11-05 HTTP+SSE: GET /sse, POST /messages/

It binds 127.0.0.1 on a port the OS chooses and, once it accepts connections, prints one line on
stdout:

    LISTENING http://127.0.0.1:PORT/mcp     (or .../sse)

and then, the first time each session calls a tool, the revision that session negotiated:

    SESSION protocol=2025-11-25

Its tools mirror the mock catalogue mock-servers/echo.yaml, so a scenario written for that
catalogue runs against this server through `gateway: { url: ... }`:

    echo(text)   returns the text unchanged

The server exits when its stdin closes (the test that started it went away) or on SIGTERM/SIGINT.
(When it stops with an SSE stream open, the SDK's SSE endpoint logs "Expected ASGI message
'http.response.body', but got 'http.response.start'": the SDK's, harmless.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import threading

import uvicorn
from mcp.server.fastmcp import Context, FastMCP
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS
from mcp.types import LATEST_PROTOCOL_VERSION

# How long open streams (SSE) may keep the server from exiting once it has been told to stop.
GRACE_SECONDS = 2.0


def build(name: str) -> FastMCP:
    # host 127.0.0.1 also turns on the SDK's DNS-rebinding protection (Host/Origin must be loopback).
    mcp = FastMCP(name, host="127.0.0.1", log_level="WARNING")

    reported: set[int] = set()

    def report(ctx: Context) -> None:
        # Once per session: the revision it runs on, as the SDK negotiated it in initialize (the
        # client's revision when the SDK supports it, else the SDK's latest).
        session = ctx.session
        if id(session) in reported:
            return
        reported.add(id(session))
        params = session.client_params
        requested = params.protocolVersion if params is not None else None
        negotiated = requested if requested in SUPPORTED_PROTOCOL_VERSIONS else LATEST_PROTOCOL_VERSION
        print(f"SESSION protocol={negotiated}", flush=True)

    @mcp.tool(description="Return the given text unchanged.")
    def echo(text: str, ctx: Context) -> str:
        report(ctx)
        return text

    return mcp


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--transport",
        choices=["streamable-http", "sse"],
        default="streamable-http",
        help="streamable-http: /mcp (session era); sse: /sse + /messages/ (2024-11-05)",
    )
    p.add_argument("--name", default="gauntlet-peer-python", help="serverInfo.name")
    return p.parse_args()


async def serve(args: argparse.Namespace) -> None:
    mcp = build(args.name)
    if args.transport == "sse":
        app, path = mcp.sse_app(), mcp.settings.sse_path
    else:
        app, path = mcp.streamable_http_app(), mcp.settings.streamable_http_path

    # FastMCP.run() cannot take port 0: bind the socket here and hand it to uvicorn.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]

    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        server.should_exit = True
        # Streams a client keeps open must not keep this process alive for long.
        timer = threading.Timer(GRACE_SECONDS + 3.0, lambda: os._exit(0))
        timer.daemon = True
        timer.start()

    def watch_stdin() -> None:
        # Read to end-of-file: the process that started this one has closed our stdin or died.
        try:
            while sys.stdin.buffer.read(65536):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(stop)

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        print(f"LISTENING http://127.0.0.1:{port}{path}", flush=True)

    announcer = asyncio.create_task(announce())
    # uvicorn handles SIGTERM and SIGINT itself: it stops serving and exits.
    await server.serve(sockets=[sock])
    announcer.cancel()


def main() -> None:
    args = parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()

"""Interop peer: the official MCP Python SDK 2.x, which speaks 2026-07-28, on either side.

Client of a gauntlet mock (prints ONE JSON object on stdout: the revision the client settled on,
the tools listed, the call's result, the resource read, and whether a list change arrived on a
`subscriptions/listen` stream):

    python modern.py client --url http://127.0.0.1:PORT/mcp --mode 2026-07-28|auto|legacy \
        --tool NAME --args '{}' [--resource URI] [--listen]

`--listen`: last, open a listen stream for tool-list changes and wait (10 s) for one; whoever
runs the peer makes the server change its list meanwhile.

Server (a MCPServer on 127.0.0.1, an OS-chosen port; prints `LISTENING <url>` once it accepts
connections; exits when stdin closes):

    python modern.py server

It has the tools of mock-servers/echo.yaml (`echo`: {text}) and a `fast` tool (no arguments).
Any failure: the error on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import traceback
from typing import Any

import anyio


def dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def run_client(ns: argparse.Namespace) -> dict[str, Any]:
    from mcp.client.client import Client

    out: dict[str, Any] = {}
    async with Client(ns.url, mode=ns.mode) as client:
        out["protocol_version"] = client.protocol_version
        info = client.server_info
        out["server_name"] = info.name if info else None
        tools = await client.list_tools()
        out["tools"] = [t.name for t in tools.tools]
        result = await client.call_tool(ns.tool, json.loads(ns.args))
        out["call"] = dump(result)
        if ns.resource:
            out["resource"] = dump(await client.read_resource(ns.resource))
        if ns.listen:
            out["list_changed"] = await listen_once(client)
    return out


async def listen_once(client: Any) -> bool:
    """Opens a listen stream for tool-list changes and waits (10 s) for one."""
    async with client.listen(tools_list_changed=True) as sub:
        print("LISTENING", file=sys.stderr, flush=True)
        with anyio.fail_after(10):
            async for _event in sub:
                return True
    return False


def run_server() -> None:
    import uvicorn
    from mcp.server.mcpserver import MCPServer

    mcp = MCPServer("modern-peer")

    @mcp.tool()
    def echo(text: str = "") -> str:
        """Returns its text."""
        return text

    @mcp.tool()
    def fast() -> str:
        """Answers at once."""
        return "ok"

    app = mcp.streamable_http_app(json_response=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    def stdin_watch() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stdin_watch, daemon=True).start()

    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets=sockets)
        print(f"LISTENING http://127.0.0.1:{port}/mcp", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="role", required=True)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--mode", default="auto")
    c.add_argument("--tool", required=True)
    c.add_argument("--args", default="{}")
    c.add_argument("--resource")
    c.add_argument("--listen", action="store_true")
    c.add_argument("--timeout", type=float, default=30.0)
    sub.add_parser("server")
    ns = p.parse_args(argv)
    try:
        if ns.role == "server":
            run_server()
            return 0

        async def bounded() -> dict[str, Any]:
            with anyio.fail_after(ns.timeout):
                return await run_client(ns)

        print(json.dumps(anyio.run(bounded)), flush=True)
        return 0
    except BaseException as e:  # noqa: BLE001 - report anything, including exception groups
        if isinstance(e, KeyboardInterrupt):
            return 130
        traceback.print_exception(e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Interop peer: the official MCP Python SDK (1.x) sees a tool list change on a gauntlet mock.

Initializes, lists the tools, asks the mock's control API for a list change (adding --add,
removing --remove), waits for notifications/tools/list_changed, lists the tools again, and prints
ONE JSON object on stdout: {"before": [...], "notified": N, "after": [...]}. Any failure: the
error on stderr and exit status 1.

    python list_changed.py --url http://127.0.0.1:PORT/mcp --control http://127.0.0.1:PORT \
        --server timing --add fresh --remove slow
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import urllib.request
from typing import Any

import anyio
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="Streamable HTTP endpoint of the server")
    p.add_argument("--control", required=True, help="base URL of `gauntlet mock --control`")
    p.add_argument("--server", required=True, help="the server's name")
    p.add_argument("--add", action="append", default=[], help="a tool to add")
    p.add_argument("--remove", action="append", default=[], help="a tool to remove")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole exchange")
    return p.parse_args(argv)


def ask_for_change(ns: argparse.Namespace) -> None:
    fault = {"server": ns.server, "list_change": {"add": ns.add, "remove": ns.remove}}
    req = urllib.request.Request(
        ns.control.rstrip("/") + "/faults",
        data=json.dumps(fault).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        if r.status != 201:
            raise RuntimeError(f"control API answered {r.status}")


async def run(ns: argparse.Namespace) -> dict[str, Any]:
    notified = 0
    changed = anyio.Event()

    async def handler(message: Any) -> None:
        nonlocal notified
        if isinstance(message, types.ServerNotification) and isinstance(
            message.root, types.ToolListChangedNotification
        ):
            notified += 1
            changed.set()

    with anyio.fail_after(ns.timeout):
        async with streamable_http_client(ns.url) as (read, write, _session_id):
            async with ClientSession(read, write, message_handler=handler) as session:
                await session.initialize()
                before = [t.name for t in (await session.list_tools()).tools]
                # The SDK opens its GET stream after initialize; ask again if a notification
                # went out before the stream was there.
                await anyio.sleep(0.5)
                for _ in range(5):
                    await anyio.to_thread.run_sync(ask_for_change, ns)
                    with anyio.move_on_after(2):
                        await changed.wait()
                    if changed.is_set():
                        break
                after = [t.name for t in (await session.list_tools()).tools]
    return {"before": before, "notified": notified, "after": after}


def main() -> int:
    ns = parse_args(sys.argv[1:])
    try:
        result = anyio.run(run, ns)
    except BaseException as e:  # noqa: BLE001 - report every failure, then exit non-zero
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exception(e, file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

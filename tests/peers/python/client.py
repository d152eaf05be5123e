"""Interop peer: the official MCP Python SDK (1.x) as a client of a gauntlet mock server.

Runs initialize -> tools/list -> tools/call -> resources/read -> prompts/get and prints ONE JSON
object on stdout with what came back. Any failed step: the error on stderr and exit status 1.

    python client.py --url http://127.0.0.1:PORT/mcp --tool test_simple_text --args '{}' \
        --resource test://static-text --prompt test_simple_prompt --prompt-args '{}'
    python client.py --stdio [options] -- gauntlet mock --stdio mock-servers/conformance.yaml

Steps whose flag is absent (--tool, --resource, --prompt) are skipped and reported as null.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from pydantic import AnyUrl

if sys.version_info < (3, 11):  # anyio brings the backport there
    from exceptiongroup import BaseExceptionGroup


def dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    command: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1 :]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--url", help="Streamable HTTP endpoint of the server")
    how.add_argument("--sse", help="2024-11-05 HTTP+SSE endpoint of the server (…/sse)")
    how.add_argument("--stdio", action="store_true", help="spawn the server given after `--` and speak stdio")
    p.add_argument("--tool", help="tool to call")
    p.add_argument("--args", default="{}", help="JSON object of tool arguments")
    p.add_argument("--resource", help="resource URI to read")
    p.add_argument("--prompt", help="prompt to get")
    p.add_argument("--prompt-args", default="{}", help="JSON object of prompt arguments (string values)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole exchange")
    ns = p.parse_args(argv)
    ns.command = command
    if ns.stdio and not command:
        p.error("--stdio needs the server command after `--`")
    if not ns.stdio and command:
        p.error("a command after `--` is only used with --stdio")
    for flag in ("args", "prompt_args"):
        try:
            value = json.loads(getattr(ns, flag))
        except json.JSONDecodeError as e:
            p.error(f"--{flag.replace('_', '-')}: not JSON: {e}")
        if not isinstance(value, dict):
            p.error(f"--{flag.replace('_', '-')}: must be a JSON object")
        setattr(ns, flag, value)
    return ns


async def exchange(session: ClientSession, ns: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    step = "initialize"
    try:
        init = await session.initialize()
        out["protocolVersion"] = init.protocolVersion
        out["server"] = dump(init.serverInfo)
        out["capabilities"] = dump(init.capabilities)

        step = "tools/list"
        tools: list[str] = []
        cursor: str | None = None
        for _ in range(1000):
            page = await session.list_tools(cursor=cursor)
            tools.extend(t.name for t in page.tools)
            cursor = page.nextCursor
            if not cursor:
                break
        else:
            raise RuntimeError("tools/list: more than 1000 pages")
        out["tools"] = tools

        out["call"] = None
        if ns.tool:
            step = f"tools/call {ns.tool}"
            res = await session.call_tool(ns.tool, ns.args)
            out["call"] = {
                "content": [dump(c) for c in res.content],
                "isError": bool(res.isError),
                "structuredContent": res.structuredContent,
            }

        out["resource"] = None
        if ns.resource:
            step = f"resources/read {ns.resource}"
            res = await session.read_resource(AnyUrl(ns.resource))
            out["resource"] = {"contents": [dump(c) for c in res.contents]}

        out["prompt"] = None
        if ns.prompt:
            step = f"prompts/get {ns.prompt}"
            args = {k: v if isinstance(v, str) else json.dumps(v) for k, v in ns.prompt_args.items()}
            res = await session.get_prompt(ns.prompt, args or None)
            out["prompt"] = {
                "description": res.description,
                "messages": [dump(m) for m in res.messages],
            }
    except Exception as e:
        raise StepError(step) from e
    return out


class StepError(Exception):
    def __init__(self, step: str) -> None:
        super().__init__(f"step {step} failed")
        self.step = step


async def run(ns: argparse.Namespace) -> dict[str, Any]:
    with anyio.fail_after(ns.timeout):
        if ns.stdio:
            params = StdioServerParameters(command=ns.command[0], args=ns.command[1:], env=dict(os.environ))
            async with stdio_client(params) as (read, write):
                async with ClientSession(read, write) as session:
                    return await exchange(session, ns)
        if ns.sse:
            async with sse_client(ns.sse) as (read, write):
                async with ClientSession(read, write) as session:
                    return await exchange(session, ns)
        async with streamable_http_client(ns.url) as (read, write, _session_id):
            async with ClientSession(read, write) as session:
                return await exchange(session, ns)


def leaves(e: BaseException) -> list[BaseException]:
    """The concrete errors inside (possibly nested) exception groups."""
    if isinstance(e, BaseExceptionGroup):
        return [leaf for sub in e.exceptions for leaf in leaves(sub)]
    return [e]


def main() -> int:
    ns = parse_args(sys.argv[1:])
    try:
        result = anyio.run(run, ns)
    except BaseException as e:  # noqa: BLE001 - report every failure, then exit non-zero
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        for leaf in leaves(e):
            if isinstance(leaf, StepError):
                cause = leaf.__cause__
                print(f"error: {leaf}: {type(cause).__name__}: {cause}", file=sys.stderr)
                if cause is not None:
                    traceback.print_exception(cause, file=sys.stderr)
            elif isinstance(leaf, TimeoutError):
                print(f"error: no complete exchange within {ns.timeout} s", file=sys.stderr)
            else:
                print(f"error: {type(leaf).__name__}: {leaf}", file=sys.stderr)
                traceback.print_exception(leaf, file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

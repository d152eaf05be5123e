-- wrk script for bench/mock-throughput.sh: MCP tools/call over Streamable HTTP (JSON responses).
--
--   wrk -t1 -c64 -d10s -s bench/mcp-call.lua http://127.0.0.1:PORT/mcp -- SESSION_ID [stateless]
--
-- SESSION_ID is the Mcp-Session-Id returned by initialize (pass "-" for servers without
-- sessions). Every request is a tools/call of `echo` with a fresh JSON-RPC id. With `stateless`,
-- requests are of the 2026-07-28 revision: no session, the revision and client capabilities in
-- params._meta, Mcp-Method and Mcp-Name headers. With `sized`, requests are of the session era
-- but as large as stateless ones: a `_meta` of the same size (two keys the revision does not
-- reserve) and an Mcp-Method header — the control that tells the cost of the revision's bytes
-- from the cost of serving without a session. A response counts
-- as bad unless it is HTTP 200, Content-Type application/json (not an SSE stream) and carries a
-- JSON-RPC result. done() prints one machine-readable line:
--
--   WRK_RESULT requests=N duration_us=N rps=F p50_us=N p99_us=N mean_us=F bad=N non200=N
--              err_connect=N err_read=N err_write=N err_timeout=N err_status=N
--
-- (on one line). The caller fails the round when bad, non200 or any err_* is non-zero.

local threads = {}
local next_thread = 0

function setup(thread)
  -- Distinct id ranges per thread so ids stay unique across wrk threads.
  thread:set("id_base", next_thread * 1000000000)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local session, headers, id
non200, bad = 0, 0 -- globals: done() reads them with thread:get()
local body_head = '{"jsonrpc":"2.0","id":'
local body_tail = ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
local stateless_tail = ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},'
  .. '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
  .. '"io.modelcontextprotocol/clientCapabilities":{}}}}'

local sized_tail = ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},'
  .. '"_meta":{"io.modelcontextprotocol/protocolVersioX":"2026-07-28",'
  .. '"io.modelcontextprotocol/clientCapabilitieX":{}}}}'

function init(args)
  session = args[1]
  headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["MCP-Protocol-Version"] = "2025-11-25",
  }
  if args[2] == "stateless" then
    headers["MCP-Protocol-Version"] = "2026-07-28"
    headers["Mcp-Method"] = "tools/call"
    headers["Mcp-Name"] = "echo"
    body_tail = stateless_tail
  elseif args[2] == "sized" then
    headers["Mcp-Method"] = "tools/call"
    body_tail = sized_tail
  end
  if session ~= nil and session ~= "" and session ~= "-" then
    headers["Mcp-Session-Id"] = session
  end
  id = id_base or 0
  non200 = 0
  bad = 0
end

function request()
  id = id + 1
  return wrk.format("POST", nil, headers, body_head .. id .. body_tail)
end

function response(status, hdrs, body)
  if status ~= 200 then
    non200 = non200 + 1
    bad = bad + 1
    return
  end
  local ctype = hdrs["content-type"] or hdrs["Content-Type"] or ""
  if string.sub(ctype, 1, 16) ~= "application/json"
      or body == nil or not string.find(body, '"result"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_non200, total_bad = 0, 0
  for _, t in ipairs(threads) do
    total_non200 = total_non200 + (t:get("non200") or 0)
    total_bad = total_bad + (t:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d mean_us=%.1f bad=%d non200=%d"
      .. " err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.mean, total_bad, total_non200,
    e.connect, e.read, e.write, e.timeout, e.status))
end

// Interop peer: an MCP server written with the official TypeScript SDK
// (@modelcontextprotocol/sdk 1.x: McpServer + StreamableHTTPServerTransport, stateful sessions), for
// gauntlet's driver to put load on.
//
//   node server.mjs
//
// It serves Streamable HTTP at /mcp on 127.0.0.1, on a port the OS chooses, and once it accepts
// connections prints one line on stdout:
//
//   LISTENING http://127.0.0.1:PORT/mcp
//
// and, for every session, the revision the SDK answered its initialize with:
//
//   SESSION protocol=2025-11-25
//
// Every initialize opens a session of its own (an McpServer connected to its own transport; the
// transport issues Mcp-Session-Id). A request without a session id that is not an initialize gets
// 400, one with an unknown session id 404, DELETE ends a session. A Host header that is not
// loopback gets 403.
//
// Its tools mirror the mock catalogue mock-servers/echo.yaml, so a scenario written for that
// catalogue runs against this server through `gateway: { url: ... }`:
//
//   echo(text)   returns the text unchanged
//
// The server exits when its stdin closes (the test that started it went away) or on SIGTERM/SIGINT.
// The SDK is loaded from the npm project that scripts/test installs: $GAUNTLET_PEERS/node
// (default: <repo>/.peers/node), so this file runs from anywhere.

import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

const usage = 'usage: server.mjs [--name NAME]';
let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      name: { type: 'string', default: 'gauntlet-peer-ts' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (e) {
  fail(`${e.message}\n${usage}`);
}
if (opts.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

const here = dirname(fileURLToPath(import.meta.url));
const peersNode = join(
  process.env.GAUNTLET_PEERS ? resolve(process.env.GAUNTLET_PEERS) : join(here, '..', '..', '..', '.peers'),
  'node',
);
if (!existsSync(join(peersNode, 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'))) {
  fail(`peer missing: ${peersNode}/node_modules/@modelcontextprotocol/sdk (run scripts/test)`);
}
// Resolve the SDK (and zod, which it takes tool schemas in) as if required from the peers' npm
// project.
const require = createRequire(join(peersNode, 'package.json'));
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const { isInitializeRequest } = require('@modelcontextprotocol/sdk/types.js');
const { z } = require('zod');
const sdkDir = join(peersNode, 'node_modules', '@modelcontextprotocol', 'sdk');
const sdkVersion = String(JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8')).version);

/** A fresh McpServer (one per session: an McpServer connects to exactly one transport). */
function mcpServer() {
  const server = new McpServer({ name: opts.name, version: sdkVersion });
  server.registerTool(
    'echo',
    {
      description: 'Return the given text unchanged.',
      inputSchema: { text: z.string() },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

/** Live sessions: Mcp-Session-Id -> transport. */
const sessions = new Map();

const MAX_BODY = 4 * 1024 * 1024;

function readBody(req) {
  return new Promise((resolveBody, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function jsonRpcError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(
    JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }),
  );
}

function loopbackHost(host) {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}

async function handle(req, res) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== '/mcp') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  if (!loopbackHost(req.headers.host)) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('Host must be loopback\n');
    return;
  }
  const sid = req.headers['mcp-session-id'];
  if (typeof sid === 'string') {
    const transport = sessions.get(sid);
    if (!transport) {
      jsonRpcError(res, 404, -32001, 'Session not found');
      return;
    }
    await transport.handleRequest(req, res);
    return;
  }
  if (req.method !== 'POST') {
    jsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    return;
  }
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch (e) {
    jsonRpcError(res, 400, -32700, `Parse error: ${e.message}`);
    return;
  }
  if (!isInitializeRequest(body)) {
    jsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    return;
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => {
      sessions.set(id, transport);
    },
  });
  // Report the revision from the SDK's own initialize answer as it goes out.
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    const result = message && message.result;
    if (result && typeof result.protocolVersion === 'string' && result.serverInfo) {
      process.stdout.write(`SESSION protocol=${result.protocolVersion}\n`);
    }
    return send(message, options);
  };
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
  };
  await mcpServer().connect(transport);
  await transport.handleRequest(req, res, body);
}

const http = createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`error: ${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : e}\n`);
    if (!res.headersSent) jsonRpcError(res, 500, -32603, 'Internal error');
    else res.end();
  });
});

function stop() {
  // Open streams must not keep the process alive: exit now.
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// End of stdin: the process that started this one has closed it or died.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

http.listen(0, '127.0.0.1', () => {
  const { port } = http.address();
  process.stdout.write(`LISTENING http://127.0.0.1:${port}/mcp\n`);
});

// Interop peer: the official MCP TypeScript SDK (@modelcontextprotocol/sdk 1.x) as a client of a
// gauntlet mock server over Streamable HTTP.
//
// Runs initialize -> tools/list -> tools/call -> resources/read -> prompts/get and prints ONE JSON
// object on stdout with what came back. Any failed step: the error on stderr and exit status 1.
//
//   node client.mjs --url http://127.0.0.1:PORT/mcp --tool test_simple_text --args '{}' \
//       --resource test://static-text --prompt test_simple_prompt --prompt-args '{}'
//
// Steps whose flag is absent (--tool, --resource, --prompt) are skipped and reported as null.
// The SDK is loaded from the npm project that scripts/test installs: $GAUNTLET_PEERS/node
// (default: <repo>/.peers/node), so this file runs from anywhere.

import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

const usage =
  'usage: client.mjs --url URL [--tool NAME] [--args JSON] [--resource URI] ' +
  '[--prompt NAME] [--prompt-args JSON] [--timeout SECONDS]';

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      url: { type: 'string' },
      tool: { type: 'string' },
      args: { type: 'string', default: '{}' },
      resource: { type: 'string' },
      prompt: { type: 'string' },
      'prompt-args': { type: 'string', default: '{}' },
      timeout: { type: 'string', default: '30' },
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
if (!opts.url) fail(`--url is required\n${usage}`);

function jsonObject(flag) {
  let value;
  try {
    value = JSON.parse(opts[flag]);
  } catch (e) {
    fail(`--${flag}: not JSON: ${e.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(`--${flag}: must be a JSON object`);
  }
  return value;
}
const toolArgs = jsonObject('args');
const promptArgs = Object.fromEntries(
  Object.entries(jsonObject('prompt-args')).map(([k, v]) => [
    k,
    typeof v === 'string' ? v : JSON.stringify(v),
  ]),
);
const timeoutMs = Number(opts.timeout) * 1000;
if (!(timeoutMs > 0)) fail('--timeout: must be a positive number of seconds');

const here = dirname(fileURLToPath(import.meta.url));
const peersNode = join(
  process.env.GAUNTLET_PEERS ? resolve(process.env.GAUNTLET_PEERS) : join(here, '..', '..', '..', '.peers'),
  'node',
);
if (!existsSync(join(peersNode, 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'))) {
  fail(`peer missing: ${peersNode}/node_modules/@modelcontextprotocol/sdk (run scripts/test)`);
}
// Resolve the SDK as if required from the peers' npm project (its CommonJS build: the SDK
// publishes both builds under the same export names).
const require = createRequire(join(peersNode, 'package.json'));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
// (The package's exports map sends `@modelcontextprotocol/sdk/package.json` into dist/, so read the
// manifest by path.)
const sdkDir = join(peersNode, 'node_modules', '@modelcontextprotocol', 'sdk');
const sdkVersion = String(JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8')).version);

const timer = setTimeout(() => fail(`no complete exchange within ${opts.timeout} s`), timeoutMs);

const client = new Client({ name: 'gauntlet-interop-ts', version: sdkVersion });
const transport = new StreamableHTTPClientTransport(new URL(opts.url));
const requestOptions = { timeout: timeoutMs };
const out = {};
let step = 'initialize';
try {
  await client.connect(transport, requestOptions);
  out.protocolVersion = transport.protocolVersion ?? null;
  out.server = client.getServerVersion() ?? null;
  out.capabilities = client.getServerCapabilities() ?? null;

  step = 'tools/list';
  const tools = [];
  let cursor;
  let pages = 0;
  do {
    if (++pages > 1000) throw new Error('tools/list: more than 1000 pages');
    const page = await client.listTools(cursor ? { cursor } : undefined, requestOptions);
    tools.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor);
  out.tools = tools;

  out.call = null;
  if (opts.tool) {
    step = `tools/call ${opts.tool}`;
    const res = await client.callTool({ name: opts.tool, arguments: toolArgs }, undefined, requestOptions);
    out.call = {
      content: res.content ?? [],
      isError: res.isError === true,
      structuredContent: res.structuredContent ?? null,
    };
  }

  out.resource = null;
  if (opts.resource) {
    step = `resources/read ${opts.resource}`;
    const res = await client.readResource({ uri: opts.resource }, requestOptions);
    out.resource = { contents: res.contents };
  }

  out.prompt = null;
  if (opts.prompt) {
    step = `prompts/get ${opts.prompt}`;
    const params = { name: opts.prompt };
    if (Object.keys(promptArgs).length > 0) params.arguments = promptArgs;
    const res = await client.getPrompt(params, requestOptions);
    out.prompt = { description: res.description ?? null, messages: res.messages };
  }

  // End the session as a well-behaved client does (DELETE; a 405 answer is accepted).
  step = 'session end';
  await transport.terminateSession();
  await client.close();
} catch (e) {
  const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
  fail(`step ${step} failed: ${detail}`);
}
clearTimeout(timer);
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);

// The official TypeScript SDK client (@modelcontextprotocol/sdk v1) against
// the real daemon: Streamable HTTP, stdio, and WebSocket transports.
//
// SDK quirk: WebSocketClientTransport uses the WHATWG WebSocket (Node 22's
// global), which cannot send request headers, so it cannot present
// "Authorization: Bearer" at the handshake. It is tested against a daemon
// with auth.allow_query_token=true (?access_token=); header auth over WS is
// tested with the `ws` package in websocket.test.mjs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { McpError, ErrorCode, EmptyResultSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Daemon, DAEMON_BIN, stdioSetup } from './lib/daemon.mjs';
import { withDiag } from './lib/check.mjs';

const newClient = () => new Client({ name: 'sm-sdk-it', version: '1.0.0' }, { capabilities: {} });
const httpTransport = (d, token) => new StreamableHTTPClientTransport(new URL(d.url), {
  requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
});

async function exercise(client, label) {
  const info = client.getServerVersion();
  assert.equal(info?.name, 'systemmanager', `${label}: serverInfo ${JSON.stringify(info)}`);
  const caps = client.getServerCapabilities();
  assert.ok(caps?.tools, `${label}: capabilities.tools missing: ${JSON.stringify(caps)}`);
  assert.deepEqual(await client.ping(), {}, `${label}: ping`);
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  assert.ok(names.includes('get_system_status') && names.includes('get_top_processes'), `${label}: tools ${names}`);
  const st = await client.callTool({ name: 'get_system_status', arguments: {} });
  assert.equal(st.isError, false, `${label}: get_system_status ${JSON.stringify(st).slice(0, 400)}`);
  assert.ok(st.structuredContent, `${label}: structuredContent missing`);
  const top = await client.callTool({ name: 'get_top_processes', arguments: { limit: 2, sort_by: 'memory' } });
  assert.equal(top.isError, false, `${label}: get_top_processes ${JSON.stringify(top).slice(0, 400)}`);
  const bad = await client.callTool({ name: 'get_top_processes', arguments: { limit: 500 } });
  assert.equal(bad.isError, true, `${label}: limit 500 must be isError ${JSON.stringify(bad).slice(0, 400)}`);
  assert.match(JSON.stringify(bad.content), /limit/, `${label}: error text must name limit`);
  await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }),
    (e) => e instanceof McpError && e.code === ErrorCode.InvalidParams, `${label}: unknown tool must be JSON-RPC -32602`);
  await assert.rejects(client.request({ method: 'no/such/method', params: {} }, EmptyResultSchema),
    (e) => e instanceof McpError && e.code === ErrorCode.MethodNotFound, `${label}: unknown method must be -32601`);
}

describe('SDK Client + StreamableHTTPClientTransport', () => {
  let d;
  before(async () => { d = new Daemon({}); await d.start(); });
  after(async () => { await d?.stop(); d?.cleanup(); });
  const T = (name, fn) => it(name, withDiag(() => d, fn));

  T('connect with requestInit Authorization header, list and call tools', async () => {
    const c = newClient();
    const t = httpTransport(d, d.mint(['readonly'], { agent: 'sdk-http' }));
    await c.connect(t);
    try {
      assert.equal(t.sessionId, undefined, 'stateless server must not issue MCP-Session-Id');
      await exercise(c, 'SDK/HTTP');
      await c.setLoggingLevel('info');
    } finally { await c.close(); }
  });

  T('no token: connect rejects with HTTP 401', async () => {
    const c = newClient();
    await assert.rejects(c.connect(httpTransport(d, null)), (e) => /401|Unauthorized/i.test(`${e?.message} ${e?.code}`), 'connect without token');
    await c.close().catch(() => {});
  });

  T('network:read token: tools/list hides the system tools, calling one is rejected (403 / -32003)', async () => {
    const c = newClient();
    await c.connect(httpTransport(d, d.mint(['network:read'], { agent: 'sdk-net' })));
    try {
      const { tools } = await c.listTools();
      assert.ok(!tools.some((t) => t.name === 'get_system_status'), `network:read sees ${tools.map((t) => t.name)}`);
      await assert.rejects(c.callTool({ name: 'get_system_status', arguments: {} }),
        (e) => /403|-32003|insufficient_scope|Missing required scopes/i.test(`${e?.message} ${e?.code}`),
        'insufficient scope must be rejected');
    } finally { await c.close(); }
  });

  T('20 sequential calls on one SDK client (no leaks, no stale state)', async () => {
    const c = newClient();
    await c.connect(httpTransport(d, d.mint(['readonly'])));
    try {
      for (let i = 0; i < 20; i++) {
        const r = await c.callTool({ name: 'get_top_processes', arguments: { limit: 1 } });
        assert.equal(r.isError, false, `call ${i}: ${JSON.stringify(r).slice(0, 200)}`);
      }
    } finally { await c.close(); }
  });
});

describe('SDK Client + StdioClientTransport (systemmanager-mcp --stdio)', () => {
  let sd;
  before(() => { sd = stdioSetup(); });
  after(() => sd?.cleanup());

  it('spawn --stdio with SYSTEMMANAGER_TOKEN, list and call tools', async () => {
    const t = new StdioClientTransport({ command: DAEMON_BIN, args: ['--stdio'], env: { ...sd.env, SYSTEMMANAGER_TOKEN: sd.mint(['readonly'], { agent: 'sdk-stdio' }) }, stderr: 'pipe' });
    let stderr = '';
    t.stderr?.on('data', (c) => { stderr += c; });
    const c = newClient();
    try {
      await c.connect(t);
      await exercise(c, 'SDK/stdio');
    } catch (e) {
      e.message += `\n--- stdio server stderr ---\n${stderr.slice(-4000)}`;
      throw e;
    } finally { await c.close(); }
  });
});

describe('approval by elicitation (SDK Client over stdio, approval.mode elicitation)', () => {
  // get_top_processes is made approval-required so the test needs no package
  // repository; the path is the same one critical tools take.
  let sd;
  before(() => {
    sd = stdioSetup({ env: {
      SYSTEMMANAGER_APPROVAL_MODE: 'elicitation',
      SYSTEMMANAGER_APPROVAL_REQUIRED_FOR: 'get_top_processes',
      SYSTEMMANAGER_APPROVAL_ELICITATION_TIMEOUT: '3',
    } });
  });
  after(() => sd?.cleanup());

  // answer(params) returns the ElicitResult, or null to never answer.
  async function withClient(agent, answer, fn, capabilities = { elicitation: {} }) {
    const t = new StdioClientTransport({ command: DAEMON_BIN, args: ['--stdio'], env: { ...sd.env, SYSTEMMANAGER_TOKEN: sd.mint(['readonly'], { agent }) }, stderr: 'pipe' });
    let stderr = '';
    t.stderr?.on('data', (c) => { stderr += c; });
    const asked = [];
    const c = new Client({ name: 'sm-sdk-elicit', version: '1.0.0' }, { capabilities });
    if (capabilities.elicitation) {
      c.setRequestHandler(ElicitRequestSchema, async (req) => {
        asked.push(req.params);
        const a = answer(req.params);
        return a ?? new Promise(() => {});
      });
    }
    try {
      await c.connect(t);
      await fn(c, asked);
    } catch (e) {
      e.message += `\n--- stdio server stderr ---\n${stderr.slice(-4000)}`;
      throw e;
    } finally { await c.close(); }
  }
  const audit = () => fs.readFileSync(sd.auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  it('accept with approve=true runs the call once; the audit names the elicitation as approver', async () => {
    await withClient('elicit-yes', () => ({ action: 'accept', content: { approve: true } }), async (c, asked) => {
      const r = await c.callTool({ name: 'get_top_processes', arguments: { limit: 2 } });
      assert.equal(r.isError, false, JSON.stringify(r));
      assert.equal(asked.length, 1);
      assert.match(asked[0].message, /elicit-yes asks to run get_top_processes/);
      assert.match(asked[0].message, /"limit":2/);
      assert.equal(asked[0].requestedSchema.properties.approve.type, 'boolean');
      const id = asked[0].message.match(/approval (apr_[A-Za-z0-9_-]+)/)[1];
      const log = audit();
      assert.ok(log.some((e) => e.event === 'approval.approved' && e.approver === 'elicitation' && e.approval_id === id), 'approval.approved record');
      assert.ok(log.some((e) => e.event === 'tool.call' && e.decision === 'approved' && e.approval_id === id), 'tool.call record');
    });
  });

  it('decline (or approve=false) refuses with -32004 approval.denied and the tool does not run', async () => {
    await withClient('elicit-no', () => ({ action: 'decline' }), async (c) => {
      await assert.rejects(c.callTool({ name: 'get_top_processes', arguments: { limit: 3 } }),
        (e) => e instanceof McpError && e.code === -32004 && /denied by the approval elicitation: the user declined/.test(e.message));
    });
    await withClient('elicit-false', () => ({ action: 'accept', content: { approve: false } }), async (c) => {
      await assert.rejects(c.callTool({ name: 'get_top_processes', arguments: { limit: 4 } }),
        (e) => e instanceof McpError && e.code === -32004 && /approve=false/.test(e.message));
    });
  });

  it('no answer within approval.elicitation_timeout follows default_action (deny)', async () => {
    await withClient('elicit-silent', () => null, async (c) => {
      await assert.rejects(c.callTool({ name: 'get_top_processes', arguments: { limit: 5 } }, undefined, { timeout: 20000 }),
        (e) => e instanceof McpError && e.code === -32004 && /no answer to the elicitation/.test(e.message));
    });
  });

  it('a client that did not declare elicitation gets the queue (-32004 with an approval_id, pending)', async () => {
    await withClient('elicit-none', () => null, async (c) => {
      await assert.rejects(c.callTool({ name: 'get_top_processes', arguments: { limit: 6 } }),
        (e) => e instanceof McpError && e.code === -32004 && e.data?.state === 'pending' && /^apr_/.test(e.data?.approval_id ?? ''));
    }, {});
  });
});

describe('SDK Client + WebSocketClientTransport (query token)', () => {
  let d;
  before(async () => { d = new Daemon({ env: { SYSTEMMANAGER_AUTH_ALLOW_QUERY_TOKEN: 'true' } }); await d.start(); });
  after(async () => { await d?.stop(); d?.cleanup(); });
  const T = (name, fn) => it(name, withDiag(() => d, fn));

  T('ws://.../mcp?access_token=T with subprotocol mcp: list and call tools', async () => {
    assert.equal(typeof globalThis.WebSocket, 'function', 'Node 22 global WebSocket is required by the SDK transport');
    const tok = d.mint(['readonly'], { agent: 'sdk-ws' });
    const c = newClient();
    await c.connect(new WebSocketClientTransport(new URL(`${d.wsUrl}?access_token=${encodeURIComponent(tok)}`)));
    try {
      await exercise(c, 'SDK/WebSocket');
    } finally { await c.close(); }
  });

  T('without a token the SDK WebSocket transport fails to connect', async () => {
    const c = newClient();
    const conn = c.connect(new WebSocketClientTransport(new URL(d.wsUrl)));
    const r = await Promise.race([conn.then(() => 'connected', (e) => `rejected: ${e?.message ?? e}`), new Promise((res) => setTimeout(() => res('timeout'), 5000))]);
    await c.close().catch(() => {});
    assert.match(r, /^rejected/, `SDK WebSocket without token: ${r}`);
  });
});

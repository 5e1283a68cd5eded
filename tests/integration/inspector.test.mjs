// The official MCP Inspector CLI (@modelcontextprotocol/inspector --cli)
// against the real daemon, over Streamable HTTP and over --stdio.
// Exit codes (from the Inspector's EXIT_CODES): 0 ok, 1 usage/error,
// 3 auth required (HTTP 401/403), 4 unreachable, 5 tool error (isError or
// tool not found), 6 schema unportable (--strict).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, DAEMON_BIN, stdioSetup } from './lib/daemon.mjs';
import { inspector, show, stdoutJson } from './lib/clients.mjs';
import { withDiag } from './lib/check.mjs';
import { expiredToken } from './lib/token.mjs';

let d, ro;
const T = (name, fn) => it(name, withDiag(() => d, fn));
const http = (token, ...args) => [d.url, '--transport', 'http', ...(token ? ['--header', `Authorization: Bearer ${token}`] : []), '--format', 'json', ...args];

describe('MCP Inspector CLI over Streamable HTTP', () => {
  before(async () => {
    d = new Daemon({});
    await d.start();
    ro = d.mint(['readonly'], { agent: 'inspector-agent' });
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  T('--method initialize: serverInfo systemmanager, protocol 2025-11-25', async () => {
    const r = await inspector(http(ro, '--method', 'initialize'));
    assert.equal(r.code, 0, show(r));
    const j = stdoutJson(r);
    const res = j?.result ?? j;
    assert.equal(res?.serverInfo?.name, 'systemmanager', show(r));
    assert.equal(res?.protocolVersion, '2025-11-25', show(r));
  });

  T('--method tools/list with the bearer header → exit 0, both system tools', async () => {
    const r = await inspector(http(ro, '--method', 'tools/list'));
    assert.equal(r.code, 0, show(r));
    const j = stdoutJson(r);
    const names = (j?.result?.tools ?? j?.tools ?? []).map((t) => t.name);
    assert.ok(names.includes('get_system_status') && names.includes('get_top_processes'), `tools: ${names}\n${show(r)}`);
  });

  T('--method tools/list --strict: every tool schema is portable (exit 0, not 6)', async () => {
    const r = await inspector(http(ro, '--method', 'tools/list', '--strict'));
    assert.equal(r.code, 0, `Inspector --strict found schema portability problems:\n${show(r)}`);
  });

  T('--method tools/call get_top_processes --tool-args-json → exit 0, structured result', async () => {
    const r = await inspector(http(ro, '--method', 'tools/call', '--tool-name', 'get_top_processes', '--tool-args-json', '{"limit":3,"sort_by":"cpu"}'));
    assert.equal(r.code, 0, show(r));
    const res = stdoutJson(r)?.result;
    assert.equal(res?.isError, false, show(r));
    assert.ok(res?.structuredContent, show(r));
  });

  T('--method tools/call with --tool-arg limit=2 (Inspector coerces by schema) → exit 0', async () => {
    const r = await inspector(http(ro, '--method', 'tools/call', '--tool-name', 'get_top_processes', '--tool-arg', 'limit=2', 'sort_by=memory'));
    assert.equal(r.code, 0, show(r));
    assert.equal(stdoutJson(r)?.result?.isError, false, show(r));
  });

  T('--method tools/call get_system_status → exit 0', async () => {
    const r = await inspector(http(ro, '--method', 'tools/call', '--tool-name', 'get_system_status'));
    assert.equal(r.code, 0, show(r));
    assert.equal(stdoutJson(r)?.result?.isError, false, show(r));
  });

  T('bad arguments (limit 500) → exit 5 (tool error) with isError:true naming limit', async () => {
    const r = await inspector(http(ro, '--method', 'tools/call', '--tool-name', 'get_top_processes', '--tool-args-json', '{"limit":500}'));
    assert.equal(r.code, 5, show(r));
    const res = stdoutJson(r)?.result;
    assert.equal(res?.isError, true, show(r));
    assert.match(JSON.stringify(res.content), /limit/, show(r));
  });

  T('no token → exit 3 (auth required), no hang', async () => {
    const r = await inspector([d.url, '--transport', 'http', '--format', 'json', '--method', 'tools/list']);
    assert.equal(r.code, 3, show(r));
    assert.match(r.stderr, /auth_required/, show(r));
  });

  T('no token with --stored-auth-only → exit 3', async () => {
    const r = await inspector([d.url, '--transport', 'http', '--stored-auth-only', '--format', 'json', '--method', 'tools/list']);
    assert.equal(r.code, 3, show(r));
  });

  T('expired token → exit 3', async () => {
    const r = await inspector(http(expiredToken(d.secret, { agent: 'insp-exp' }), '--method', 'tools/list'));
    assert.equal(r.code, 3, show(r));
  });

  T('network:read token: tools/list has no system tools; calling one → exit 5 (tool_not_found, client-side)', async () => {
    const net = d.mint(['network:read'], { agent: 'insp-net' });
    const l = await inspector(http(net, '--method', 'tools/list'));
    assert.equal(l.code, 0, show(l));
    const names = (stdoutJson(l)?.result?.tools ?? []).map((t) => t.name);
    assert.ok(!names.includes('get_system_status'), `network:read sees ${names}`);
    const c = await inspector(http(net, '--method', 'tools/call', '--tool-name', 'get_system_status'));
    assert.equal(c.code, 5, show(c));
  });

  T('--method logging/setLevel --log-level warning → exit 0', async () => {
    const r = await inspector(http(ro, '--method', 'logging/setLevel', '--log-level', 'warning'));
    assert.equal(r.code, 0, show(r));
  });
});

describe('MCP Inspector CLI over stdio (systemmanager-mcp --stdio)', () => {
  let sd;
  before(() => { sd = stdioSetup(); });
  after(() => sd?.cleanup());

  const stdioArgs = (token, ...rest) => {
    const env = { ...sd.env, SYSTEMMANAGER_TOKEN: token };
    // The Inspector passes only PATH/HOME-like defaults plus -e pairs to the server.
    delete env.PATH; delete env.LANG; delete env.TMPDIR;
    const e = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    return [...e, '--transport', 'stdio', '--format', 'json', ...rest, '--', DAEMON_BIN, '--stdio'];
  };

  it('tools/list over stdio → exit 0, both system tools', withDiag(() => sd, async () => {
    const r = await inspector(stdioArgs(sd.mint(['readonly'], { agent: 'stdio-insp' }), '--method', 'tools/list'));
    assert.equal(r.code, 0, show(r));
    const names = (stdoutJson(r)?.result?.tools ?? []).map((t) => t.name);
    assert.ok(names.includes('get_system_status') && names.includes('get_top_processes'), `tools: ${names}\n${show(r)}`);
  }));

  it('tools/call get_top_processes over stdio → exit 0', withDiag(() => sd, async () => {
    const r = await inspector(stdioArgs(sd.mint(['readonly']), '--method', 'tools/call', '--tool-name', 'get_top_processes', '--tool-args-json', '{"limit":2}'));
    assert.equal(r.code, 0, show(r));
    assert.equal(stdoutJson(r)?.result?.isError, false, show(r));
  }));

  it('bad arguments over stdio → exit 5', withDiag(() => sd, async () => {
    const r = await inspector(stdioArgs(sd.mint(['readonly']), '--method', 'tools/call', '--tool-name', 'get_top_processes', '--tool-args-json', '{"limit":500}'));
    assert.equal(r.code, 5, show(r));
  }));

  it('network:read token over stdio: no system tools listed', withDiag(() => sd, async () => {
    const r = await inspector(stdioArgs(sd.mint(['network:read']), '--method', 'tools/list'));
    assert.equal(r.code, 0, show(r));
    const names = (stdoutJson(r)?.result?.tools ?? []).map((t) => t.name);
    assert.ok(!names.includes('get_system_status'), `network:read over stdio sees ${names}`);
  }));
});

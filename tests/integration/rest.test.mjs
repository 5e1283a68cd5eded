// Non-MCP HTTP endpoints (SPEC §3): POST /tool/{name} (REST for curl/CI),
// GET /health, GET /metrics, GET /.well-known/oauth-protected-resource.
// Same auth, scopes and audit as MCP.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, sleep } from './lib/daemon.mjs';
import { request, uniqueLoopback } from './lib/http.mjs';
import { fmt, expectStatus, expectAuthError, withDiag } from './lib/check.mjs';

let d, ro;
const T = (name, fn) => it(name, withDiag(() => d, fn));
const tool = (name, args, token, extra = {}) => request(d.port, {
  path: `/tool/${name}`, body: args, localAddress: token ? undefined : uniqueLoopback(),
  headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...extra },
});
const get = (path, token) => request(d.port, { method: 'GET', path, localAddress: token ? undefined : uniqueLoopback(), headers: token ? { Authorization: `Bearer ${token}` } : {} });

describe('REST and operational endpoints', () => {
  before(async () => {
    d = new Daemon({});
    await d.start();
    ro = d.mint(['readonly'], { agent: 'rest-agent' });
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  T('POST /tool/get_system_status → {"ok":true,"result":{...}}', async () => {
    const r = await tool('get_system_status', {}, ro);
    expectStatus(r, 200, 'POST /tool/get_system_status');
    assert.equal(r.json?.ok, true, fmt(r));
    assert.ok(r.json.result && typeof r.json.result === 'object', fmt(r));
  });

  T('POST /tool/get_top_processes {limit:2} → at most 2 processes', async () => {
    const r = await tool('get_top_processes', { limit: 2 }, ro);
    expectStatus(r, 200, 'POST /tool/get_top_processes');
    assert.equal(r.json?.ok, true, fmt(r));
    const procs = r.json.result.processes ?? Object.values(r.json.result).find(Array.isArray);
    assert.ok(Array.isArray(procs) && procs.length >= 1 && procs.length <= 2, fmt(r));
  });

  T('POST /tool without a token → 401 auth.missing_token', async () => {
    expectAuthError(await tool('get_system_status', {}, null), 401, 'auth.missing_token', 'Missing bearer token', 'POST /tool without token');
  });

  T('POST /tool with a missing scope → 403 ok:false auth.insufficient_scope', async () => {
    const r = await tool('get_system_status', {}, d.mint(['network:read'], { agent: 'rest-net' }));
    expectStatus(r, 403, 'POST /tool/get_system_status with network:read');
    assert.equal(r.json?.ok, false, fmt(r));
    assert.match(JSON.stringify(r.json.error), /auth\.insufficient_scope/, fmt(r));
    assert.match(String(r.headers['www-authenticate']), /error="insufficient_scope"/, fmt(r));
  });

  T('POST /tool/<unknown> → 404 ok:false', async () => {
    const r = await tool('no_such_tool', {}, ro);
    expectStatus(r, 404, 'POST /tool/no_such_tool');
    assert.equal(r.json?.ok, false, fmt(r));
  });

  T('POST /tool with bad arguments → 4xx ok:false naming the argument', async () => {
    const r = await tool('get_top_processes', { limit: 500 }, ro);
    assert.ok(r.status === 400 || r.status === 422, `bad args: ${fmt(r)}`);
    assert.equal(r.json?.ok, false, fmt(r));
    assert.match(JSON.stringify(r.json.error), /limit/, fmt(r));
  });

  T('POST /tool with a non-object body → 4xx ok:false', async () => {
    for (const body of ['[1,2]', '"x"', '{broken']) {
      const r = await request(d.port, { path: '/tool/get_system_status', body, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ro}` } });
      assert.ok(r.status >= 400 && r.status < 500, `body ${body}: ${fmt(r)}`);
      assert.equal(r.json?.ok, false, `body ${body}: ${fmt(r)}`);
    }
  });

  T('GET /tool/<name> → 405', async () => {
    expectStatus(await get('/tool/get_system_status', ro), 405, 'GET /tool/get_system_status');
  });

  T('POST /tool with Origin: http://evil.example → 403', async () => {
    const r = await tool('get_system_status', {}, ro, { Origin: 'http://evil.example' });
    expectStatus(r, 403, 'POST /tool with a foreign Origin');
  });

  T('REST calls are audited like MCP calls', async () => {
    await tool('get_system_status', {}, d.mint(['readonly'], { agent: 'rest-audit' }));
    let recs = [];
    for (let i = 0; i < 40 && recs.length < 2; i++) {
      recs = d.audit().filter((e) => e.subject === 'rest-audit');
      if (recs.length < 2) await sleep(50);
    }
    assert.ok(recs.some((e) => e.event === 'tool.call' && e.decision === 'allowed' && e.tool === 'get_system_status'), JSON.stringify(recs));
    assert.ok(recs.some((e) => e.event === 'tool.result' && e.result_status === 'success'), JSON.stringify(recs));
  });

  T('GET /health: readonly (health:read) → 200 JSON; system:read only → 403; no token → 401', async () => {
    const ok = await get('/health', ro);
    expectStatus(ok, 200, 'GET /health');
    assert.ok(ok.json && typeof ok.json.status === 'string', fmt(ok));
    expectStatus(await get('/health', d.mint(['system:read'])), 403, 'GET /health with system:read');
    expectAuthError(await get('/health', null), 401, 'auth.missing_token', null, 'GET /health without token');
  });

  T('GET /metrics: readonly → Prometheus text; system:read only → 403; no token → 401', async () => {
    const ok = await get('/metrics', ro);
    expectStatus(ok, 200, 'GET /metrics');
    assert.match(String(ok.headers['content-type']), /^text\/plain/, fmt(ok));
    assert.match(ok.text, /^# TYPE \w+ (gauge|counter|histogram|summary)$/m, `not Prometheus text: ${ok.text.slice(0, 300)}`);
    for (const line of ok.text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)( -?\d+)?$/, `bad exposition line: ${line}`);
    }
    assert.ok(!ok.text.includes(ro), 'token in metrics');
    const sys = await get('/metrics', d.mint(['system:read']));
    expectStatus(sys, 403, 'GET /metrics with system:read');
    expectAuthError(await get('/metrics', null), 401, 'auth.missing_token', null, 'GET /metrics without token');
  });

  T('GET /.well-known/oauth-protected-resource (RFC 9728): open, names /mcp and the scopes', async () => {
    const r = await get('/.well-known/oauth-protected-resource', null);
    expectStatus(r, 200, 'GET /.well-known/oauth-protected-resource');
    assert.equal(r.json?.resource, d.url, `resource must be the MCP endpoint URL: ${fmt(r)}`);
    assert.ok(Array.isArray(r.json.scopes_supported) && r.json.scopes_supported.includes('system:read') && r.json.scopes_supported.includes('readonly'), fmt(r));
    const p = await get('/.well-known/oauth-protected-resource/mcp', null);
    expectStatus(p, 200, 'GET /.well-known/oauth-protected-resource/mcp (path-suffixed form)');
  });
});

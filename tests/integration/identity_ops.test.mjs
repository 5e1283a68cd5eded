// Identity and approvals against the running daemon: revocation while it
// runs (CLI and HTTP), service tokens over HTTP with rotation overlap,
// audience-scoped step-up tokens (single use, mismatch, revoke), the
// bootstrap token, and the approval queue over MCP and REST.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, CTL_BIN, run } from './lib/daemon.mjs';
import { request, rpc } from './lib/http.mjs';

const BOOT = 'boot-' + 'b'.repeat(40);
let d;

const ctl = (args) => run(CTL_BIN, args, {
  timeoutMs: 10000,
  env: { PATH: process.env.PATH, HOME: d.stateDir, LANG: 'C', SYSTEMMANAGER_SHARED_SECRET: d.secret, SYSTEMMANAGER_STATE_DIR: d.stateDir, ...(d.env.SYSTEMMANAGER_AUDIT_LOG ? { SYSTEMMANAGER_AUDIT_LOG: d.env.SYSTEMMANAGER_AUDIT_LOG } : {}) },
});
const whoami = (tok) => request(d.port, { method: 'GET', path: '/whoami', headers: { Authorization: `Bearer ${tok}` } });
const post = (path, tok, body) => request(d.port, { path, body, headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' } });
const call = (tok, name, args = {}, meta) => rpc(d.port, tok, 'tools/call', { name, arguments: args, ...(meta ? { _meta: meta } : {}) });

describe('identity and approvals on a running daemon', () => {
  before(async () => {
    d = new Daemon({ env: { SYSTEMMANAGER_BOOTSTRAP_TOKEN: BOOT, SYSTEMMANAGER_BOOTSTRAP_TOKEN_SCOPES: 'readonly', SYSTEMMANAGER_APPROVAL_REQUIRED_FOR: 'critical,get_top_processes' } });
    await d.start();
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  it('a token revoked with systemmanagerctl stops working at the next request; others keep working', async () => {
    const a = d.mint(['readonly'], { agent: 'revoke-me', jti: 'jti-revoke-me-1' });
    const b = d.mint(['readonly'], { agent: 'keep-me' });
    assert.equal((await whoami(a)).status, 200);
    const r = await ctl(['token', 'revoke', '--jti', 'jti-revoke-me-1', '--reason', 'test']);
    assert.equal(r.code, 0, r.stderr);
    const after = await whoami(a);
    assert.equal(after.status, 401);
    assert.equal(after.json.code, 'auth.token_revoked');
    assert.equal((await whoami(b)).status, 200);
    assert.ok(d.audit().some((e) => e.event === 'token.revoked' && e.token_id === 'jti-revoke-me-1'), 'audited');
  });

  it('POST /tokens/revoke by agent revokes the tokens issued until now, needs admin:tokens:write', async () => {
    const admin = d.mint(['admin'], { agent: 'ops-admin' });
    const old = d.mint(['readonly'], { agent: 'ci-bot', iat: Math.floor(Date.now() / 1000) - 5 });
    const ro = d.mint(['readonly'], { agent: 'not-admin' });
    const denied = await post('/tokens/revoke', ro, { agent: 'ci-bot', reason: 'x' });
    assert.equal(denied.status, 403);
    const ok = await post('/tokens/revoke', admin, { agent: 'ci-bot', reason: 'rotate' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await whoami(old)).status, 401);
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = d.mint(['readonly'], { agent: 'ci-bot' });
    assert.equal((await whoami(fresh)).status, 200, 'a token minted after the revocation works');
  });

  it('service tokens over HTTP: create, use, rotate with overlap, revoke', async () => {
    const admin = d.mint(['admin'], { agent: 'ops-admin-2' });
    const c = await post('/tokens', admin, { id: 'gh-actions', scopes: ['readonly'], expires_in: 3600 });
    assert.equal(c.status, 200, c.text);
    const t1 = c.json.token;
    assert.match(t1, /^smst_gh-actions_[A-Za-z0-9_-]{43}$/);
    const w = await whoami(t1);
    assert.equal(w.status, 200);
    assert.equal(w.json.subject, 'service:gh-actions');
    assert.equal(w.json.auth_method, 'service_token');
    const rot = await post('/tokens/gh-actions/rotate', admin, { overlap: 60 });
    assert.equal(rot.status, 200, rot.text);
    assert.equal((await whoami(t1)).status, 200, 'old secret valid during the overlap');
    assert.equal((await whoami(rot.json.token)).status, 200);
    const rot2 = await post('/tokens/gh-actions/rotate', admin, {});
    assert.equal((await whoami(rot.json.token)).status, 401, 'no overlap: the previous secret stops');
    const list = await request(d.port, { method: 'GET', path: '/tokens', headers: { Authorization: `Bearer ${admin}` } });
    assert.equal(list.status, 200);
    assert.ok(list.json.service_tokens.some((t) => t.id === 'gh-actions' && t.state === 'active'));
    assert.ok(!list.text.includes(rot2.json.token.slice(-43)), 'secrets are never listed');
    assert.equal((await post('/tokens/gh-actions/revoke', admin, {})).status, 400, 'revoke needs a reason');
    assert.equal((await post('/tokens/gh-actions/revoke', admin, { reason: 'done' })).status, 200);
    const gone = await whoami(rot2.json.token);
    assert.equal(gone.status, 401);
    assert.equal(gone.json.code, 'auth.token_revoked');
  });

  it('step-up tokens: one tool only, single use, revocable', async () => {
    const ro = d.mint(['readonly'], { agent: 'stepper' });
    const aud = await request(d.port, { method: 'GET', path: '/audience-tokens/audiences', headers: { Authorization: `Bearer ${ro}` } });
    assert.ok(aud.json.audiences.some((a) => a.audience === 'tool:get_system_status' && a.allowed));
    const bad = await post('/audience-tokens/tokens', ro, { audience: 'tool:get_system_status', ttl_seconds: 5 });
    assert.equal(bad.status, 400, 'ttl below 30 s');
    const up = await post('/audience-tokens/tokens', ro, { audience: 'tool:install_package', ttl_seconds: 60 });
    assert.equal(up.status, 403, 'step-up never widens scopes');
    const m = await post('/audience-tokens/tokens', ro, { audience: 'tool:get_system_status', ttl_seconds: 60, single_use: true });
    assert.equal(m.status, 200, m.text);
    const other = await call(m.json.token, 'get_network_io_counters');
    assert.equal(other.json.error.code, -32003);
    assert.equal(other.json.error.data.code, 'auth.audience_mismatch');
    const once = await call(m.json.token, 'get_system_status');
    assert.equal(once.json.result.isError, false);
    const twice = await call(m.json.token, 'get_system_status');
    assert.equal(twice.json.error.code, -32003, 'single use');
    const m2 = await post('/audience-tokens/tokens', ro, { audience: 'tool:get_system_status', ttl_seconds: 60 });
    assert.equal((await post('/audience-tokens/revoke', ro, { token: m2.json.token })).status, 200);
    assert.equal((await whoami(m2.json.token)).status, 401);
  });

  it('the bootstrap token works with its scopes and is audited as bootstrap', async () => {
    const w = await whoami(BOOT);
    assert.equal(w.status, 200);
    assert.equal(w.json.auth_method, 'bootstrap');
    await call(BOOT, 'get_system_status');
    assert.ok(d.audit().some((e) => e.event === 'tool.call' && e.auth_method === 'bootstrap'));
  });

  it('approval queue: -32004 with an id, pending, never self-approved, approve, run once (MCP); REST answers 409', async () => {
    const agent = d.mint(['readonly'], { agent: 'needs-approval' });
    const approver = d.mint(['approvals:write'], { agent: 'approver-ann' });
    const self = d.mint(['approvals:write', 'readonly'], { agent: 'needs-approval' });
    const first = await call(agent, 'get_top_processes', { limit: 2 });
    assert.equal(first.json.error.code, -32004, first.text);
    const id = first.json.error.data.approval_id;
    assert.match(id, /^apr_[0-9a-f]{24}$/);
    const pending = await call(agent, 'get_top_processes', { limit: 2 }, { approval_id: id });
    assert.equal(pending.json.error.code, -32004);
    assert.equal(pending.json.error.data.state, 'pending');
    assert.equal((await post(`/approvals/${id}/approve`, self, {})).status, 403, 'the requester cannot approve');
    assert.equal((await post(`/approvals/${id}/approve`, approver, { reason: 'ok' })).status, 200);
    const other = await call(agent, 'get_top_processes', { limit: 3 }, { approval_id: id });
    assert.equal(other.json.error.code, -32004, 'bound to the exact arguments');
    const runs = await call(agent, 'get_top_processes', { limit: 2 }, { approval_id: id });
    assert.equal(runs.json.result.isError, false, runs.text);
    const again = await call(agent, 'get_top_processes', { limit: 2 }, { approval_id: id });
    assert.equal(again.json.error.code, -32004, 'single use');
    const rest = await post('/tool/get_top_processes', agent, { limit: 2 });
    assert.equal(rest.status, 409);
    assert.equal(rest.json.error.code, 'approval.required');
    const events = d.audit().filter((e) => e.approval_id === id).map((e) => `${e.event}:${e.decision}`);
    assert.ok(events.includes('approval.requested:approval_required') && events.includes('approval.approved:approved') && events.includes('tool.call:approved'), events.join(' '));
  });

  it('pending and used approvals survive a restart (state_dir/approvals.json); a used one stays used', async () => {
    const agent = d.mint(['readonly'], { agent: 'restart-agent' });
    const approver = d.mint(['approvals:write'], { agent: 'approver-ann' });
    const used = (await call(agent, 'get_top_processes', { limit: 4 })).json.error.data.approval_id;
    assert.equal((await post(`/approvals/${used}/approve`, approver, {})).status, 200);
    assert.equal((await call(agent, 'get_top_processes', { limit: 4 }, { approval_id: used })).json.result?.isError, false);
    const first = await call(agent, 'get_top_processes', { limit: 5 });
    const id = first.json.error.data.approval_id;
    const { stateDir, secret } = d;
    await d.stop();
    d = new Daemon({ stateDir, secret, env: { SYSTEMMANAGER_BOOTSTRAP_TOKEN: BOOT, SYSTEMMANAGER_BOOTSTRAP_TOKEN_SCOPES: 'readonly', SYSTEMMANAGER_APPROVAL_REQUIRED_FOR: 'critical,get_top_processes' } });
    await d.start();
    const still = await call(agent, 'get_top_processes', { limit: 5 }, { approval_id: id });
    assert.equal(still.json.error?.data?.state, 'pending', still.text);
    assert.equal((await post(`/approvals/${id}/approve`, approver, { reason: 'after restart' })).status, 200);
    const runs = await call(agent, 'get_top_processes', { limit: 5 }, { approval_id: id });
    assert.equal(runs.json.result?.isError, false, runs.text);
    const again = await call(agent, 'get_top_processes', { limit: 4 }, { approval_id: used });
    assert.equal(again.json.error?.code, -32004, 'used before the restart, still used');
    assert.match(again.json.error.message, /already used/);
  });
});

describe('X-API-Key and HTTP Basic', () => {
  let k;
  // bcrypt of "s3cret-pass" (cost 8), made with crypt(3); SHA-256 of the API key.
  const BCRYPT = '$2b$08$kb1x1wIswtPCjf58sIyb6OWbFMm9XOoKo2.QG.oX.3FgwV.0ghQFm';
  const KEY = 'my-api-key-0123456789';
  const KEYHASH = '1e7cf79f1ea8e4a4c52ee0e8b1d95d9c0e0c77cc4c1b8bb7a2b5d2f6e9b0c0c0';
  before(async () => {
    const crypto = await import('node:crypto');
    const h = crypto.createHash('sha256').update(KEY).digest('hex');
    k = new Daemon({ env: { SYSTEMMANAGER_AUTH_API_KEYS: `grafana:${h}:readonly`, SYSTEMMANAGER_AUTH_BASIC_USERS: `alice:${BCRYPT}:readonly health:read` } });
    await k.start();
  });
  after(async () => { await k?.stop(); k?.cleanup(); });

  it('an X-API-Key whose SHA-256 is configured authenticates; another is 401', async () => {
    const ok = await request(k.port, { method: 'GET', path: '/whoami', headers: { 'X-API-Key': KEY } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.subject, 'apikey:grafana');
    assert.equal(ok.json.auth_method, 'api_key');
    const bad = await request(k.port, { method: 'GET', path: '/whoami', headers: { 'X-API-Key': KEYHASH } });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.code, 'auth.invalid_token');
  });

  it('HTTP Basic with a bcrypt hash authenticates; a wrong password is 401', async () => {
    const basic = (u, p) => ({ Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
    const ok = await request(k.port, { method: 'GET', path: '/whoami', headers: basic('alice', 's3cret-pass') });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.subject, 'basic:alice');
    const bad = await request(k.port, { method: 'GET', path: '/whoami', headers: basic('alice', 'nope') });
    assert.equal(bad.status, 401);
    const call = await request(k.port, { body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_system_status', arguments: {} } }, headers: { ...basic('alice', 's3cret-pass'), 'Content-Type': 'application/json' } });
    assert.equal(call.json.result.isError, false, call.text);
  });
});

describe('approval webhook', () => {
  let w, server, answer, seen;
  before(async () => {
    const http = await import('node:http');
    seen = [];
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        seen.push(JSON.parse(body));
        if (answer === 'hang') return; // never answers: the timeout applies
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(answer));
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    w = new Daemon({ env: {
      SYSTEMMANAGER_APPROVAL_MODE: 'webhook',
      SYSTEMMANAGER_APPROVAL_WEBHOOK: `http://127.0.0.1:${server.address().port}/approve`,
      SYSTEMMANAGER_APPROVAL_WEBHOOK_TIMEOUT: '2',
      SYSTEMMANAGER_APPROVAL_REQUIRED_FOR: 'get_top_processes',
    } });
    await w.start();
  });
  after(async () => { await w?.stop(); w?.cleanup(); server?.close(); });

  const callW = (tok, args) => rpc(w.port, tok, 'tools/call', { name: 'get_top_processes', arguments: args }, { timeout: 15000 });

  it('{"approved": true} from the webhook runs the call at once, audited with approver webhook', async () => {
    answer = { approved: true, reason: 'CHG-7' };
    const tok = w.mint(['readonly'], { agent: 'hooked' });
    const r = await callW(tok, { limit: 2 });
    assert.equal(r.json.result?.isError, false, r.text);
    const req = seen.at(-1);
    assert.equal(req.tool, 'get_top_processes');
    assert.equal(req.subject, 'hooked');
    assert.deepEqual(req.arguments, { limit: 2 });
    assert.match(req.approval_id, /^apr_/);
    assert.ok(w.audit().some((e) => e.event === 'approval.approved' && e.approver === 'webhook' && e.approval_id === req.approval_id));
    assert.ok(w.audit().some((e) => e.event === 'tool.call' && e.decision === 'approved' && e.approval_id === req.approval_id));
  });

  it('a refusal, or no answer within webhook_timeout, denies (default_action deny)', async () => {
    const tok = w.mint(['readonly'], { agent: 'hooked-2' });
    answer = { approved: false, reason: 'outside the change window' };
    const no = await callW(tok, { limit: 3 });
    assert.equal(no.json.error?.code, -32004, no.text);
    assert.equal(no.json.error.data.code, 'approval.denied');
    assert.match(no.json.error.message, /outside the change window/);
    answer = 'hang';
    const slow = await callW(tok, { limit: 4 });
    assert.equal(slow.json.error?.code, -32004, slow.text);
    assert.equal(slow.json.error.data.state, 'denied');
  });
});

describe('resource constraints in tokens', () => {
  let c;
  before(async () => { c = new Daemon({}); await c.start(); });
  after(async () => { await c?.stop(); c?.cleanup(); });
  const callC = (tok, name, args) => rpc(c.port, tok, 'tools/call', { name, arguments: args }, { timeout: 15000 });

  it('containers/paths/hosts globs narrow what the scopes reach; /whoami shows them', async () => {
    const tok = c.mint(['admin'], { agent: 'narrow', containers: ['web-*'], paths: ['/etc/*'], hosts: ['localhost'] });
    const who = await request(c.port, { method: 'GET', path: '/whoami', headers: { Authorization: `Bearer ${tok}` } });
    assert.deepEqual(who.json.containers, ['web-*']);
    assert.deepEqual(who.json.paths, ['/etc/*']);
    const file = await callC(tok, 'file_operations', { action: 'info', path: '/etc/hostname' });
    assert.equal(file.json.result?.isError, false, file.text);
    const outside = await callC(tok, 'file_operations', { action: 'info', path: '/var/log' });
    assert.equal(outside.json.error?.code, -32003, outside.text);
    assert.match(outside.json.error.message, /outside this token's paths/);
    const db = await callC(tok, 'manage_container', { action: 'restart', name_or_id: 'db-1' });
    assert.equal(db.json.error?.code, -32003, db.text);
    assert.match(db.json.error.message, /container 'db-1' is outside/);
    const host = await callC(tok, 'ping_host', { host: '127.0.0.1', count: 1 });
    assert.equal(host.json.error?.code, -32003, host.text);
    const url = await callC(tok, 'http_request_test', { url: 'http://127.0.0.1:1/' });
    assert.equal(url.json.error?.code, -32003, url.text);
    assert.ok(c.audit().some((e) => e.event === 'tool.call' && e.decision === 'denied' && /outside this token's/.test(e.error || '')));
  });

  it('a malformed constraint claim makes the token invalid', async () => {
    const bad = c.mint(['readonly'], { agent: 'bad-constraint', containers: 'web-*' });
    const r = await request(c.port, { method: 'GET', path: '/whoami', headers: { Authorization: `Bearer ${bad}` } });
    assert.equal(r.status, 401);
    assert.equal(r.json.code, 'auth.invalid_token');
  });
});

// Audit log written by the daemon (SPEC §8): one JSON line per decision
// (tool.call) and per outcome (tool.result), hash-chained via "prev", seq
// increasing; tokens and secrets never appear in it (nor in stderr).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Daemon, sleep, run, CTL_BIN } from './lib/daemon.mjs';
import { request, rpcMsg, mcpHeaders, callTool, uniqueLoopback } from './lib/http.mjs';
import { mint, expiredToken } from './lib/token.mjs';
import { withDiag, expectResult } from './lib/check.mjs';
import { wsOpen, WsSession } from './lib/ws.mjs';

let d;
const T = (name, fn) => it(name, withDiag(() => d, fn));
const tokens = []; // every token presented during this file, to grep for

async function waitAudit(pred, what, timeout = 3000) {
  const t0 = Date.now();
  for (;;) {
    const lines = d.audit();
    const hit = lines.filter(pred);
    if (hit.length) return hit;
    if (Date.now() - t0 > timeout) assert.fail(`no audit record for ${what} within ${timeout} ms; log:\n${d.auditLines().slice(-20).join('\n')}`);
    await sleep(50);
  }
}

describe('audit log', () => {
  let good, goodClaims, net, netClaims;
  before(async () => {
    d = new Daemon({});
    await d.start();
    ({ token: good, claims: goodClaims } = mint(d.secret, { agent: 'audit-agent', scopes: ['readonly'] }));
    ({ token: net, claims: netClaims } = mint(d.secret, { agent: 'audit-net', scopes: ['network:read'] }));
    tokens.push(good, net);
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  T('allowed call → tool.call (decision allowed) then tool.result (success)', async () => {
    const r = await callTool(d.port, good, 'get_system_status', {});
    expectResult(r, 'get_system_status');
    const call = (await waitAudit((e) => e.event === 'tool.call' && e.subject === 'audit-agent' && e.tool === 'get_system_status', 'tool.call'))[0];
    assert.equal(call.decision, 'allowed', JSON.stringify(call));
    assert.equal(call.token_id, goodClaims.jti, `token_id must be the jti: ${JSON.stringify(call)}`);
    assert.equal(call.v, 1, `schema v:1: ${JSON.stringify(call)}`);
    assert.match(String(call.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `ts must be RFC 3339 UTC with ms: ${call.ts}`);
    assert.deepEqual(call.scopes_required, ['system:read'], `scopes_required: ${JSON.stringify(call)}`);
    assert.equal(call.risk_level, 'low', `risk_level: ${JSON.stringify(call)}`);
    assert.equal(call.auth_method, 'hmac', `auth_method: ${JSON.stringify(call)}`);
    assert.equal(call.peer?.ip, '127.0.0.1', `peer.ip: ${JSON.stringify(call)}`);
    const res = (await waitAudit((e) => e.event === 'tool.result' && e.subject === 'audit-agent' && e.tool === 'get_system_status', 'tool.result'))[0];
    assert.equal(res.result_status, 'success', JSON.stringify(res));
    assert.equal(typeof res.duration_ms, 'number', `duration_ms: ${JSON.stringify(res)}`);
    assert.ok(res.seq > call.seq, 'tool.result after tool.call');
    if (call.request_id !== undefined) assert.equal(res.request_id, call.request_id, 'call and result share request_id');
  });

  T('denied call (missing scope) → tool.call with decision denied, no tool.result success', async () => {
    const r = await callTool(d.port, net, 'get_system_status', {});
    assert.equal(r.status, 403);
    const call = (await waitAudit((e) => e.event === 'tool.call' && e.subject === 'audit-net', 'denied tool.call'))[0];
    assert.equal(call.decision, 'denied', JSON.stringify(call));
    assert.equal(call.tool, 'get_system_status');
    assert.equal(call.token_id, netClaims.jti);
    await sleep(200);
    const ok = d.audit().filter((e) => e.event === 'tool.result' && e.subject === 'audit-net' && e.result_status === 'success');
    assert.deepEqual(ok, [], 'a denied call must not have a successful result record');
  });

  T('bad arguments → audited as a failed call naming the argument, never as success', async () => {
    const r = await callTool(d.port, good, 'get_top_processes', { limit: 500 });
    assert.equal(r.json?.result?.isError, true);
    // Either the tool.call is not "allowed" and carries the validation error,
    // or it is allowed and its tool.result (same request_id) has result_status "error".
    const call = (await waitAudit((e) => e.event === 'tool.call' && e.subject === 'audit-agent' && e.tool === 'get_top_processes' && e.args?.limit === 500, 'tool.call get_top_processes(limit:500)'))[0];
    if (call.decision === 'allowed') {
      const res = await waitAudit((e) => e.event === 'tool.result' && e.request_id === call.request_id, 'its tool.result');
      assert.equal(res[0].result_status, 'error', JSON.stringify(res));
      assert.match(JSON.stringify(res[0]), /limit/, `tool.result should carry the error: ${JSON.stringify(res)}`);
    } else {
      assert.match(JSON.stringify(call), /limit/, `the record should carry the validation error: ${JSON.stringify(call)}`);
      await sleep(100);
      const res = d.audit().filter((e) => e.event === 'tool.result' && e.request_id === call.request_id && e.result_status === 'success');
      assert.deepEqual(res, [], 'a refused call must not have a successful result');
    }
  });

  T('failed authentication → auth.failure record (no token text)', async () => {
    const bad = good.slice(0, -1) + (good.endsWith('0') ? '1' : '0');
    const exp = expiredToken(d.secret, { agent: 'audit-exp' });
    tokens.push(bad, exp);
    await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(bad), localAddress: uniqueLoopback() });
    await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(exp), localAddress: uniqueLoopback() });
    await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(null), localAddress: uniqueLoopback() });
    const fails = await waitAudit((e) => e.event === 'auth.failure', 'auth.failure');
    assert.ok(fails.length >= 3, `expected ≥ 3 auth.failure records, got ${fails.length}: ${JSON.stringify(fails)}`);
    const codes = fails.map((e) => e.error?.code ?? e.error ?? e.code);
    assert.ok(JSON.stringify(codes).includes('auth.invalid_token') && JSON.stringify(codes).includes('auth.token_expired'), `auth.failure codes: ${JSON.stringify(fails)}`);
  });

  T('WebSocket calls are audited with the same fields', async () => {
    const w = await wsOpen(d.wsUrl, { token: good });
    assert.ok(w.ws);
    const s = new WsSession(w.ws);
    await s.initialize();
    const r = await s.request('tools/call', { name: 'get_top_processes', arguments: { limit: 1 } });
    assert.equal(r.result?.isError, false);
    s.close();
    const calls = await waitAudit((e) => e.event === 'tool.call' && e.subject === 'audit-agent' && e.tool === 'get_top_processes' && e.decision === 'allowed', 'WS tool.call');
    assert.ok(calls.length >= 1);
  });

  T('every line is one JSON object; seq strictly increases by 1; prev chains SHA-256 of the previous line', async () => {
    const lines = d.auditLines();
    assert.ok(lines.length >= 6, `too few audit lines: ${lines.length}`);
    const raw = fs.readFileSync(d.auditLog, 'utf8');
    assert.ok(raw.endsWith('\n'), 'audit file must end with a newline (whole lines)');
    let prevLine = null;
    let mode = null; // which prev convention the daemon uses
    for (const [i, line] of lines.entries()) {
      let e;
      assert.doesNotThrow(() => { e = JSON.parse(line); }, `line ${i + 1} is not JSON: ${line}`);
      assert.equal(typeof e.seq, 'number', `line ${i + 1} seq: ${line}`);
      assert.equal(typeof e.event, 'string', `line ${i + 1} event: ${line}`);
      if (prevLine !== null) {
        const pe = JSON.parse(prevLine);
        assert.equal(e.seq, pe.seq + 1, `seq gap between lines ${i} and ${i + 1}: ${pe.seq} → ${e.seq}`);
        const h1 = crypto.createHash('sha256').update(prevLine).digest('hex');
        const h2 = crypto.createHash('sha256').update(prevLine + '\n').digest('hex');
        const m = e.prev === h1 ? 'line' : e.prev === h2 ? 'line+newline' : null;
        assert.ok(m, `line ${i + 1}: prev ${e.prev} is not SHA-256 of line ${i} (without newline ${h1}, with newline ${h2})`);
        if (mode) assert.equal(m, mode, `line ${i + 1}: inconsistent prev convention`);
        mode = m;
      } else {
        assert.match(String(e.prev ?? ''), /^([0-9a-f]{64})?$/, `first line prev: ${line}`);
      }
      prevLine = line;
    }
  });

  T('no token, signature, or secret appears in the audit log or on stderr', async () => {
    await sleep(100);
    const raw = fs.readFileSync(d.auditLog, 'utf8');
    for (const t of tokens) {
      const [payload, sig] = t.split('.');
      assert.ok(!raw.includes(t), 'a bearer token appears in the audit log');
      assert.ok(!sig || !raw.includes(sig), 'a token signature appears in the audit log');
      assert.ok(!raw.includes(payload), 'a token payload (base64url) appears in the audit log');
      assert.ok(!d.stderr.includes(t) && !(sig && d.stderr.includes(sig)), 'a token appears on the daemon stderr');
    }
    assert.ok(!raw.includes(d.secret), 'the shared secret appears in the audit log');
    assert.ok(!d.stderr.includes(d.secret), 'the shared secret appears on stderr');
  });

  T('audit file is not world-readable', async () => {
    const st = fs.statSync(d.auditLog);
    assert.equal(st.mode & 0o007, 0, `audit log mode ${(st.mode & 0o777).toString(8)} is accessible by others`);
  });

  T('server.start recorded; server.stop recorded on SIGTERM', async () => {
    assert.ok(d.audit().some((e) => e.event === 'server.start'), 'no server.start record');
    const ex = await d.stop();
    assert.equal(ex.code, 0, d.diag());
    const all = d.audit();
    const i = all.findLastIndex((e) => e.event === 'server.stop');
    assert.ok(i >= 0, `no server.stop record after SIGTERM; last: ${JSON.stringify(all.at(-1))}`);
    const after = all.slice(i + 1).map((e) => e.event);
    assert.ok(after.every((ev) => ev === 'audit.checkpoint'), `only a final audit.checkpoint may follow server.stop, got: ${after}`);
  });
});

describe('audit durability and rotation', () => {
  let k;
  const ctl = (args) => run(CTL_BIN, args, {
    timeoutMs: 20000,
    env: { PATH: process.env.PATH, HOME: k.stateDir, LANG: 'C', SYSTEMMANAGER_SHARED_SECRET: k.secret, SYSTEMMANAGER_STATE_DIR: k.stateDir, SYSTEMMANAGER_AUDIT_LOG: k.auditLog },
  });
  after(async () => { await k?.stop(); k?.cleanup(); });

  it('SIGKILL during a burst: every call whose response arrived has its tool.call and tool.result records', async () => {
    k = new Daemon({});
    await k.start();
    const tok = k.mint(['readonly'], { agent: 'burst' });
    const answered = new Set();
    const calls = [];
    // 200 calls in flight on 200 connections; SIGKILL once 40 answers are in.
    for (let i = 1; i <= 200; i++) {
      calls.push(callTool(k.port, tok, 'get_top_processes', { limit: i }, { timeout: 5000 })
        .then((r) => {
          if (r.json?.result && r.json.result.isError === false) answered.add(i);
          if (answered.size === 40) k.proc.kill('SIGKILL');
        })
        .catch(() => {}));
    }
    await Promise.all(calls);
    await k.exited;
    assert.ok(answered.size > 0, 'no call was answered before the kill');
    const log = k.audit();
    // Audit args of every tool.result's call, keyed by request id.
    const byReq = new Map();
    for (const e of log) if (e.request_id) (byReq.get(e.request_id) ?? byReq.set(e.request_id, []).get(e.request_id)).push(e);
    // Each call is told apart by its limit (1..200): every answered one has both records.
    const missing = [...answered].filter((i) => ![...byReq.values()].some((es) =>
      es.some((e) => e.event === 'tool.call' && e.args?.limit === i) && es.some((e) => e.event === 'tool.result' && e.result_status === 'success')));
    assert.deepEqual(missing, [], `answered calls without tool.call + tool.result records (by limit)`);
    assert.ok(answered.size < 200, 'the kill landed mid-burst');
    // The chain up to the kill verifies (exit 0 intact or 2 unsealed tail).
    const v = await ctl(['audit', 'verify', k.auditLog]);
    assert.ok(v.code === 0 || v.code === 2, `audit verify after SIGKILL: exit ${v.code}\n${v.stdout}${v.stderr}`);
  });

  it('logrotate-style rename + SIGHUP: the new file continues the chain; old + new verify as one', async () => {
    k?.cleanup();
    k = new Daemon({});
    await k.start();
    const tok = k.mint(['readonly'], { agent: 'rotate' });
    assert.equal((await callTool(k.port, tok, 'get_system_status', {})).json.result?.isError, false);
    const rotated = k.auditLog + '.1';
    fs.renameSync(k.auditLog, rotated);
    k.proc.kill('SIGHUP');
    for (let t = 0; t < 50 && !fs.existsSync(k.auditLog); t++) await sleep(50);
    assert.equal((await callTool(k.port, tok, 'get_system_status', {})).json.result?.isError, false);
    await sleep(100);
    const oldLines = fs.readFileSync(rotated, 'utf8').split('\n').filter(Boolean);
    const newLines = fs.readFileSync(k.auditLog, 'utf8').split('\n').filter(Boolean);
    const first = JSON.parse(newLines[0]);
    assert.equal(first.event, 'audit.reopened', newLines[0]);
    assert.equal(first.prev, crypto.createHash('sha256').update(oldLines.at(-1)).digest('hex'), 'links to the old file\'s last line');
    assert.equal(first.seq, JSON.parse(oldLines.at(-1)).seq + 1);
    const joined = k.auditLog + '.joined';
    fs.writeFileSync(joined, oldLines.concat(newLines).join('\n') + '\n');
    const v = await ctl(['audit', 'verify', joined]);
    assert.ok(v.code === 0 || v.code === 2, `old + new: exit ${v.code}\n${v.stdout}${v.stderr}`);
    // Tampering across the boundary is caught.
    const bad = [...oldLines];
    bad[bad.length - 1] = bad.at(-1).replace('"get_system_status"', '"get_system_statuz"');
    fs.writeFileSync(joined, bad.concat(newLines).join('\n') + '\n');
    const t = await ctl(['audit', 'verify', joined]);
    assert.equal(t.code, 1, `tampered: exit ${t.code}\n${t.stdout}${t.stderr}`);
  });
});

// HTTP/1.1 parsing edge cases and hostile input: pipelining, request
// smuggling shapes, garbage bytes, many in-flight calls on one WebSocket.
// The daemon must answer correctly or refuse cleanly, and keep serving.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Daemon, sleep } from './lib/daemon.mjs';
import { rpc, rpcMsg, mcpHeaders, rawExchange } from './lib/http.mjs';
import { expectResult, expectRpcError, withDiag, fmt } from './lib/check.mjs';
import { wsOpen, WsSession } from './lib/ws.mjs';

let d, ro;
const T = (name, fn) => it(name, withDiag(() => d, fn));
const hdrs = () => `Host: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: Bearer ${ro}\r\n`;
const statuses = (raw) => [...raw.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));

describe('robustness', () => {
  before(async () => {
    d = new Daemon({});
    await d.start();
    ro = d.mint(['readonly'], { agent: 'robust' });
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  T('Content-Length together with Transfer-Encoding: chunked → 400 (smuggling shape)', async () => {
    const body = JSON.stringify(rpcMsg('ping'));
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const r = await rawExchange(d.port, `POST /mcp HTTP/1.1\r\n${hdrs()}Content-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`, 4000);
    const s = statuses(r.data);
    // RFC 9112 §6.3: reject (400; 411 when chunked bodies are refused) and close. Never 2xx, never two responses.
    assert.ok(s.length === 0 || s[0] === 400 || s[0] === 411, `CL+TE: expected 400/411 or a closed connection, got ${r.data.slice(0, 300)}`);
    assert.ok(s.length <= 1, `CL+TE produced ${s.length} responses (request smuggling): ${r.data.slice(0, 600)}`);
    assert.ok(r.closed, 'CL+TE: connection must be closed after the refusal');
  });

  T('two different Content-Length headers → 400 (RFC 9112 §6.3), one response, closed', async () => {
    const body = JSON.stringify(rpcMsg('ping'));
    const r = await rawExchange(d.port, `POST /mcp HTTP/1.1\r\n${hdrs()}Content-Length: ${body.length}\r\nContent-Length: 5\r\n\r\n${body}`, 4000);
    const s = statuses(r.data);
    assert.ok(s.length <= 1, `duplicate Content-Length produced ${s.length} responses: ${r.data.slice(0, 600)}`);
    assert.ok(s.length === 0 || s[0] === 400, `duplicate Content-Length: expected 400, got ${r.data.slice(0, 300)}`);
    assert.ok(r.closed, 'duplicate Content-Length: the connection must be closed (framing is unrecoverable)');
  });

  T('negative / non-numeric Content-Length → 400 or close, never 200', async () => {
    for (const cl of ['-1', 'abc', '1e3']) {
      const r = await rawExchange(d.port, `POST /mcp HTTP/1.1\r\n${hdrs()}Content-Length: ${cl}\r\nConnection: close\r\n\r\n{}`, 4000);
      const s = statuses(r.data);
      assert.ok(s.length === 0 || (s[0] >= 400 && s[0] < 500), `Content-Length: ${cl}: ${r.data.slice(0, 300)}`);
    }
  });

  T('random garbage on 30 connections does not kill the daemon', async () => {
    for (let i = 0; i < 30; i++) {
      const junk = crypto.randomBytes(64 + i * 97);
      await rawExchange(d.port, junk.toString('latin1'), 1000).catch(() => {});
    }
    await rawExchange(d.port, 'GET / HTTP/9.9\r\n\r\n', 1000).catch(() => {});
    await rawExchange(d.port, '\r\n\r\n\r\n', 1000).catch(() => {});
    assert.equal(d.exitCode, undefined, `daemon died on garbage input${d.diag()}`);
    expectResult(await rpc(d.port, ro, 'ping'), 'ping after garbage');
  });

  T('NUL byte and control characters in a header value → 400 or close', async () => {
    const r = await rawExchange(d.port, `POST /mcp HTTP/1.1\r\n${hdrs()}X-Evil: a\u0000b\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`, 4000);
    const s = statuses(r.data);
    assert.ok(s.length === 0 || s[0] === 400, `NUL in header: ${r.data.slice(0, 300)}`);
  });

  T('tools/list with an invalid cursor → -32602', async () => {
    const r = await rpc(d.port, ro, 'tools/list', { cursor: 'not-a-cursor-%%%' });
    expectRpcError(r, -32602, 'tools/list with a bogus cursor');
  });

  T('40 concurrent calls on one WebSocket: every request gets exactly one answer', async () => {
    const w = await wsOpen(d.wsUrl, { token: ro });
    assert.ok(w.ws, 'ws open');
    const s = new WsSession(w.ws);
    try {
      await s.initialize();
      const reqs = Array.from({ length: 40 }, (_, i) => s.request('tools/call', { name: i % 2 ? 'get_system_status' : 'get_top_processes', arguments: i % 2 ? {} : { limit: 1 } }, { id: `c${i}`, timeout: 20000 }));
      const rs = await Promise.all(reqs);
      const bad = rs.filter((m) => !(m.result || m.error));
      assert.deepEqual(bad, [], 'malformed answers');
      const errs = rs.filter((m) => m.error);
      for (const e of errs) assert.ok([-32029, -32000, -32603].includes(e.error.code) || /in.?flight|too many|busy/i.test(e.error.message), `unexpected error for an over-limit call: ${JSON.stringify(e)}`);
      assert.ok(rs.filter((m) => m.result).length >= 16, `fewer than 16 (the per-connection in-flight limit) succeeded: ${rs.filter((m) => m.result).length}`);
      await sleep(100);
      assert.deepEqual(s.others.filter((m) => m && m.id !== undefined && m.id !== null), [], `duplicate or unknown-id answers: ${JSON.stringify(s.others).slice(0, 500)}`);
    } finally { s.close(); }
  });

  T('HTTP/1.0 request without Host is answered (or refused with 400), not hung', async () => {
    const body = JSON.stringify(rpcMsg('ping'));
    const r = await rawExchange(d.port, `POST /mcp HTTP/1.0\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: Bearer ${ro}\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 4000);
    assert.ok(r.closed, 'HTTP/1.0 connection not closed after the response');
    const s = statuses(r.data);
    assert.ok(s[0] === 200 || s[0] === 400, `HTTP/1.0: ${r.data.slice(0, 300)}`);
  });

  T('still healthy at the end', async () => {
    const r = await rpc(d.port, ro, 'tools/call', { name: 'get_system_status', arguments: {} });
    assert.equal(expectResult(r, 'final call').isError, false, fmt(r));
  });
});

describe('HTTP/1.1 pipelining (own daemon: a failure here must not cascade)', () => {
  let dp, tok;
  before(async () => {
    dp = new Daemon({});
    await dp.start();
    tok = dp.mint(['readonly']);
  });
  after(async () => { await dp?.stop(2000); dp?.cleanup(); });

  it('pipelined requests: answered in order (or the first answered with Connection: close, then closed); the daemon keeps serving', withDiag(() => dp, async () => {
    const h = `Host: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: Bearer ${tok}\r\n`;
    const a = JSON.stringify(rpcMsg('ping', undefined, 'first'));
    const b = JSON.stringify(rpcMsg('ping', undefined, 'second'));
    const r = await rawExchange(dp.port,
      `POST /mcp HTTP/1.1\r\n${h}Content-Length: ${a.length}\r\n\r\n${a}` +
      `POST /mcp HTTP/1.1\r\n${h}Content-Length: ${b.length}\r\nConnection: close\r\n\r\n${b}`, 4000);
    const alive = await rpc(dp.port, tok, 'ping', undefined, { timeout: 3000 }).then((x) => x.status, (e) => e.message);
    assert.equal(alive, 200, `after a pipelined request the daemon no longer answers a fresh ping (${alive}); it is wedged`);
    const st = statuses(r.data);
    assert.ok(st.length >= 1 && st[0] === 200 && r.data.includes('"first"'), `first pipelined request not answered: ${r.data.slice(0, 800)}`);
    assert.ok(r.closed, 'pipelined connection neither completed nor closed within 4 s (hung)');
    if (st.length === 1) {
      // RFC 9112 §9.6: a server may close after any response if it says so.
      assert.match(r.data, /\r\nconnection: *close\r\n/i, `only the first pipelined request was answered, without "Connection: close": ${r.data.slice(0, 800)}`);
    } else {
      assert.deepEqual(st, [200, 200], `pipelined: ${r.data.slice(0, 800)}`);
      assert.ok(r.data.indexOf('"first"') < r.data.indexOf('"second"'), `responses out of order: ${r.data.slice(0, 800)}`);
    }
  }));
});

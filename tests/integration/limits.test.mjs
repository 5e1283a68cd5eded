// Transport limits and slow-client defences (SPEC §3 "Limits"): body size,
// header block, slow headers (slowloris), idle keep-alive, connection cap.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, sleep } from './lib/daemon.mjs';
import { request, rpc, rpcMsg, mcpHeaders, connect, watchClose, rawExchange } from './lib/http.mjs';
import { fmt, expectStatus, expectResult, withDiag } from './lib/check.mjs';
import WebSocket from 'ws';

const MiB = 1024 * 1024;

// A JSON-RPC ping whose serialized size is exactly `size` bytes.
function pingOfSize(size) {
  const head = '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"pad":"';
  const tail = '"}}}';
  const n = size - head.length - tail.length;
  if (n < 0) throw new Error('size too small');
  return head + 'a'.repeat(n) + tail;
}

// Sends a request on a raw socket the way curl does for large bodies:
// "Expect: 100-continue", wait (≤ 1 s) for an interim or final answer, then
// the body in 64 KiB chunks, stopping as soon as a final answer arrives.
// Returns the final status and raw reply.
async function rawPost(port, token, body) {
  const s = await connect(port);
  let data = '';
  let closed = false;
  let error;
  const final = () => /^(HTTP\/1\.1 100[^\r]*\r\n\r\n)*HTTP\/1\.[01] [2-5]\d\d/.test(data);
  let wake = () => {};
  s.on('data', (c) => { data += c.toString('latin1'); wake(); });
  s.on('error', (e) => { error = e.code || e.message; wake(); });
  const ended = new Promise((resolve) => { s.on('close', () => { closed = true; wake(); resolve(); }); });
  const write = (chunk) => new Promise((resolve) => { s.write(chunk, () => resolve()); });
  const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n` +
    (token ? `Authorization: Bearer ${token}\r\n` : '') +
    `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
  const t0 = Date.now();
  await write(head);
  await new Promise((resolve) => { wake = resolve; setTimeout(resolve, 1000); });
  for (let i = 0; i < body.length && !final() && !closed && !error; i += 65536) {
    await write(body.slice(i, i + 65536));
  }
  await Promise.race([ended, new Promise((r) => setTimeout(r, 10000))]);
  s.destroy();
  const stripped = data.replace(/^(HTTP\/1\.1 100[^\r]*\r\n\r\n)+/, '');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(stripped);
  return { status: m ? Number(m[1]) : undefined, raw: stripped.slice(0, 800) || `(no response; socket error ${error})`, closed, ms: Date.now() - t0 };
}

describe('request size limits', () => {
  let d, ro;
  const T = (name, fn) => it(name, withDiag(() => d, fn));
  before(async () => {
    d = new Daemon({ env: { SYSTEMMANAGER_SERVER_MAX_CONNECTIONS: '64' } });
    await d.start();
    ro = d.mint(['readonly']);
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  T('body of exactly 1 MiB is accepted', async () => {
    const r = await rawPost(d.port, ro, pingOfSize(MiB));
    assert.equal(r.status, 200, `1 MiB body: ${r.raw}`);
  });

  T('body of 1 MiB + 1 byte (curl-style, Expect: 100-continue) → 413', async () => {
    const r = await rawPost(d.port, ro, pingOfSize(MiB + 1));
    assert.equal(r.status, 413, `1 MiB + 1 body: ${r.raw}`);
  });

  T('body of 1 MiB + 1 byte sent at once (Node http client) → 413', async () => {
    const r = await request(d.port, { body: pingOfSize(MiB + 1), headers: mcpHeaders(ro) }).catch((e) => ({ status: `no HTTP response (${e.code || e.message})` }));
    assert.equal(r.status, 413, `1 MiB + 1 body: ${fmt(r)}`);
  });

  T('Content-Length of 10 GiB is refused with 413 before the body arrives', async () => {
    const s = await connect(d.port);
    s.on('error', () => {});
    const w = watchClose(s, 5000);
    s.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n` +
      `Authorization: Bearer ${ro}\r\nContent-Length: 10737418240\r\n\r\n{"jsonrpc":`);
    const r = await w;
    s.destroy();
    assert.match(r.data, /^HTTP\/1\.[01] 413/, `10 GiB Content-Length: got ${JSON.stringify(r.data.slice(0, 300))} closed=${r.closed} after ${r.ms} ms`);
  });

  T('header block larger than 8 KiB → refused (431/400, or closed without an answer: lws 4.1, docs/design.md), never processed', async () => {
    const t0 = Date.now();
    const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { 'X-Pad': 'p'.repeat(9000) }), timeout: 5000 })
      .catch((e) => ({ status: `no HTTP response (${e.code || e.message})` }));
    const ms = Date.now() - t0;
    assert.ok(r.status === 431 || r.status === 400 || /^no HTTP response \((ECONNRESET|socket hang up)\)/.test(String(r.status)), `9000-byte header: ${fmt(r)}`);
    assert.ok(ms < 3000, `oversized header refused only after ${ms} ms`);
    expectResult(await rpc(d.port, ro, 'ping'), 'ping after oversized header');
  });

  T('chunked request body (over 1 MiB) → refused with 411 or 413, connection closed', async () => {
    const s = await connect(d.port);
    let data = '';
    let closed = false;
    s.on('data', (c) => { data += c.toString('latin1'); });
    s.on('error', () => {});
    const ended = new Promise((resolve) => s.on('close', () => { closed = true; resolve(); }));
    const write = (chunk) => new Promise((resolve) => s.write(chunk, () => resolve()));
    await write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n` +
      `Authorization: Bearer ${ro}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
    await sleep(200); // a server that refuses chunked uploads answers now
    const body = pingOfSize(MiB + 4096);
    for (let i = 0; i < body.length && !data && !closed; i += 65536) {
      const part = body.slice(i, i + 65536);
      await write(`${part.length.toString(16)}\r\n${part}\r\n`);
    }
    if (!data && !closed) await write('0\r\n\r\n');
    await Promise.race([ended, sleep(10000)]);
    s.destroy();
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
    assert.ok(m, `chunked oversized body: no HTTP response (closed=${closed})`);
    assert.ok(m[1] === '413' || m[1] === '411', `chunked oversized body: expected 413 (or 411 when chunked uploads are refused), got ${data.slice(0, 300)}`);
  });
});

describe('slow clients (header timeout 1 s, idle timeout 2 s)', () => {
  let d, ro;
  const T = (name, fn) => it(name, withDiag(() => d, fn));
  before(async () => {
    d = new Daemon({ env: { SYSTEMMANAGER_SERVER_HEADER_TIMEOUT: '1', SYSTEMMANAGER_SERVER_IDLE_TIMEOUT: '2' } });
    await d.start();
    ro = d.mint(['readonly']);
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  T('partial header then silence → server closes within ~header_timeout', async () => {
    const s = await connect(d.port);
    const w = watchClose(s, 6000);
    s.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl');
    const r = await w;
    s.destroy();
    assert.ok(r.closed, `server kept a half-sent header open for 6 s (header_timeout=1 s)`);
    assert.ok(r.ms < 4500, `server closed only after ${r.ms} ms (header_timeout=1 s)`);
    assert.ok(!/^HTTP\/1\.[01] 200/.test(r.data), `got 200 for a half request: ${r.data.slice(0, 200)}`);
  });

  T('slowloris: one header byte every 200 ms is still cut off by the header deadline', async () => {
    const s = await connect(d.port);
    s.on('error', () => {});
    const w = watchClose(s, 8000);
    const text = 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(200);
    let i = 0;
    const timer = setInterval(() => {
      if (i < text.length && !s.destroyed) s.write(text[i++]);
    }, 200);
    const r = await w;
    clearInterval(timer);
    s.destroy();
    assert.ok(r.closed, `dripping headers kept the connection open for 8 s (header_timeout=1 s)`);
    assert.ok(r.ms < 5000, `dripped connection closed only after ${r.ms} ms (header_timeout=1 s): the deadline must cover the whole header, not each byte`);
  });

  T('TCP connect with no bytes at all → closed within ~header_timeout', async () => {
    const s = await connect(d.port);
    const r = await watchClose(s, 6000);
    s.destroy();
    assert.ok(r.closed && r.ms < 4500, `silent connection: closed=${r.closed} after ${r.ms} ms`);
  });

  T('partial body then silence → closed (body stalls are bounded too)', async () => {
    const s = await connect(d.port);
    s.on('error', () => {});
    const w = watchClose(s, 8000);
    s.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: Bearer ${ro}\r\nContent-Length: 100\r\n\r\n{"jsonrpc"`);
    const r = await w;
    s.destroy();
    assert.ok(r.closed && r.ms < 7000, `stalled body: closed=${r.closed} after ${r.ms} ms (idle timeout 2 s)`);
  });

  T('idle keep-alive connection is closed after ~idle_timeout', async () => {
    const s = await connect(d.port);
    s.on('error', () => {});
    const body = JSON.stringify(rpcMsg('ping'));
    let got = '';
    const first = new Promise((resolve) => {
      s.on('data', (c) => { got += c.toString(); if (/\r\n\r\n[\s\S]*\}/.test(got)) resolve(); });
    });
    s.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n` +
      `Authorization: Bearer ${ro}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await Promise.race([first, sleep(3000)]);
    assert.match(got, /^HTTP\/1\.1 200/, `keep-alive ping: ${got.slice(0, 300)}`);
    const r = await watchClose(s, 8000);
    s.destroy();
    assert.ok(r.closed, 'idle keep-alive connection stayed open for 8 s (idle_timeout=2 s)');
    assert.ok(r.ms < 6000, `idle connection closed after ${r.ms} ms (idle_timeout=2 s)`);
  });

  T('a normal request still works after all that', async () => {
    expectResult(await rpc(d.port, ro, 'ping'), 'ping');
  });
});

describe('connection cap (max_connections = 8)', () => {
  let d, ro;
  const T = (name, fn) => it(name, withDiag(() => d, fn));
  before(async () => {
    d = new Daemon({ env: { SYSTEMMANAGER_SERVER_MAX_CONNECTIONS: '8', SYSTEMMANAGER_SERVER_IDLE_TIMEOUT: '30' } });
    await d.start();
    ro = d.mint(['readonly']);
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  T('8 WebSocket sessions are served, the 9th connection is refused, capacity comes back', async () => {
    await sleep(200); // let the readiness probe's connection go away
    const open = [];
    try {
      for (let i = 0; i < 8; i++) {
        const ws = new WebSocket(d.wsUrl, 'mcp', { headers: { Authorization: `Bearer ${ro}` } });
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', (e) => reject(new Error(`WebSocket #${i + 1} of 8 failed: ${e.message}`)));
          ws.once('unexpected-response', (_q, res) => reject(new Error(`WebSocket #${i + 1} of 8 got HTTP ${res.statusCode}`)));
        });
        open.push(ws);
      }
      // Ninth: an HTTP request on a new connection must not be served.
      const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro), timeout: 4000 })
        .then((x) => ({ status: x.status, text: x.text }), (e) => ({ error: e.code || e.message }));
      assert.ok(r.error || r.status === 503, `9th connection with 8 open (max_connections=8) was served: ${JSON.stringify(r).slice(0, 300)}`);
      // The open sessions still work.
      const ws0 = open[0];
      const reply = new Promise((resolve) => ws0.once('message', (m) => resolve(JSON.parse(m.toString()))));
      ws0.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
      const msg = await Promise.race([reply, sleep(3000).then(() => 'timeout')]);
      assert.deepEqual(msg, { jsonrpc: '2.0', id: 1, result: {} }, 'ping on an existing session while at the cap');
    } finally {
      for (const ws of open) ws.terminate();
    }
    // Capacity is released.
    let ok = false;
    let last;
    for (let i = 0; i < 30 && !ok; i++) {
      await sleep(100);
      last = await rpc(d.port, ro, 'ping').catch((e) => ({ status: e.code }));
      ok = last.status === 200;
    }
    assert.ok(ok, `after closing the 8 sessions a new request still fails: ${fmt(last)}`);
  });

  T('16 parallel short requests all succeed or are cleanly refused; none hang, daemon survives', async () => {
    const rs = await Promise.all(Array.from({ length: 16 }, () =>
      rpc(d.port, ro, 'ping', undefined, { timeout: 5000 }).then((r) => r.status, (e) => (/timed out/.test(e.message) ? 'timeout' : e.code || e.message))));
    assert.ok(!rs.includes('timeout') && rs.every((s) => s === 200 || s === 503 || typeof s === 'string'), `statuses: ${rs}`);
    assert.ok(rs.filter((s) => s === 200).length >= 1, `no request served: ${rs}`);
    await sleep(300);
    expectResult(await rpc(d.port, ro, 'ping'), 'ping after the burst');
  });
});

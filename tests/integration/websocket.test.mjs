// MCP over WebSocket on /mcp (SPEC §3: subprotocol "mcp", one JSON-RPC
// message per text frame, auth at the handshake, 1 MiB message limit).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, sleep } from './lib/daemon.mjs';
import { rpc } from './lib/http.mjs';
import { expectResult, withDiag } from './lib/check.mjs';
import { wsOpen, WsSession, wsDesc } from './lib/ws.mjs';
import { expiredToken } from './lib/token.mjs';

let d, ro;
const T = (name, fn) => it(name, withDiag(() => d, fn));
const init = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'ws-it', version: '1' } };

async function session(token = ro, { init = true, ...opts } = {}) {
  const r = await wsOpen(d.wsUrl, { token, ...opts });
  assert.ok(r.ws, `WebSocket handshake failed: ${wsDesc(r)}`);
  const s = new WsSession(r.ws);
  if (init) await s.initialize();
  return s;
}

describe('WebSocket transport', () => {
  before(async () => {
    d = new Daemon({});
    await d.start();
    ro = d.mint(['readonly'], { agent: 'ws-agent' });
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  T('handshake with Authorization + subprotocol mcp → 101, server selects "mcp"', async () => {
    const r = await wsOpen(d.wsUrl, { token: ro });
    assert.ok(r.ws, `handshake: ${wsDesc(r)}`);
    assert.equal(r.protocol, 'mcp', 'Sec-WebSocket-Protocol must be "mcp"');
    r.ws.close();
  });

  T('full lifecycle on one connection: initialize, initialized, tools/list, tools/call, ping', async () => {
    const s = await session(ro, { init: false });
    try {
      const i = await s.request('initialize', init);
      assert.equal(i.result?.protocolVersion, '2025-11-25', JSON.stringify(i));
      assert.equal(i.result?.serverInfo?.name, 'systemmanager', JSON.stringify(i));
      s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      const l = await s.request('tools/list', {});
      const names = (l.result?.tools || []).map((t) => t.name);
      assert.ok(names.includes('get_system_status') && names.includes('get_top_processes'), JSON.stringify(l).slice(0, 500));
      const c = await s.request('tools/call', { name: 'get_top_processes', arguments: { limit: 2 } });
      assert.equal(c.result?.isError, false, JSON.stringify(c).slice(0, 500));
      assert.ok(c.result.structuredContent, JSON.stringify(c).slice(0, 500));
      const p = await s.request('ping');
      assert.deepEqual(p, { jsonrpc: '2.0', id: p.id, result: {} });
      await sleep(100);
      assert.deepEqual(s.others.filter((m) => m && m.id !== undefined), [], `unsolicited responses (e.g. to the notification): ${JSON.stringify(s.others)}`);
    } finally { s.close(); }
  });

  T('several requests in flight on one connection are all answered, ids matched', async () => {
    const s = await session();
    try {
      const rs = await Promise.all([
        s.request('tools/call', { name: 'get_system_status', arguments: {} }, { id: 'a' }),
        s.request('ping', undefined, { id: 'b' }),
        s.request('tools/call', { name: 'get_top_processes', arguments: { limit: 1 } }, { id: 'c' }),
        s.request('tools/list', {}, { id: 'd' }),
      ]);
      assert.deepEqual(rs.map((m) => m.id), ['a', 'b', 'c', 'd']);
      for (const m of rs) assert.ok(m.result, JSON.stringify(m).slice(0, 300));
    } finally { s.close(); }
  });

  T('protocol errors over WS: parse error, batch, unknown method, unknown tool, bad args', async () => {
    const s = await session();
    try {
      const pe = await s.raw('{"jsonrpc":"2.0","id":1,"method":', null);
      assert.equal(pe.error?.code, -32700, JSON.stringify(pe));
      assert.equal(pe.id, null, JSON.stringify(pe));
      const batch = await s.raw('[{"jsonrpc":"2.0","id":2,"method":"ping"}]', null);
      assert.equal(batch.error?.code, -32600, `batch over WS: ${JSON.stringify(batch)}`);
      const um = await s.request('bogus/method', {});
      assert.equal(um.error?.code, -32601, JSON.stringify(um));
      const ut = await s.request('tools/call', { name: 'nope', arguments: {} });
      assert.equal(ut.error?.code, -32602, JSON.stringify(ut));
      const ba = await s.request('tools/call', { name: 'get_top_processes', arguments: { limit: 500 } });
      assert.equal(ba.result?.isError, true, JSON.stringify(ba));
      assert.match(JSON.stringify(ba.result.content), /limit/, JSON.stringify(ba));
      // connection still usable
      const p = await s.request('ping');
      assert.deepEqual(p.result, {});
    } finally { s.close(); }
  });

  T('scope enforcement over WS: network:read → -32003 with data.required_scopes', async () => {
    const s = await session(d.mint(['network:read'], { agent: 'ws-net' }));
    try {
      const r = await s.request('tools/call', { name: 'get_system_status', arguments: {} });
      assert.equal(r.error?.code, -32003, JSON.stringify(r));
      assert.equal(r.error?.data?.code, 'auth.insufficient_scope', JSON.stringify(r));
      assert.deepEqual(r.error?.data?.required_scopes, ['system:read'], JSON.stringify(r));
      const l = await s.request('tools/list', {});
      const names = (l.result?.tools || []).map((t) => t.name);
      assert.ok(!names.includes('get_system_status'), `network:read sees ${names}`);
    } finally { s.close(); }
  });

  T('no token at the handshake → HTTP 401 (no upgrade)', async () => {
    const r = await wsOpen(d.wsUrl, {});
    assert.equal(r.status, 401, `WS handshake without token: ${wsDesc(r)}`);
    assert.match(String(r.headers?.['www-authenticate']), /^Bearer\b/i, `WWW-Authenticate: ${JSON.stringify(r.headers)}`);
  });

  T('bad / expired token at the handshake → HTTP 401', async () => {
    const bad = await wsOpen(d.wsUrl, { token: ro.slice(0, -1) + (ro.endsWith('a') ? 'b' : 'a') });
    assert.equal(bad.status, 401, `bad signature: ${wsDesc(bad)}`);
    const exp = await wsOpen(d.wsUrl, { token: expiredToken(d.secret, { agent: 'ws-exp' }) });
    assert.equal(exp.status, 401, `expired: ${wsDesc(exp)}`);
  });

  T('?access_token= is refused when auth.allow_query_token is false (default)', async () => {
    const r = await wsOpen(`${d.wsUrl}?access_token=${ro}`, {});
    assert.equal(r.status, 401, `query token without allow_query_token: ${wsDesc(r)}`);
  });

  T('Origin: http://evil.example at the handshake → 403', async () => {
    const r = await wsOpen(d.wsUrl, { token: ro, headers: { Origin: 'http://evil.example' } });
    assert.equal(r.status, 403, `cross-origin WS handshake: ${wsDesc(r)}`);
  });

  T('handshake without the "mcp" subprotocol is not accepted as an MCP session', async () => {
    const r = await wsOpen(d.wsUrl, { token: ro, protocols: null });
    if (r.ws) {
      r.ws.terminate();
      assert.fail('server upgraded a WebSocket that did not offer subprotocol "mcp"');
    }
    assert.ok(r.status >= 400 || r.error, wsDesc(r));
  });

  T('handshake offering only another subprotocol is refused', async () => {
    const r = await wsOpen(d.wsUrl, { token: ro, protocols: 'graphql-ws' });
    if (r.ws) {
      const p = r.protocol;
      r.ws.terminate();
      assert.fail(`server upgraded with subprotocol "${p}" although only graphql-ws was offered`);
    }
  });

  T('message over 1 MiB → connection closed with 1009', async () => {
    const s = await session();
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { pad: 'x'.repeat(1024 * 1024) } } });
    assert.ok(big.length > 1024 * 1024);
    s.ws.on('error', () => {});
    s.send(big);
    const c = await Promise.race([s.closed, sleep(5000).then(() => null)]);
    if (!c) s.ws.terminate();
    assert.ok(c, 'connection still open 5 s after a >1 MiB message');
    assert.equal(c.code, 1009, `close code: ${JSON.stringify(c)}`);
  });

  T('a message just under 1 MiB is accepted', async () => {
    const s = await session();
    try {
      const head = '{"jsonrpc":"2.0","id":7,"method":"ping","params":{"_meta":{"pad":"';
      const tail = '"}}}';
      const msg = head + 'y'.repeat(1024 * 1024 - head.length - tail.length) + tail;
      assert.equal(msg.length, 1024 * 1024);
      const r = await s.raw(msg, 7);
      assert.deepEqual(r.result, {}, wsDesc(r));
    } finally { s.close(); }
  });

  T('binary frame → error or close, never executed', async () => {
    const s = await session();
    s.ws.on('error', () => {});
    s.ws.send(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'ping' })), { binary: true });
    let poll;
    const r = await Promise.race([
      s.closed.then((c) => ({ closed: c })),
      new Promise((resolve) => { poll = setInterval(() => { if (s.others.length) resolve({ msg: s.others[0] }); }, 10); }),
      sleep(3000).then(() => ({ timeout: true })),
    ]);
    clearInterval(poll);
    s.ws.terminate();
    if (r.msg) assert.ok(r.msg.error && !r.msg.result, `binary frame answered with a result: ${JSON.stringify(r.msg)}`);
    else if (r.closed) assert.ok([1003, 1007, 1008, 1002].includes(r.closed.code), `close code for binary frame: ${JSON.stringify(r.closed)}`);
    else assert.fail('binary frame: no error and no close within 3 s');
  });

  T('WS session and HTTP requests work side by side', async () => {
    const s = await session();
    try {
      assert.deepEqual((await s.request('ping')).result, {});
      expectResult(await rpc(d.port, ro, 'ping'), 'HTTP ping while a WS session is open');
      assert.deepEqual((await s.request('ping')).result, {});
    } finally { s.close(); }
  });
});

describe('WebSocket with auth.allow_query_token: true', () => {
  let dq;
  before(async () => {
    dq = new Daemon({ env: { SYSTEMMANAGER_AUTH_ALLOW_QUERY_TOKEN: 'true' } });
    await dq.start();
  });
  after(async () => { await dq?.stop(); dq?.cleanup(); });

  it('?access_token= and ?token= authenticate the handshake', withDiag(() => dq, async () => {
    const tok = dq.mint(['readonly'], { agent: 'ws-query' });
    for (const q of ['access_token', 'token']) {
      const r = await wsOpen(`${dq.wsUrl}?${q}=${encodeURIComponent(tok)}`, {});
      assert.ok(r.ws, `?${q}=: ${wsDesc(r)}`);
      const s = new WsSession(r.ws);
      await s.initialize();
      const c = await s.request('tools/call', { name: 'get_system_status', arguments: {} });
      assert.equal(c.result?.isError, false, JSON.stringify(c).slice(0, 300));
      s.close();
    }
  }));

  it('a bad query token is still refused with 401', withDiag(() => dq, async () => {
    const r = await wsOpen(`${dq.wsUrl}?access_token=${'x'.repeat(40)}.${'0'.repeat(64)}`, {});
    assert.equal(r.status, 401, wsDesc(r));
  }));
});

describe('WebSocket: approval by elicitation (approval.mode elicitation)', () => {
  let de;
  before(async () => {
    de = new Daemon({ env: {
      SYSTEMMANAGER_APPROVAL_MODE: 'elicitation',
      SYSTEMMANAGER_APPROVAL_REQUIRED_FOR: 'get_top_processes',
    } });
    await de.start();
  });
  after(async () => { await de?.stop(); de?.cleanup(); });

  it('the server asks over the socket; the answer with the same id decides; the call runs once', withDiag(() => de, async () => {
    const r = await wsOpen(de.wsUrl, { token: de.mint(['readonly'], { agent: 'ws-elicit' }) });
    assert.ok(r.ws, `handshake: ${wsDesc(r)}`);
    const s = new WsSession(r.ws);
    try {
      const i = await s.request('initialize', { protocolVersion: '2025-11-25', capabilities: { elicitation: { form: {} } }, clientInfo: { name: 'ws-elicit', version: '1' } });
      assert.ok(i.result, JSON.stringify(i));
      s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      const reply = s.request('tools/call', { name: 'get_top_processes', arguments: { limit: 2 } }, { timeout: 15000 });
      let ask;
      for (let t = 0; t < 100 && !ask; t++) {
        ask = s.others.find((m) => m?.method === 'elicitation/create');
        if (!ask) await sleep(50);
      }
      assert.ok(ask, `no elicitation/create: ${JSON.stringify(s.others)}`);
      assert.match(String(ask.id), /^sm-elicit-apr_/);
      assert.match(ask.params.message, /ws-elicit asks to run get_top_processes/);
      // A response with an unknown id changes nothing; then the real answer.
      s.send({ jsonrpc: '2.0', id: 'sm-elicit-apr_000000000000000000000000', result: { action: 'accept', content: { approve: true } } });
      s.send({ jsonrpc: '2.0', id: ask.id, result: { action: 'accept', content: { approve: true } } });
      const done = await reply;
      assert.equal(done.result?.isError, false, JSON.stringify(done));
    } finally { s.close(); }
  }));
});

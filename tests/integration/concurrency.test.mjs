// The execution model: a long tool never blocks the event loop; cancellation
// stops the work (and its child) and sends no response; progress
// notifications reach a client that asked for them; every tool has a timeout.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, sleep } from './lib/daemon.mjs';
import { rpc } from './lib/http.mjs';
import { wsOpen, WsSession } from './lib/ws.mjs';

let d, diag;

describe('execution model', () => {
  before(async () => {
    d = new Daemon({});
    await d.start();
    diag = d.mint(['readonly', 'network:diag']);
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  it('while a long ping runs, tools/list and get_system_status on other connections answer first', async () => {
    const order = [];
    const ping = rpc(d.port, diag, 'tools/call', { name: 'ping_host', arguments: { host: '127.0.0.1', count: 15 } }, { timeout: 30000 })
      .then((r) => { order.push('ping'); return r; });
    await sleep(300);
    const list = await rpc(d.port, diag, 'tools/list');
    order.push('tools/list');
    const status = await rpc(d.port, diag, 'tools/call', { name: 'get_system_status', arguments: {} });
    order.push('get_system_status');
    const p = await ping;
    assert.equal(list.status, 200, JSON.stringify(list.json));
    assert.ok(list.json.result.tools.length > 0);
    assert.equal(status.json.result.isError, false, JSON.stringify(status.json));
    assert.equal(p.json.result.isError, false, JSON.stringify(p.json).slice(0, 400));
    assert.equal(p.json.result.structuredContent.received, 15);
    assert.deepEqual(order, ['tools/list', 'get_system_status', 'ping'], `answers came in this order: ${order}${d.diag()}`);
  });

  it('notifications/cancelled stops a running ping: no response, its child is gone, the audit says cancelled', async () => {
    const w = await wsOpen(d.wsUrl, { token: diag });
    const s = new WsSession(w.ws);
    await s.initialize();
    const id = 'long-ping';
    const pending = s.request('tools/call', { name: 'ping_host', arguments: { host: '127.0.0.1', count: 20 } }, { id, timeout: 2500 })
      .then((m) => ({ answered: m }), (e) => ({ timeout: e.message }));
    await sleep(500);
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'test' } });
    const r = await pending;
    assert.ok(r.timeout, `a cancelled request must not be answered, got ${JSON.stringify(r.answered)}`);
    // The session still works.
    const pong = await s.request('ping', undefined, { timeout: 3000 });
    assert.deepEqual(pong.result, {});
    const result = d.audit().find((e) => e.event === 'tool.result' && e.rpc_id === undefined && e.tool === 'ping_host' && /cancel/.test(e.error || ''));
    assert.ok(result, `no tool.result with a cancellation error in the audit log${d.diag()}`);
    assert.ok(result.duration_ms < 3500, `the ping ran on for ${result.duration_ms} ms after being cancelled`);
    w.ws.close();
  });

  it('a progress token brings notifications/progress, one per ping reply, before the result', async () => {
    const w = await wsOpen(d.wsUrl, { token: diag });
    const s = new WsSession(w.ws);
    await s.initialize();
    const r = await s.request('tools/call', { name: 'ping_host', arguments: { host: '127.0.0.1', count: 3 }, _meta: { progressToken: 'p1' } }, { timeout: 15000 });
    assert.equal(r.result.isError, false, JSON.stringify(r));
    const progress = s.others.filter((m) => m && m.method === 'notifications/progress' && m.params.progressToken === 'p1');
    assert.equal(progress.length, 3, `progress notifications: ${JSON.stringify(s.others)}`);
    assert.ok(progress.every((m, i) => i === 0 || m.params.progress > progress[i - 1].params.progress), 'progress must increase');
    w.ws.close();
  });
});

describe('tool timeout', () => {
  let t;
  before(async () => {
    t = new Daemon({ env: { SYSTEMMANAGER_TOOLS_TIMEOUT: '1' } });
    await t.start();
  });
  after(async () => { await t?.stop(); t?.cleanup(); });

  it('a ping longer than tools.timeout stops early (partial replies or a timeout error), not after 20 replies', async () => {
    const tok = t.mint(['network:diag']);
    const r = await rpc(t.port, tok, 'tools/call', { name: 'ping_host', arguments: { host: '127.0.0.1', count: 20 } }, { timeout: 15000 });
    assert.equal(r.status, 200);
    const res = r.json.result;
    if (res.isError) assert.match(res.content[0].text, /timed out|timeout|deadline/i);
    else assert.ok(res.structuredContent.received < 20, `the ping ran to the end despite tools.timeout=1s: ${JSON.stringify(res.structuredContent).slice(0, 300)}`);
  });
});

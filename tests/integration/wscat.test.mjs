// wscat (the classic WebSocket CLI) against the daemon's /mcp WebSocket:
//   sleep 3 | wscat -c ws://127.0.0.1:PORT/mcp -s mcp -H "Authorization: Bearer T" -x '<json>' -w 1
// Quirk: wscat prints nothing if its stdin is closed (CI has no stdin), so a
// `sleep` is piped into it; on a refused handshake it prints
// "error: Unexpected server response: 401" and exits 255.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon } from './lib/daemon.mjs';
import { wscat, show } from './lib/clients.mjs';
import { withDiag } from './lib/check.mjs';

let d, ro;
const T = (name, fn) => it(name, withDiag(() => d, fn));
const INIT = ['-x', '{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"wscat","version":"6"}}}',
  '-x', '{"jsonrpc":"2.0","method":"notifications/initialized"}'];
const lines = (r) => r.stdout.split('\n').map((l) => l.replace(/^< /, '').trim()).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

describe('wscat', () => {
  before(async () => {
    d = new Daemon({});
    await d.start();
    ro = d.mint(['readonly'], { agent: 'wscat-agent' });
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  T('ping and tools/call over one wscat session', async () => {
    const r = await wscat(['-c', d.wsUrl, '-s', 'mcp', '-H', `Authorization: Bearer ${ro}`, ...INIT,
      '-x', '{"jsonrpc":"2.0","id":1,"method":"ping"}',
      '-x', '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_top_processes","arguments":{"limit":2}}}',
      '-w', '2']);
    assert.equal(r.code, 0, show(r));
    const msgs = lines(r);
    assert.equal(msgs.find((m) => m.id === 'init')?.result?.serverInfo?.name, 'systemmanager', show(r));
    const ping = msgs.find((m) => m.id === 1);
    assert.deepEqual(ping, { jsonrpc: '2.0', id: 1, result: {} }, show(r));
    const call = msgs.find((m) => m.id === 2);
    assert.equal(call?.result?.isError, false, show(r));
  });

  T('tools/list shows the system tools', async () => {
    const r = await wscat(['-c', d.wsUrl, '-s', 'mcp', '-H', `Authorization: Bearer ${ro}`, ...INIT, '-x', '{"jsonrpc":"2.0","id":"l","method":"tools/list"}', '-w', '1']);
    assert.equal(r.code, 0, show(r));
    const names = (lines(r).find((m) => m.id === 'l')?.result?.tools ?? []).map((t) => t.name);
    assert.ok(names.includes('get_system_status'), `${names}\n${show(r)}`);
  });

  T('malformed JSON over wscat → -32700, session stays usable', async () => {
    const r = await wscat(['-c', d.wsUrl, '-s', 'mcp', '-H', `Authorization: Bearer ${ro}`, ...INIT, '-x', '{not json', '-x', '{"jsonrpc":"2.0","id":3,"method":"ping"}', '-w', '1']);
    assert.equal(r.code, 0, show(r));
    const msgs = lines(r);
    assert.ok(msgs.some((m) => m.error?.code === -32700 && m.id === null), show(r));
    assert.ok(msgs.some((m) => m.id === 3 && m.result), show(r));
  });

  T('without a token: handshake refused with 401, wscat exits non-zero', async () => {
    const r = await wscat(['-c', d.wsUrl, '-s', 'mcp', '-x', '{"jsonrpc":"2.0","id":1,"method":"ping"}', '-w', '1']);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr + r.stdout, /401/, show(r));
  });
});

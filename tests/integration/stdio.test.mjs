// systemmanager-mcp --stdio, driven with raw newline-delimited JSON-RPC
// (SPEC §3: stdout carries only JSON-RPC, logs go to stderr; identity from
// SYSTEMMANAGER_TOKEN).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { DAEMON_BIN, stdioSetup, trackChild, sleep } from './lib/daemon.mjs';
import { expiredToken } from './lib/token.mjs';

class StdioProc {
  constructor(env) {
    this.p = trackChild(spawn(DAEMON_BIN, ['--stdio'], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
    this.stderr = '';
    this.lines = [];
    this.waiters = [];
    this.p.stderr.setEncoding('utf8');
    this.p.stderr.on('data', (c) => { this.stderr += c; });
    this.p.stdin.on('error', () => {});
    this.exited = null;
    this.exit = new Promise((resolve) => this.p.on('exit', (code, signal) => { this.exited = { code, signal }; resolve({ code, signal }); for (const w of [...this.waiters]) w(); }));
    readline.createInterface({ input: this.p.stdout }).on('line', (l) => {
      this.lines.push(l);
      for (const w of [...this.waiters]) w();
    });
  }
  send(obj) { this.p.stdin.write((typeof obj === 'string' ? obj : JSON.stringify(obj)) + '\n'); }
  // Waits for a stdout line whose parsed JSON satisfies pred.
  async waitFor(pred, timeout = 10000, what = 'a response') {
    const t0 = Date.now();
    for (;;) {
      for (const l of this.lines) {
        let m;
        try { m = JSON.parse(l); } catch { continue; }
        if (pred(m)) return m;
      }
      if (this.exited) {
        await sleep(50); // let readline deliver the last lines
        for (const l of this.lines) { try { const m = JSON.parse(l); if (pred(m)) return m; } catch { /* not JSON */ } }
        throw new Error(`no ${what}: process exited ${JSON.stringify(this.exited)}; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr.slice(-3000)}`);
      }
      if (Date.now() - t0 > timeout) throw new Error(`no ${what} on stdout within ${timeout} ms; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr.slice(-3000)}`);
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, 100); });
      this.waiters = [];
    }
  }
  async request(id, method, params) {
    const m = { jsonrpc: '2.0', id, method };
    if (params !== undefined) m.params = params;
    this.send(m);
    return this.waitFor((x) => x.id === id, 10000, `response id ${id}`);
  }
  async initialize() {
    const r = await this.request('init', 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    if (!r.result) throw new Error(`initialize failed: ${JSON.stringify(r)}${this.diag()}`);
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return r.result;
  }
  async close() {
    try { this.p.stdin.end(); } catch { /* ignore */ }
    const r = await Promise.race([this.exit, sleep(5000).then(() => null)]);
    if (!r) { this.p.kill('SIGKILL'); return { code: null, signal: 'SIGKILL', hung: true }; }
    return r;
  }
  diag() { return `\n--- stdout ---\n${this.lines.join('\n')}\n--- stderr ---\n${this.stderr.slice(-3000)}`; }
}

describe('--stdio transport (raw)', () => {
  let sd;
  before(() => { sd = stdioSetup(); });
  after(() => sd?.cleanup());

  it('initialize, tools/list, tools/call, ping; stdout is pure JSON-RPC; EOF on stdin → exit 0', async () => {
    const s = new StdioProc({ ...sd.env, SYSTEMMANAGER_TOKEN: sd.mint(['readonly'], { agent: 'stdio-raw' }) });
    try {
      const i = await s.request(1, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
      assert.equal(i.result?.protocolVersion, '2025-11-25', s.diag());
      assert.equal(i.result?.serverInfo?.name, 'systemmanager', s.diag());
      s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      const l = await s.request(2, 'tools/list', {});
      const names = (l.result?.tools ?? []).map((t) => t.name);
      assert.ok(names.includes('get_system_status') && names.includes('get_top_processes'), s.diag());
      const c = await s.request(3, 'tools/call', { name: 'get_top_processes', arguments: { limit: 2 } });
      assert.equal(c.result?.isError, false, s.diag());
      const p = await s.request('p', 'ping');
      assert.deepEqual(p, { jsonrpc: '2.0', id: 'p', result: {} });
      const e = await s.request(4, 'no/such', {});
      assert.equal(e.error?.code, -32601, s.diag());
      const u = await s.request(5, 'tools/call', { name: 'nope', arguments: {} });
      assert.equal(u.error?.code, -32602, s.diag());
      s.send('{"jsonrpc":"2.0","id":6,"method":');
      const pe = await s.waitFor((m) => m.error?.code === -32700, 5000, 'parse error');
      assert.equal(pe.id, null, s.diag());
      s.send('[{"jsonrpc":"2.0","id":7,"method":"ping"}]');
      const b = await s.waitFor((m) => m.error?.code === -32600, 5000, 'batch rejection');
      assert.ok(b, s.diag());
      const after = await s.request(8, 'ping');
      assert.deepEqual(after.result, {}, 'stdio session must survive protocol errors');
      const r = await s.close();
      assert.equal(r.code, 0, `exit after EOF on stdin: ${JSON.stringify(r)}${s.diag()}`);
      for (const line of s.lines) {
        let m;
        assert.doesNotThrow(() => { m = JSON.parse(line); }, `non-JSON line on stdout: ${line}`);
        assert.equal(m.jsonrpc, '2.0', `stdout line is not JSON-RPC: ${line}`);
      }
      assert.ok(!s.lines.some((l) => l.includes('notifications/initialized')), 'no reply to a notification');
    } finally { await s.close(); }
  });

  it('network:read token: system tools are hidden and refused with -32003', async () => {
    const s = new StdioProc({ ...sd.env, SYSTEMMANAGER_TOKEN: sd.mint(['network:read'], { agent: 'stdio-net' }) });
    try {
      await s.initialize();
      const l = await s.request(1, 'tools/list', {});
      assert.ok(!(l.result?.tools ?? []).some((t) => t.name === 'get_system_status'), s.diag());
      const c = await s.request(2, 'tools/call', { name: 'get_system_status', arguments: {} });
      assert.equal(c.error?.code, -32003, s.diag());
      assert.deepEqual(c.error?.data?.required_scopes, ['system:read'], s.diag());
      assert.equal(c.error?.data?.code, 'auth.insufficient_scope', s.diag());
    } finally { await s.close(); }
  });

  it('invalid or expired SYSTEMMANAGER_TOKEN never runs a tool (error responses or non-zero exit)', async () => {
    const good = sd.mint(['readonly']);
    const badSig = good.slice(0, -1) + (good.endsWith('0') ? '1' : '0');
    for (const [label, tok] of [['bad signature', badSig], ['expired', expiredToken(sd.secret, { agent: 'stdio-exp' })]]) {
      const s = new StdioProc({ ...sd.env, SYSTEMMANAGER_TOKEN: tok });
      try {
        s.send({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
        s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        s.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_system_status', arguments: {} } });
        const r = await Promise.race([
          s.waitFor((m) => m.id === 1, 5000, 'response').then((m) => ({ m }), () => ({ none: true })),
          s.exit.then((x) => ({ exit: x })),
        ]);
        if (r.m) {
          assert.ok(r.m.error, `${label} token: tools/call answered with a result: ${JSON.stringify(r.m)}`);
          assert.ok([-32001, -32003].includes(r.m.error.code), `${label} token: error code ${JSON.stringify(r.m.error)}`);
        } else if (r.exit) {
          assert.notEqual(r.exit.code, 0, `${label} token: exited 0${s.diag()}`);
          assert.ok(s.stderr.length > 0, `${label} token: exited silently; stderr should say why`);
        } else {
          assert.fail(`${label} token: neither an error response nor an exit${s.diag()}`);
        }
        assert.ok(!s.stderr.includes(tok), `${label} token: the token appears on stderr`);
      } finally { await s.close(); }
    }
  });

  it('stdio writes audit lines too (tool.call / tool.result)', async () => {
    const s = new StdioProc({ ...sd.env, SYSTEMMANAGER_TOKEN: sd.mint(['readonly'], { agent: 'stdio-audit' }) });
    try {
      await s.initialize();
      const c = await s.request(1, 'tools/call', { name: 'get_system_status', arguments: {} });
      assert.equal(c.result?.isError, false, s.diag());
    } finally { await s.close(); }
    const fs = await import('node:fs');
    const lines = fs.existsSync(sd.auditLog) ? fs.readFileSync(sd.auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
    const mine = lines.filter((e) => e.subject === 'stdio-audit');
    assert.ok(mine.some((e) => e.event === 'tool.call' && e.tool === 'get_system_status' && e.decision === 'allowed'), `audit: ${JSON.stringify(lines).slice(0, 1500)}`);
    assert.ok(mine.some((e) => e.event === 'tool.result' && e.tool === 'get_system_status' && e.result_status === 'success'), `audit: ${JSON.stringify(lines).slice(0, 1500)}`);
  });

  it('--stdio works with the TCP listener disabled (SYSTEMMANAGER_SERVER_PORT=0)', async () => {
    const s = new StdioProc({ ...sd.env, SYSTEMMANAGER_SERVER_PORT: '0', SYSTEMMANAGER_TOKEN: sd.mint(['readonly']) });
    try {
      const p = await s.request(1, 'ping');
      assert.deepEqual(p.result, {}, s.diag());
    } finally { await s.close(); }
  });

  it('--stdio does not open the HTTP listener', async () => {
    const net = await import('node:net');
    const { freePort } = await import('./lib/daemon.mjs');
    const port = await freePort();
    const s = new StdioProc({ ...sd.env, SYSTEMMANAGER_SERVER_PORT: String(port), SYSTEMMANAGER_TOKEN: sd.mint(['readonly']) });
    try {
      assert.deepEqual((await s.request(1, 'ping')).result, {}, s.diag());
      const connected = await new Promise((resolve) => {
        const c = net.connect({ port, host: '127.0.0.1' });
        c.once('connect', () => { c.destroy(); resolve(true); });
        c.once('error', () => resolve(false));
      });
      assert.equal(connected, false, `--stdio process is listening on 127.0.0.1:${port}`);
    } finally { await s.close(); }
  });
});

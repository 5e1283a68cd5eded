// Starts the real systemmanager-mcp daemon for a test: env-only config, a
// free loopback port, a private state dir under $TMPDIR; waits for /healthz;
// keeps its stderr so a failing test can show it; kills it on teardown and
// on process exit (never leaves processes behind).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomSecret, mintToken } from './token.mjs';

export const BUILD_DIR = process.env.SM_BUILD_DIR || '';
export const DAEMON_BIN = BUILD_DIR && path.join(BUILD_DIR, 'systemmanager-mcp');
export const CTL_BIN = BUILD_DIR && path.join(BUILD_DIR, 'systemmanagerctl');

const live = new Set();
function killAll() {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killAll(); process.exit(130); });
}

export function requireBinaries() {
  if (!BUILD_DIR) throw new Error('SM_BUILD_DIR is not set (directory holding systemmanager-mcp and systemmanagerctl)');
  for (const b of [DAEMON_BIN, CTL_BIN]) {
    if (!fs.existsSync(b)) throw new Error(`missing binary ${b}: build the project first`);
  }
}

export function tmpDir(prefix = 'sm-it-') {
  return fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), prefix));
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One GET with no keep-alive; resolves {status, body} or rejects.
export function httpGet(port, p, { headers = {}, timeout = 2000, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: p, method: 'GET', headers, agent: false, timeout }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

// Base environment for the daemon: only what we set plus PATH/HOME/locale.
export function baseEnv(stateDir, extra = {}) {
  const env = {
    PATH: process.env.PATH,
    HOME: stateDir,
    LANG: 'C',
    TMPDIR: process.env.TMPDIR || os.tmpdir(),
    SYSTEMMANAGER_STATE_DIR: stateDir,
    SYSTEMMANAGER_AUDIT_LOG: path.join(stateDir, 'audit.log'),
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined || v === null) delete env[k];
  return env;
}

export class Daemon {
  constructor(opts) {
    this.opts = opts;
    this.stderr = '';
    this.stdout = '';
    this.exitCode = undefined;
    this.exitSignal = undefined;
  }

  get url() { return `http://127.0.0.1:${this.port}/mcp`; }
  get base() { return `http://127.0.0.1:${this.port}`; }
  get wsUrl() { return `ws://127.0.0.1:${this.port}/mcp`; }
  get auditLog() { return this.env.SYSTEMMANAGER_AUDIT_LOG || path.join(this.opts.cwd || this.stateDir, 'var', 'audit.log'); }

  mint(scopes = ['readonly'], opts = {}) {
    return mintToken(this.secret, { scopes, ...opts });
  }

  auditLines() {
    if (!fs.existsSync(this.auditLog)) return [];
    return fs.readFileSync(this.auditLog, 'utf8').split('\n').filter(Boolean);
  }

  audit() {
    return this.auditLines().map((l) => JSON.parse(l));
  }

  // Text to append to assertion messages.
  diag() {
    const tail = this.stderr.length > 6000 ? '...' + this.stderr.slice(-6000) : this.stderr;
    return `\n--- daemon (port ${this.port}, exit ${this.exitCode ?? '-'}${this.exitSignal ? ' ' + this.exitSignal : ''}) stderr ---\n${tail}\n--- end stderr ---`;
  }

  async start() {
    requireBinaries();
    const o = this.opts;
    for (let attempt = 0; attempt < 3; attempt++) {
      this.stateDir = o.stateDir || tmpDir();
      this.secret = o.secret === undefined ? randomSecret() : o.secret;
      this.port = o.port || (await freePort());
      const extra = {
        SYSTEMMANAGER_SERVER_HOST: '127.0.0.1',
        SYSTEMMANAGER_SERVER_PORT: String(this.port),
        SYSTEMMANAGER_SHARED_SECRET: this.secret || undefined,
        ...(o.env || {}),
      };
      // bareEnv: only PATH/HOME/LANG + SERVER_PORT + o.env (for --dev, which
      // must find its own defaults under ./var).
      this.env = o.bareEnv
        ? { PATH: process.env.PATH, HOME: this.stateDir, LANG: 'C', SYSTEMMANAGER_SERVER_PORT: String(this.port), ...(o.env || {}) }
        : baseEnv(this.stateDir, extra);
      this.stderr = '';
      this.exitCode = undefined;
      this.proc = spawn(DAEMON_BIN, o.args || [], {
        cwd: o.cwd || this.stateDir,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      live.add(this.proc);
      this.exited = new Promise((resolve) => {
        this.proc.on('exit', (code, signal) => {
          this.exitCode = code;
          this.exitSignal = signal;
          live.delete(this.proc);
          resolve({ code, signal });
        });
      });
      this.proc.stderr.setEncoding('utf8');
      this.proc.stderr.on('data', (c) => { if (this.stderr.length < 1e6) this.stderr += c; });
      this.proc.stdout.setEncoding('utf8');
      this.proc.stdout.on('data', (c) => { if (this.stdout.length < 1e6) this.stdout += c; });
      this.proc.on('error', (e) => { this.stderr += `\n[spawn error] ${e.message}\n`; });

      const deadline = Date.now() + (o.readyTimeoutMs || 10000);
      while (Date.now() < deadline) {
        if (this.exitCode !== undefined || this.exitSignal) break;
        try {
          const r = await httpGet(this.port, '/healthz', { timeout: 500 });
          if (r.status === 200) return this;
        } catch { /* not up yet */ }
        await sleep(50);
      }
      if (this.exitCode === undefined && !this.exitSignal) {
        await this.stop();
        throw new Error(`daemon did not answer GET /healthz 200 within ${o.readyTimeoutMs || 10000} ms${this.diag()}`);
      }
      // Exited early: maybe the port was taken between freePort() and bind.
      if (/in use|EADDRINUSE|bind/i.test(this.stderr) && !o.port && attempt < 2) continue;
      throw new Error(`daemon exited before ready (code ${this.exitCode}, signal ${this.exitSignal})${this.diag()}`);
    }
    throw new Error('daemon failed to start');
  }

  // SIGTERM, then SIGKILL after graceMs. Resolves the exit info.
  async stop(graceMs = 5000) {
    if (!this.proc || this.exitCode !== undefined || this.exitSignal) return this.exited;
    try { this.proc.kill('SIGTERM'); } catch { /* gone */ }
    const t = setTimeout(() => { try { this.proc.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  cleanup() {
    if (this.stateDir && !this.opts.keepState) {
      try { fs.rmSync(this.stateDir, { recursive: true, force: true }); } catch { /* ignore */ }
    }
  }
}

// Starts a daemon and registers teardown with the given node:test context
// (or the suite's after hook when ctx is omitted).
export async function startDaemon(opts = {}, ctx) {
  const d = new Daemon(opts);
  await d.start();
  if (ctx) {
    ctx.after(async () => {
      await d.stop();
      d.cleanup();
    });
  }
  return d;
}

// Runs fn(daemon) and always tears the daemon down; on failure appends the
// daemon's stderr to the error message.
export async function withDaemon(opts, fn) {
  const d = new Daemon(opts);
  await d.start();
  try {
    return await fn(d);
  } catch (e) {
    if (e && typeof e === 'object' && typeof e.message === 'string' && !e.message.includes('--- daemon')) {
      try { e.message += d.diag(); } catch { /* read-only message */ }
    }
    throw e;
  } finally {
    await d.stop();
    d.cleanup();
  }
}

// Spawns a child process with a hard timeout; resolves {code, signal, stdout, stderr}.
// stdin: 'ignore' by default (CI has no stdin), or a string to write then close.
export function run(cmd, args, { env, cwd, timeoutMs = 30000, input } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    live.add(p);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stdout.on('data', (c) => { stdout += c; });
    p.stderr.on('data', (c) => { stderr += c; });
    if (input !== undefined) { p.stdin.on('error', () => {}); p.stdin.end(input); }
    const t = setTimeout(() => { timedOut = true; try { p.kill('SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    p.on('error', (e) => { stderr += `\n[spawn error] ${e.message}`; });
    p.on('close', (code, signal) => {
      clearTimeout(t);
      live.delete(p);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

export function trackChild(p) {
  live.add(p);
  p.on('exit', () => live.delete(p));
  return p;
}

// Environment for `systemmanager-mcp --stdio` runs: own state dir, secret,
// audit log. No server.* settings: stdio mode must not need or open a
// listener. mint() makes tokens for it.
export function stdioSetup({ env = {}, secret } = {}) {
  requireBinaries();
  const stateDir = tmpDir('sm-it-stdio-');
  const s = secret ?? randomSecret();
  const e = baseEnv(stateDir, {
    SYSTEMMANAGER_SHARED_SECRET: s,
    ...env,
  });
  return {
    stateDir,
    secret: s,
    env: e,
    auditLog: e.SYSTEMMANAGER_AUDIT_LOG,
    mint: (scopes = ['readonly'], opts = {}) => mintToken(s, { scopes, ...opts }),
    cleanup: () => { try { fs.rmSync(stateDir, { recursive: true, force: true }); } catch { /* ignore */ } },
    diag: () => '',
  };
}

// Local addresses (hex, as in /proc/net/tcp{,6}) of LISTEN sockets on `port`.
// 0100007F = 127.0.0.1; 00000000 = 0.0.0.0; 32 zeros = [::];
// 00000000000000000000000001000000 = [::1].
export function listenAddrs(port) {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const out = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(f)) continue;
    for (const line of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue; // LISTEN
      const [addr, p] = cols[1].split(':');
      if (p === portHex) out.push(addr);
    }
  }
  return out;
}
export const LOOPBACK_HEX = ['0100007F', '00000000000000000000000001000000'];

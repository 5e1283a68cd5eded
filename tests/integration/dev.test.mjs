// `systemmanager-mcp --dev`: the zero-config quick start (SPEC §2). Runs in a
// private cwd (state under ./var) on a free port (env override), and checks
// that what it prints really works: the readonly token, the curl line, the
// Inspector line, and the ctl mint line with --secret-file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Daemon, CTL_BIN, run, sleep, listenAddrs, LOOPBACK_HEX } from './lib/daemon.mjs';
import { request, rpc, callTool } from './lib/http.mjs';
import { inspector, show, stdoutJson } from './lib/clients.mjs';
import { hmacHex } from './lib/token.mjs';
import { withDiag, expectResult, fmt } from './lib/check.mjs';

let d;
let out;
const T = (name, fn) => it(name, withDiag(() => d, fn));

describe('--dev quick start', () => {
  before(async () => {
    d = new Daemon({ args: ['--dev'], secret: '', bareEnv: true });
    await d.start();
    // stdout is printed right after listening; give it a moment.
    for (let i = 0; i < 40 && !/export TOKEN=/.test(d.stdout); i++) await sleep(50);
    out = d.stdout;
  });
  after(async () => { await d?.stop(); d?.cleanup(); });

  const token = () => {
    const m = /export TOKEN='([^']+)'/.exec(out);
    assert.ok(m, `--dev did not print "export TOKEN='...'":\n${out}`);
    return m[1];
  };

  T('prints the listen URL, a readonly token and copy-paste client commands', async () => {
    assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${d.port}/mcp`), out);
    assert.match(out, /curl /, out);
    assert.match(out, /@modelcontextprotocol\/inspector/, out);
    assert.match(out, /systemmanagerctl token mint/, out);
    token();
  });

  T('state lives under ./var with private permissions', async () => {
    const v = path.join(d.stateDir, 'var');
    assert.ok(fs.existsSync(v), `no ./var in ${d.stateDir}`);
    assert.equal(fs.statSync(v).mode & 0o077, 0, `./var mode ${(fs.statSync(v).mode & 0o777).toString(8)}`);
    const sec = path.join(v, 'secret');
    assert.ok(fs.existsSync(sec), 'no ./var/secret');
    assert.equal(fs.statSync(sec).mode & 0o077, 0, `secret mode ${(fs.statSync(sec).mode & 0o777).toString(8)}`);
    const secret = fs.readFileSync(sec, 'utf8').trim();
    assert.ok(Buffer.byteLength(secret) >= 32, 'generated secret shorter than 32 bytes');
    // The printed token is signed with that secret (checked independently).
    const [p, s] = token().split('.');
    assert.equal(s, hmacHex(secret, p), 'printed token is not HMAC(secret file, payload)');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    assert.deepEqual(claims.scopes, ['readonly'], `printed token scopes: ${JSON.stringify(claims)}`);
    assert.ok(!d.stderr.includes(secret), 'secret printed on stderr');
  });

  T('the printed token works (the curl request of the banner)', async () => {
    const r = await callTool(d.port, token(), 'get_system_status', {});
    assert.equal(expectResult(r, 'banner curl request').isError, false, fmt(r));
  });

  T('the printed token is readonly: tools/list shows only read tools', async () => {
    const r = await rpc(d.port, token(), 'tools/list', {});
    const tools = expectResult(r, 'tools/list').tools;
    for (const t of tools) assert.equal(t.annotations?.readOnlyHint, true, `readonly token sees non-read-only tool ${t.name}`);
  });

  T('the printed Inspector command works', async () => {
    const r = await inspector([d.url, '--transport', 'http', '--method', 'tools/list', '--header', `Authorization: Bearer ${token()}`, '--format', 'json']);
    assert.equal(r.code, 0, show(r));
    assert.ok((stdoutJson(r)?.result?.tools ?? []).some((t) => t.name === 'get_system_status'), show(r));
  });

  T('the printed ctl mint line (--secret-file ./var/secret) makes tokens the daemon accepts', async () => {
    const m = /systemmanagerctl token mint (.*)$/m.exec(out);
    assert.ok(m, out);
    const args = m[1].trim().split(/\s+/).map((a) => a === 'NAME' ? 'dev-minted' : a);
    const r = await run(CTL_BIN, ['token', 'mint', ...args, '--json'], { timeoutMs: 10000, env: { PATH: process.env.PATH, HOME: d.stateDir }, cwd: d.stateDir });
    assert.equal(r.code, 0, `${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const tok = JSON.parse(r.stdout).token;
    const w = await request(d.port, { method: 'GET', path: '/whoami', headers: { Authorization: `Bearer ${tok}` } });
    assert.equal(w.status, 200, fmt(w));
    assert.equal(w.json?.subject, 'dev-minted', fmt(w));
  });

  T('--dev listens on loopback only (/proc/net/tcp, tcp6)', async () => {
    const listeners = listenAddrs(d.port);
    assert.ok(listeners.length >= 1, `no listener found for port ${d.port}`);
    for (const a of listeners) {
      assert.ok(LOOPBACK_HEX.includes(a), `--dev listens on a non-loopback address (${a}, /proc/net/tcp hex; all zeros = wildcard) for port ${d.port}`);
    }
  });
});

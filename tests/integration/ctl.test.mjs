// systemmanagerctl token mint / verify (SPEC §2), cross-checked with our own
// independent verifier and with the running daemon.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, CTL_BIN, run, tmpDir } from './lib/daemon.mjs';
import { request, callTool } from './lib/http.mjs';
import { hmacHex, mintToken, expiredToken, randomSecret } from './lib/token.mjs';
import { withDiag, expectResult, fmt } from './lib/check.mjs';
import fs from 'node:fs';

let d;
let home;
const T = (name, fn) => it(name, withDiag(() => d, fn));
const ctl = (args, { secret, input, env = {} } = {}) => run(CTL_BIN, args, {
  timeoutMs: 10000,
  input,
  env: { PATH: process.env.PATH, HOME: home, LANG: 'C', SYSTEMMANAGER_SHARED_SECRET: secret ?? d.secret, SYSTEMMANAGER_STATE_DIR: d.stateDir, ...env },
});
const show = (r) => `exit=${r.code}${r.timedOut ? ' TIMEOUT' : ''}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;

// Our own verification of a ctl-minted token: shape, signature, claims.
function verifyIndependently(token, secret) {
  const m = /^([A-Za-z0-9_-]+)\.([0-9a-f]{64})$/.exec(token);
  assert.ok(m, `token shape must be base64url_nopad "." 64 lower-case hex: ${token}`);
  assert.equal(m[2], hmacHex(secret, m[1]), 'HMAC-SHA256(secret, payload) mismatch: ctl and spec disagree');
  const claims = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8'));
  assert.ok(claims && typeof claims === 'object' && !Array.isArray(claims), `claims must be a JSON object: ${JSON.stringify(claims)}`);
  assert.equal(Buffer.from(m[1], 'base64url').toString('base64url'), m[1], 'payload must be canonical unpadded base64url');
  return claims;
}

describe('systemmanagerctl token', () => {
  before(async () => {
    d = new Daemon({});
    await d.start();
    home = tmpDir('sm-it-ctlhome-');
  });
  after(async () => { await d?.stop(); d?.cleanup(); fs.rmSync(home, { recursive: true, force: true }); });

  T('mint --agent A --scopes readonly --ttl 1h --json → token our verifier accepts', async () => {
    const r = await ctl(['token', 'mint', '--agent', 'ctl-agent', '--scopes', 'readonly', '--ttl', '1h', '--json']);
    assert.equal(r.code, 0, show(r));
    let j;
    assert.doesNotThrow(() => { j = JSON.parse(r.stdout); }, `--json output is not JSON: ${show(r)}`);
    assert.equal(typeof j.token, 'string', show(r));
    const c = verifyIndependently(j.token, d.secret);
    assert.equal(c.agent, 'ctl-agent');
    assert.ok(Array.isArray(c.scopes) && (c.scopes.includes('readonly') || c.scopes.includes('system:read')), `scopes claim: ${JSON.stringify(c)}`);
    assert.equal(c.exp - c.iat, 3600, `exp - iat for --ttl 1h: ${JSON.stringify(c)}`);
    assert.ok(Math.abs(c.iat - Date.now() / 1000) < 60, `iat is now: ${c.iat}`);
    assert.equal(typeof c.jti, 'string');
    assert.ok(c.jti.length >= 16, `jti too short: ${c.jti}`);
    // The mint output also reports expiry and expanded scopes (SPEC §2).
    assert.ok(JSON.stringify(j).includes('system:read'), `expanded scopes missing from mint output: ${r.stdout}`);
  });

  T('a ctl-minted token works against the daemon (whoami + tools/call)', async () => {
    const r = await ctl(['token', 'mint', '--agent', 'ctl-live', '--scopes', 'readonly', '--ttl', '30m', '--json']);
    assert.equal(r.code, 0, show(r));
    const tok = JSON.parse(r.stdout).token;
    const w = await request(d.port, { method: 'GET', path: '/whoami', headers: { Authorization: `Bearer ${tok}` } });
    assert.equal(w.status, 200, fmt(w));
    assert.equal(w.json?.subject, 'ctl-live', fmt(w));
    const c = await callTool(d.port, tok, 'get_system_status', {});
    assert.equal(expectResult(c, 'tools/call with ctl token').isError, false);
  });

  T('two mints differ in jti', async () => {
    const a = await ctl(['token', 'mint', '--agent', 'x', '--scopes', 'readonly', '--ttl', '1h', '--json']);
    const b = await ctl(['token', 'mint', '--agent', 'x', '--scopes', 'readonly', '--ttl', '1h', '--json']);
    const ja = verifyIndependently(JSON.parse(a.stdout).token, d.secret).jti;
    const jb = verifyIndependently(JSON.parse(b.stdout).token, d.secret).jti;
    assert.notEqual(ja, jb);
  });

  T('token verify --token T: exit 0 for a good token (ours and ctl\'s)', async () => {
    const ours = mintToken(d.secret, { agent: 'ver-ok', scopes: ['readonly'] });
    const r = await ctl(['token', 'verify', '--token', ours]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /ver-ok/, `verify should print the claims: ${show(r)}`);
    assert.ok(!r.stdout.includes(ours) && !r.stderr.includes(ours), 'verify echoed the token');
  });

  T('token verify reads the token from stdin', async () => {
    const ours = mintToken(d.secret, { agent: 'ver-stdin', scopes: ['readonly'] });
    const r = await ctl(['token', 'verify'], { input: ours + '\n' });
    assert.equal(r.code, 0, show(r));
  });

  T('token verify: exit 1 with a reason for bad signature, foreign secret, expired, garbage', async () => {
    const good = mintToken(d.secret, { agent: 'ver-bad' });
    const cases = [
      ['bad signature', good.slice(0, -1) + (good.endsWith('0') ? '1' : '0'), /signature|invalid/i],
      ['foreign secret', mintToken(randomSecret(), { agent: 'ver-bad' }), /signature|invalid/i],
      ['expired', expiredToken(d.secret, { agent: 'ver-exp' }), /expired/i],
      ['garbage', 'not-a-token', /invalid|malformed|format/i],
    ];
    for (const [label, tok, why] of cases) {
      const r = await ctl(['token', 'verify', '--token', tok]);
      assert.equal(r.code, 1, `${label}: ${show(r)}`);
      assert.match(r.stdout + r.stderr, why, `${label}: reason: ${show(r)}`);
    }
  });

  T('mint refuses bad input: TTL > 30d, TTL < 1m, unknown scope (exit 1 or 2), missing --agent (exit 2)', async () => {
    for (const [label, args] of [
      ['ttl 31d', ['--agent', 'a', '--scopes', 'readonly', '--ttl', '31d']],
      ['ttl 30s', ['--agent', 'a', '--scopes', 'readonly', '--ttl', '30s']],
      ['unknown scope', ['--agent', 'a', '--scopes', 'bogus:scope', '--ttl', '1h']],
      ['bad ttl', ['--agent', 'a', '--scopes', 'readonly', '--ttl', 'soon']],
    ]) {
      const r = await ctl(['token', 'mint', ...args, '--json']);
      assert.ok(r.code === 1 || r.code === 2, `${label}: expected exit 1/2, ${show(r)}`);
      assert.ok(!/"token"/.test(r.stdout), `${label}: printed a token anyway: ${show(r)}`);
    }
    const r = await ctl(['token', 'mint', '--scopes', 'readonly', '--ttl', '1h']);
    assert.equal(r.code, 2, `missing --agent is a usage error: ${show(r)}`);
  });

  T('mint without a configured secret fails (exit 1), does not invent one', async () => {
    const r = await run(CTL_BIN, ['token', 'mint', '--agent', 'a', '--scopes', 'readonly', '--ttl', '1h', '--json'], {
      timeoutMs: 10000, env: { PATH: process.env.PATH, HOME: home, SYSTEMMANAGER_STATE_DIR: d.stateDir, SYSTEMMANAGER_CONFIG: '/nonexistent' },
    });
    assert.notEqual(r.code, 0, show(r));
  });

  T('--help for ctl and subcommands exits 0; unknown subcommand exits 2', async () => {
    for (const args of [['--help'], ['token', '--help'], ['token', 'mint', '--help'], ['token', 'verify', '--help']]) {
      const r = await ctl(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${show(r)}`);
      assert.ok(r.stdout.length > 0, `${args.join(' ')}: empty help`);
    }
    const u = await ctl(['frobnicate']);
    assert.equal(u.code, 2, `unknown subcommand: ${show(u)}`);
  });
});

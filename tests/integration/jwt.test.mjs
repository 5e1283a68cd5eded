// JWT bearer tokens against the running daemon (SPEC §5.2, issue 3 items 1-3).
// Every token is minted here with node:crypto only (createHmac, sign with
// RSA / P-256 in IEEE P1363 form / Ed25519); the JWKS file is the keys'
// KeyObject.export({format: 'jwk'}) output. Nothing comes from the C code.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Daemon, tmpDir, sleep } from './lib/daemon.mjs';
import { request, callTool, uniqueLoopback } from './lib/http.mjs';
import { mintToken, now } from './lib/token.mjs';
import { fmt, expectStatus, expectResult, expectAuthError, withDiag } from './lib/check.mjs';

const AUD = 'systemmanager-it';
const ISS = 'https://idp.it.example';
const JWT_SECRET = crypto.randomBytes(32).toString('hex'); // 64 bytes of text

const keys = {
  RS256: { kid: 'rsa-1', ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) },
  ES256: { kid: 'ec-1', ...crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }) },
  EdDSA: { kid: 'ed-1', ...crypto.generateKeyPairSync('ed25519') },
};

const b64 = (x) => Buffer.from(x).toString('base64url');

function signInput(alg, input, key) {
  switch (alg) {
    case 'HS256': return crypto.createHmac('sha256', key ?? JWT_SECRET).update(input).digest();
    case 'RS256': return crypto.sign('sha256', Buffer.from(input), key ?? keys.RS256.privateKey);
    case 'ES256': return crypto.sign('sha256', Buffer.from(input), { key: key ?? keys.ES256.privateKey, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA': return crypto.sign(null, Buffer.from(input), key ?? keys.EdDSA.privateKey);
    default: return Buffer.alloc(0);
  }
}

// A JWT with standard claims; `claims` and `header` override or add members
// (undefined deletes). `key` replaces the signing key.
function jwt(alg, { claims = {}, header = {}, key } = {}) {
  const t = now();
  const h = { alg, typ: 'JWT', ...(keys[alg] ? { kid: keys[alg].kid } : {}), ...header };
  const c = { sub: `it-${alg}`, iss: ISS, aud: AUD, iat: t, exp: t + 600, jti: crypto.randomUUID(), scope: 'system:read network:read', ...claims };
  for (const o of [h, c]) for (const [k, v] of Object.entries(o)) if (v === undefined) delete o[k];
  const input = `${b64(JSON.stringify(h))}.${b64(JSON.stringify(c))}`;
  return `${input}.${b64(signInput(alg, input, key))}`;
}

let d, dir;
const T = (name, fn) => it(name, withDiag(() => d, fn));
const whoami = (token, ip) => request(d.port, { method: 'GET', path: '/whoami', headers: { Authorization: `Bearer ${token}` }, localAddress: ip });

function writeJwks(file, entries) {
  const jwks = { keys: entries.map(([kid, pub, alg]) => ({ ...pub.export({ format: 'jwk' }), kid, ...(alg ? { alg } : {}), use: 'sig' })) };
  fs.writeFileSync(file, JSON.stringify(jwks), { mode: 0o644 });
}

describe('JWT bearer tokens (HS256, RS256, ES256, EdDSA)', () => {
  before(async () => {
    dir = tmpDir('sm-it-jwt-');
    const jwksFile = path.join(dir, 'jwks.json');
    writeJwks(jwksFile, [
      [keys.RS256.kid, keys.RS256.publicKey, 'RS256'],
      [keys.ES256.kid, keys.ES256.publicKey, 'ES256'],
      [keys.EdDSA.kid, keys.EdDSA.publicKey],
    ]);
    d = new Daemon({
      env: {
        SYSTEMMANAGER_JWT_SECRET: JWT_SECRET,
        SYSTEMMANAGER_JWT_JWKS_FILE: jwksFile,
        SYSTEMMANAGER_JWT_AUDIENCE: AUD,
        SYSTEMMANAGER_JWT_ISSUER: ISS,
      },
    });
    await d.start();
  });
  after(async () => {
    await d?.stop();
    d?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const alg of ['HS256', 'RS256', 'ES256', 'EdDSA']) {
    T(`${alg}: GET /whoami → 200 with the JWT identity`, async () => {
      const jti = crypto.randomUUID();
      const tok = jwt(alg, { claims: { jti } });
      const r = await whoami(tok);
      expectStatus(r, 200, `GET /whoami with ${alg}`);
      assert.equal(r.json?.subject, `it-${alg}`, fmt(r));
      assert.ok(r.text.includes(jti), `whoami must carry the jti: ${fmt(r)}`);
      assert.match(r.text, /jwt/i, `auth method must be jwt: ${fmt(r)}`);
      assert.ok(r.text.includes('system:read') && r.text.includes('network:read'), `scopes: ${fmt(r)}`);
      assert.ok(!r.text.includes(tok.split('.')[2]), 'whoami leaked the signature');
    });

    T(`${alg}: tools/call get_system_status succeeds`, async () => {
      const r = await callTool(d.port, jwt(alg), 'get_system_status', {});
      const res = expectResult(r, `tools/call with ${alg}`);
      assert.equal(res.isError, false, fmt(r));
    });
  }

  T('scopes from scp array and nested systemmanager.scopes are honoured', async () => {
    const r = await whoami(jwt('EdDSA', { claims: { scope: undefined, scp: ['file:read'], systemmanager: { scopes: ['health:read'] } } }));
    expectStatus(r, 200, 'whoami with scp + systemmanager.scopes');
    assert.ok(r.text.includes('file:read') && r.text.includes('health:read'), fmt(r));
    assert.ok(!r.text.includes('system:read'), `no scope beyond the claims: ${fmt(r)}`);
  });

  T('a token without the needed scope is refused by the tool gate (403 or isError)', async () => {
    const r = await callTool(d.port, jwt('RS256', { claims: { scope: 'health:read' } }), 'get_system_status', {}, { localAddress: uniqueLoopback() });
    assert.ok(r.status === 403 || r.json?.error || r.json?.result?.isError, `expected a refusal: ${fmt(r)}`);
  });

  const rejects = [
    ['tampered payload', () => { const [h, , s] = jwt('RS256').split('.'); return `${h}.${b64(JSON.stringify({ sub: 'root', aud: AUD, iss: ISS, exp: now() + 600, scope: 'admin' }))}.${s}`; }, 'auth.invalid_token'],
    ['flipped signature bit', () => { const [h, p, s] = jwt('ES256').split('.'); const sig = Buffer.from(s, 'base64url'); sig[5] ^= 1; return `${h}.${p}.${b64(sig)}`; }, 'auth.invalid_token'],
    ['alg none, empty signature', () => { const t = jwt('HS256').split('.'); return `${b64(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${t[1]}.`; }, 'auth.invalid_token'],
    ['alg none, signature dropped', () => { const t = jwt('HS256').split('.'); return `${b64(JSON.stringify({ alg: 'none' }))}.${t[1]}`; }, 'auth.invalid_token'],
    ['expired beyond skew', () => jwt('EdDSA', { claims: { iat: now() - 1200, exp: now() - 120 } }), 'auth.token_expired'],
    ['HS256 keyed with the RSA public key PEM', () => jwt('HS256', { header: { kid: keys.RS256.kid }, key: keys.RS256.publicKey.export({ type: 'spki', format: 'pem' }) }), 'auth.invalid_token'],
    ['RS256 header, wrong key type by kid', () => jwt('RS256', { header: { kid: keys.EdDSA.kid } }), 'auth.invalid_token'],
    ['unknown kid', () => jwt('EdDSA', { header: { kid: 'nope' } }), 'auth.invalid_token'],
    ['attacker key embedded as jwk', () => { const evil = crypto.generateKeyPairSync('ed25519'); return jwt('EdDSA', { header: { jwk: evil.publicKey.export({ format: 'jwk' }) }, key: evil.privateKey }); }, 'auth.invalid_token'],
    ['ES256 signature in DER', () => { const t = jwt('ES256').split('.'); const der = crypto.sign('sha256', Buffer.from(`${t[0]}.${t[1]}`), keys.ES256.privateKey); return `${t[0]}.${t[1]}.${b64(der)}`; }, 'auth.invalid_token'],
    ['wrong audience', () => jwt('HS256', { claims: { aud: 'someone-else' } }), 'auth.invalid_token'],
    ['empty audience array', () => jwt('HS256', { claims: { aud: [] } }), 'auth.invalid_token'],
    ['issuer differs by one byte', () => jwt('HS256', { claims: { iss: ISS + '/' } }), 'auth.invalid_token'],
    ['missing exp', () => jwt('HS256', { claims: { exp: undefined } }), 'auth.invalid_token'],
    ['exp as a string', () => jwt('HS256', { claims: { exp: String(now() + 600) } }), 'auth.invalid_token'],
    ['iat in the future', () => jwt('HS256', { claims: { iat: now() + 300, exp: now() + 900 } }), 'auth.invalid_token'],
    ['crit header', () => jwt('HS256', { header: { crit: ['exp'] } }), 'auth.invalid_token'],
    ['padded header', () => { const [h, p] = jwt('HS256').split('.'); const hp = `${h}==.${p}`; return `${hp}.${b64(signInput('HS256', hp))}`; }, 'auth.invalid_token'],
    ['duplicate sub claim', () => { const h = b64(JSON.stringify({ alg: 'HS256' })); const p = b64(`{"sub":"a","sub":"root","aud":"${AUD}","iss":"${ISS}","exp":${now() + 600}}`); return `${h}.${p}.${b64(signInput('HS256', `${h}.${p}`))}`; }, 'auth.invalid_token'],
    ['trailing dot', () => `${jwt('HS256')}.`, 'auth.invalid_token'],
  ];
  for (const [name, make, code] of rejects) {
    T(`rejected: ${name} → 401 ${code}`, async () => {
      const tok = make();
      const r = await whoami(tok, uniqueLoopback());
      expectAuthError(r, 401, code, null, `GET /whoami with ${name}`);
      const c = await callTool(d.port, tok, 'get_system_status', {}, { localAddress: uniqueLoopback() });
      expectAuthError(c, 401, code, null, `tools/call with ${name}`);
    });
  }

  T('HMAC tokens still work next to JWT, and are never taken for a JWT', async () => {
    const hmacTok = d.mint(['readonly']);
    expectStatus(await whoami(hmacTok), 200, 'GET /whoami with an HMAC token');
    // An HMAC token made with the JWT secret is not a JWT (one dot): refused.
    const cross = mintToken(JWT_SECRET, { scopes: ['admin'] });
    expectAuthError(await whoami(cross, uniqueLoopback()), 401, 'auth.invalid_token', null, 'HMAC token keyed with the JWT secret');
  });
});

describe('JWT configuration is checked at startup', () => {
  const refuse = async (env, what) => {
    const dd = new Daemon({ env, readyTimeoutMs: 5000 });
    await assert.rejects(dd.start(), /exited before ready|did not answer/, `${what}: the daemon must refuse to start`);
    await dd.stop();
    dd.cleanup();
    return dd;
  };

  it('an HS256 secret shorter than 32 bytes is refused', async () => {
    const dd = await refuse({ SYSTEMMANAGER_JWT_SECRET: 'short-secret-0123456789' }, 'short jwt secret');
    assert.match(dd.stderr, /32 bytes/, dd.stderr);
  });

  it('an RSA key below 2048 bits in the JWKS is refused', async () => {
    const dir2 = tmpDir('sm-it-jwt-weak-');
    const file = path.join(dir2, 'jwks.json');
    writeJwks(file, [['weak', crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey]]);
    try {
      const dd = await refuse({ SYSTEMMANAGER_JWT_JWKS_FILE: file }, 'RSA-1024 JWKS');
      assert.match(dd.stderr, /2048/, dd.stderr);
    } finally {
      fs.rmSync(dir2, { recursive: true, force: true });
    }
  });

  it('a JWK whose alg disagrees with its key type is refused', async () => {
    const dir2 = tmpDir('sm-it-jwt-alg-');
    const file = path.join(dir2, 'jwks.json');
    writeJwks(file, [['mixed', keys.ES256.publicKey, 'RS256']]);
    try {
      await refuse({ SYSTEMMANAGER_JWT_JWKS_FILE: file }, 'EC key with alg RS256');
    } finally {
      fs.rmSync(dir2, { recursive: true, force: true });
    }
  });
});

// A JWKS URL served from 127.0.0.1: keys fetched at start, rotation picked
// up through an unknown kid (refetch at most once per interval), and the
// last good set kept while the IdP is down. The cache TTL is the minimum
// the configuration allows (10 s), which is also the refetch interval.
describe('JWT keys from a JWKS URL', () => {
  let idp, idpPort, dd;
  const state = { keys: [], down: false, hits: 0 };
  const k1 = { kid: 'url-1', ...crypto.generateKeyPairSync('ed25519') };
  const k2 = { kid: 'url-2', ...crypto.generateKeyPairSync('ed25519') };
  const jwkOf = (k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, use: 'sig' });
  const tokenFor = (k) => jwt('EdDSA', { header: { kid: k.kid }, key: k.privateKey });
  const who = (token) => request(dd.port, { method: 'GET', path: '/whoami', headers: { Authorization: `Bearer ${token}` }, localAddress: uniqueLoopback() });
  const TU = (name, fn) => it(name, withDiag(() => dd, fn));

  before(async () => {
    state.keys = [jwkOf(k1)];
    idp = http.createServer((req, res) => {
      state.hits++;
      if (state.down) { res.writeHead(503); res.end('down'); return; }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: state.keys }));
    });
    await new Promise((r) => idp.listen(0, '127.0.0.1', r));
    idpPort = idp.address().port;
    dd = new Daemon({
      env: {
        SYSTEMMANAGER_JWT_JWKS_URL: `http://127.0.0.1:${idpPort}/jwks.json`,
        SYSTEMMANAGER_JWT_JWKS_CACHE_TTL: '10s',
        SYSTEMMANAGER_JWT_JWKS_FETCH_TIMEOUT: '2s',
        SYSTEMMANAGER_JWT_AUDIENCE: AUD,
        SYSTEMMANAGER_JWT_ISSUER: ISS,
      },
    });
    await dd.start();
  });
  after(async () => {
    await dd?.stop();
    dd?.cleanup();
    await new Promise((r) => idp ? idp.close(r) : r());
  });

  TU('a key from the URL verifies from the first request on', async () => {
    assert.ok(state.hits >= 1, 'the daemon fetched the JWKS at start');
    expectStatus(await who(tokenFor(k1)), 200, 'GET /whoami with a URL key');
  });

  TU('rotation: an unknown kid triggers one refetch, then the new key works; bursts do not hammer the IdP', async () => {
    state.keys = [jwkOf(k1), jwkOf(k2)];
    const before = state.hits;
    // A burst of unknown-kid tokens: refused now, and at most one fetch per interval.
    for (let i = 0; i < 20; i++) {
      const r = await who(tokenFor(k2));
      if (r.status === 200) break;
      expectAuthError(r, 401, 'auth.invalid_token', null, 'unknown kid before the refetch');
    }
    let ok = false;
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      const r = await who(tokenFor(k2));
      if (r.status === 200) { ok = true; break; }
      await sleep(250);
    }
    assert.ok(ok, 'the rotated key was never picked up');
    assert.ok(state.hits - before <= 2, `refetches must be rate-limited: ${state.hits - before} fetches`);
    expectStatus(await who(tokenFor(k1)), 200, 'the old key still works after rotation');
  });

  TU('IdP down: the last good key set is kept', async () => {
    state.down = true;
    const before = state.hits;
    const deadline = Date.now() + 15000;
    while (state.hits === before && Date.now() < deadline) await sleep(200);
    assert.ok(state.hits > before, 'the daemon did not try to refresh after the TTL');
    await sleep(200);
    expectStatus(await who(tokenFor(k1)), 200, 'URL key after a failed refresh');
    expectStatus(await who(tokenFor(k2)), 200, 'rotated URL key after a failed refresh');
    assert.match(dd.stderr, /JWKS fetch .*failed.*keeping the last good key set/, dd.stderr);
    state.down = false;
  });
});

describe('JWKS URL policy', () => {
  it('plain http to a non-loopback host is refused at start', async () => {
    const dd = new Daemon({ env: { SYSTEMMANAGER_JWT_JWKS_URL: 'http://idp.example/jwks.json' }, readyTimeoutMs: 5000 });
    await assert.rejects(dd.start(), /exited before ready|did not answer/);
    await dd.stop();
    dd.cleanup();
    assert.match(dd.stderr, /https/, dd.stderr);
  });

  it('user information in the URL (http://127.0.0.1@evil/) is refused', async () => {
    const dd = new Daemon({ env: { SYSTEMMANAGER_JWT_JWKS_URL: 'http://127.0.0.1:80@evil.example/jwks.json' }, readyTimeoutMs: 5000 });
    await assert.rejects(dd.start(), /exited before ready|did not answer/);
    await dd.stop();
    dd.cleanup();
  });
});

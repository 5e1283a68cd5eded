// JWTs minted by an independent JOSE implementation (npm `jose`, as identity
// providers and other clients use it) against the daemon's verifier
// (scopes/jose.c): every supported algorithm, keys published as a JWKS made
// by `jose` itself, and the refusals that must hold whoever minted the token.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';
import { Daemon, tmpDir } from './lib/daemon.mjs';
import { callTool, request } from './lib/http.mjs';
import { withDiag } from './lib/check.mjs';

const AUD = 'systemmanager-jose-it';
const ISS = 'https://idp.jose.example';
const HS_SECRET = new TextEncoder().encode('jose-it-' + 'k'.repeat(56)); // 64 bytes

let d, dir;
const keys = {};
const T = (name, fn) => it(name, withDiag(() => d, fn));

async function mint(alg, { claims = {}, aud = AUD, iss = ISS, exp = '10m', kid, key } = {}) {
  const k = key ?? (alg === 'HS256' ? HS_SECRET : keys[alg].privateKey);
  let b = new jose.SignJWT({ scope: 'system:read network:read', ...claims })
    .setProtectedHeader({ alg, typ: 'JWT', ...(alg === 'HS256' ? {} : { kid: kid ?? `it-${alg}` }) })
    .setSubject('jose-agent')
    .setIssuedAt(claims.iat)
    .setJti(crypto.randomUUID());
  if (iss) b = b.setIssuer(iss);
  if (aud) b = b.setAudience(aud);
  if (exp) b = b.setExpirationTime(exp);
  return b.sign(k);
}

describe('JWTs minted with npm jose', () => {
  before(async () => {
    dir = tmpDir('sm-jose-');
    const jwks = { keys: [] };
    for (const [alg, opts] of [['RS256', { modulusLength: 2048 }], ['ES256', {}], ['EdDSA', { crv: 'Ed25519' }]]) {
      keys[alg] = await jose.generateKeyPair(alg, { ...opts, extractable: true });
      const pub = await jose.exportJWK(keys[alg].publicKey);
      jwks.keys.push({ ...pub, kid: `it-${alg}`, alg, use: 'sig' });
    }
    const file = path.join(dir, 'jwks.json');
    fs.writeFileSync(file, JSON.stringify(jwks));
    d = new Daemon({ env: {
      SYSTEMMANAGER_JWT_JWKS_FILE: file,
      SYSTEMMANAGER_JWT_SECRET: new TextDecoder().decode(HS_SECRET),
      SYSTEMMANAGER_JWT_AUDIENCE: AUD,
      SYSTEMMANAGER_JWT_ISSUER: ISS,
    } });
    await d.start();
  });
  after(async () => { await d?.stop(); d?.cleanup(); fs.rmSync(dir, { recursive: true, force: true }); });

  for (const alg of ['HS256', 'RS256', 'ES256', 'EdDSA']) {
    T(`${alg}: accepted; subject and scopes from the claims; a tool runs`, async () => {
      const tok = await mint(alg);
      const who = await request(d.port, { method: 'GET', path: '/whoami', headers: { Authorization: `Bearer ${tok}` } });
      assert.equal(who.status, 200, who.text);
      assert.equal(who.json.subject, 'jose-agent');
      assert.ok(who.json.scopes.includes('system:read') && !who.json.scopes.includes('file:read'), who.text);
      const r = await callTool(d.port, tok, 'get_system_status', {});
      assert.equal(r.json.result?.isError, false, r.text);
      const denied = await callTool(d.port, tok, 'get_container_list', {});
      assert.equal(denied.json.error?.code, -32003, 'scopes come from the token, nothing more');
    });
  }

  const refused = async (tok, why) => {
    const r = await request(d.port, { method: 'GET', path: '/whoami', headers: { Authorization: `Bearer ${tok}` } });
    assert.equal(r.status, 401, `${why}: ${r.status} ${r.text}`);
    return r;
  };

  T('refused whoever signed it: expired, wrong audience, wrong issuer, unknown kid, wrong key, alg none', async () => {
    const exp = await refused(await mint('ES256', { exp: Math.floor(Date.now() / 1000) - 3600, claims: { iat: Math.floor(Date.now() / 1000) - 7200 } }), 'expired');
    assert.equal(exp.json.code, 'auth.token_expired', exp.text);
    await refused(await mint('RS256', { aud: 'someone-else' }), 'wrong audience');
    await refused(await mint('RS256', { iss: 'https://evil.example' }), 'wrong issuer');
    await refused(await mint('EdDSA', { kid: 'it-nope' }), 'unknown kid');
    const other = await jose.generateKeyPair('ES256');
    await refused(await mint('ES256', { key: other.privateKey }), 'signed by another key');
    await refused(await mint('HS256', { key: new TextEncoder().encode('x'.repeat(64)) }), 'HS256 with another secret');
    const none = new jose.UnsecuredJWT({ scope: 'admin' }).setSubject('jose-agent').setAudience(AUD).setIssuer(ISS).setExpirationTime('5m').encode();
    await refused(none, 'alg none');
    // An RS256 header on the EC key's kid: the key decides the algorithm, not the header.
    const conf = await new jose.SignJWT({ scope: 'admin' }).setProtectedHeader({ alg: 'HS256', kid: 'it-RS256' })
      .setSubject('jose-agent').setAudience(AUD).setIssuer(ISS).setIssuedAt().setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(await jose.exportJWK(keys.RS256.publicKey))));
    await refused(conf, 'HS256 signed with the RSA public key (algorithm confusion)');
  });
});

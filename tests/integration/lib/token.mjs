// Independent HMAC token minter for the integration tests (SPEC §5.2).
// Written against the spec with node:crypto only: it never calls the C code,
// so a bug shared by the daemon's minter and verifier cannot hide here.
//
//   token = base64url_nopad(JSON claims) "." lowercase_hex(HMAC-SHA256(secret, <that base64url string>))
//
// It also crafts malformed tokens (bad signature, padding, extra segments...).
import crypto from 'node:crypto';

export function b64url(data) {
  return Buffer.from(data).toString('base64url'); // no padding
}

export function hmacHex(secret, data) {
  return crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(data).digest('hex');
}

export function randomSecret(bytes = 48) {
  // Printable so it survives env vars and CLI args unchanged.
  return crypto.randomBytes(bytes).toString('base64url');
}

export function now() {
  return Math.floor(Date.now() / 1000);
}

// Claims with sane defaults: 1 h TTL, random jti, and a fresh agent name per
// token unless one is given (so per-subject limits never couple tests).
let agentN = 0;
export function makeClaims({ agent = `it-agent-${process.pid}-${++agentN}`, scopes = ['readonly'], ttl = 3600, iat, exp, jti, ...extra } = {}) {
  const t = iat ?? now();
  const c = { agent, scopes, iat: t, exp: exp ?? t + ttl, jti: jti ?? crypto.randomBytes(16).toString('hex') };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete c[k];
    else c[k] = v;
  }
  return c;
}

// Signs an arbitrary payload string (already JSON) the spec's way.
export function signPayload(secret, payloadJson) {
  const body = b64url(payloadJson);
  return `${body}.${hmacHex(secret, body)}`;
}

export function mint(secret, opts = {}) {
  const claims = makeClaims(opts);
  return { token: signPayload(secret, JSON.stringify(claims)), claims };
}

export function mintToken(secret, opts = {}) {
  return mint(secret, opts).token;
}

// Malformed / hostile variants of a valid token. Each entry: [name, token].
export function malformedTokens(secret) {
  const good = mintToken(secret, { agent: 'mal' });
  const [body, sig] = good.split('.');
  const claims = makeClaims({ agent: 'mal' });
  const json = JSON.stringify(claims);
  const flip = (s, i) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);
  const out = [
    ['flipped last signature nibble', `${body}.${flip(sig, sig.length - 1)}`],
    ['flipped first signature nibble', `${body}.${flip(sig, 0)}`],
    ['upper-case hex signature', `${body}.${sig.toUpperCase()}`],
    ['truncated signature', `${body}.${sig.slice(0, 63)}`],
    ['signature one byte long', `${body}.${sig.slice(0, 2)}`],
    ['empty signature', `${body}.`],
    ['signature with extra hex', `${body}.${sig}00`],
    ['no dot', `${body}${sig}`],
    ['three segments', `${body}.${sig}.${sig}`],
    ['wrong secret', mintToken(secret + 'x', { agent: 'mal' })],
    ['body tampered (scopes widened), old signature', `${b64url(JSON.stringify({ ...claims, scopes: ['admin'] }))}.${sig}`],
    ['not JSON payload', signPayload(secret, 'not json at all')],
    ['JSON array payload', signPayload(secret, '["agent"]')],
    ['missing exp and expiry', signPayload(secret, JSON.stringify({ agent: 'mal', scopes: ['readonly'], iat: now(), jti: 'x1' }))],
    ['non-hex signature', `${body}.${'z'.repeat(64)}`],
    ['JWT-looking alg none', `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(json)}.`],
  ];
  // Payload whose base64url needs padding, presented *with* the '=' padding
  // (canonical form is unpadded). The HMAC is over the padded string, so only
  // a strict decoder rejects it.
  let pj = json;
  while (Buffer.from(pj).length % 3 === 0) pj += ' ';
  const padded = Buffer.from(pj).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  out.push(['base64url with = padding', `${padded}.${hmacHex(secret, padded)}`]);
  // Standard (non-url) base64 alphabet, when the payload produces '+' or '/'.
  const pj2 = JSON.stringify({ ...claims, reason: '>>>???~~~' });
  const std = Buffer.from(pj2).toString('base64').replace(/=+$/, '');
  if (/[+/]/.test(std)) out.push(['standard base64 alphabet', `${std}.${hmacHex(secret, std)}`]);
  return out;
}

export function expiredToken(secret, opts = {}) {
  const t = now() - 7200;
  return mintToken(secret, { iat: t, exp: t + 60, ...opts }); // expired ~2 h ago, far beyond 30 s skew
}

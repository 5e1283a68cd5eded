// Assertion helpers that say exactly which request got what.
import assert from 'node:assert/strict';

export function fmt(r) {
  if (!r) return String(r);
  const h = Object.entries(r.headers || {})
    .filter(([k]) => /content-type|www-authenticate|retry-after|allow|mcp-|connection/i.test(k))
    .map(([k, v]) => `${k}: ${v}`).join('; ');
  const body = r.text === undefined ? '' : r.text.length > 1500 ? r.text.slice(0, 1500) + '...' : r.text;
  return `HTTP ${r.status} [${h}] ${body}`;
}

export function expectStatus(r, status, what) {
  assert.equal(r.status, status, `${what}: expected HTTP ${status}, got ${fmt(r)}`);
}

export function expectJsonContentType(r, what) {
  assert.match(String(r.headers['content-type'] || ''), /^application\/json\b/i, `${what}: expected Content-Type application/json, got ${fmt(r)}`);
}

// JSON-RPC error with the given code; returns the error object.
export function expectRpcError(r, code, what, { id } = {}) {
  assert.ok(r.json && typeof r.json === 'object' && !Array.isArray(r.json), `${what}: expected a JSON-RPC error object, got ${fmt(r)}`);
  assert.equal(r.json.jsonrpc, '2.0', `${what}: jsonrpc must be "2.0", got ${fmt(r)}`);
  assert.ok(r.json.error, `${what}: expected "error" member, got ${fmt(r)}`);
  assert.equal(r.json.error.code, code, `${what}: expected JSON-RPC error code ${code}, got ${fmt(r)}`);
  assert.equal(typeof r.json.error.message, 'string', `${what}: error.message must be a string, got ${fmt(r)}`);
  assert.ok(!('result' in r.json), `${what}: error response must not carry "result": ${fmt(r)}`);
  if (id !== undefined) assert.deepEqual(r.json.id, id, `${what}: expected id ${JSON.stringify(id)}, got ${fmt(r)}`);
  return r.json.error;
}

export function expectResult(r, what, { id } = {}) {
  assert.equal(r.status, 200, `${what}: expected HTTP 200, got ${fmt(r)}`);
  assert.ok(r.json && r.json.jsonrpc === '2.0', `${what}: expected a JSON-RPC response, got ${fmt(r)}`);
  assert.ok(!r.json.error, `${what}: unexpected JSON-RPC error: ${fmt(r)}`);
  assert.ok(r.json.result && typeof r.json.result === 'object', `${what}: expected "result" object, got ${fmt(r)}`);
  if (id !== undefined) assert.deepEqual(r.json.id, id, `${what}: expected id ${JSON.stringify(id)}, got ${fmt(r)}`);
  return r.json.result;
}

// The auth error code of a response: plain {message, code} body, or a
// JSON-RPC error body with error.data.code (both allowed by SPEC §5.6).
export function authCode(r) {
  return r?.json?.code ?? r?.json?.error?.data?.code;
}

// HTTP auth error: status, WWW-Authenticate: Bearer..., JSON body {message, code}.
export function expectAuthError(r, status, code, message, what) {
  assert.equal(r.status, status, `${what}: expected HTTP ${status} ${code}, got ${fmt(r)}`);
  if (status === 401) {
    const wa = r.headers['www-authenticate'];
    assert.ok(wa && /^Bearer\b/i.test(wa), `${what}: expected "WWW-Authenticate: Bearer ...", got ${fmt(r)}`);
  }
  assert.ok(r.json && typeof r.json === 'object', `${what}: expected a JSON body, got ${fmt(r)}`);
  // The body is {message, code}; a JSON-RPC-shaped error with data.code is accepted too.
  const c = authCode(r);
  assert.equal(c, code, `${what}: expected code "${code}", got ${fmt(r)}`);
  if (message) {
    const m = r.json.message ?? r.json.error?.message;
    assert.equal(m, message, `${what}: expected message "${message}", got ${fmt(r)}`);
  }
}

// Wraps a test body so a failure carries the daemon's stderr.
export function withDiag(getDaemon, fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const d = getDaemon();
      if (d && e && typeof e === 'object' && typeof e.message === 'string' && !e.message.includes('--- daemon')) {
        try { e.message += d.diag(); } catch { /* ignore */ }
      }
      throw e;
    }
  };
}

// Raw HTTP helpers with full control over headers (Host, Origin, Accept,
// Content-Type...), no keep-alive pooling, and no client-side leniency.
import http from 'node:http';
import net from 'node:net';

export const PROTOCOL_VERSION = '2025-11-25';

// request(port, {method, path, headers, body, timeout}) → {status, headers, text, json}
export function request(port, { method = 'POST', path = '/mcp', headers = {}, body, timeout = 10000, host = '127.0.0.1', localAddress, socketPath } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    let payload = body;
    if (payload !== undefined && typeof payload !== 'string' && !Buffer.isBuffer(payload)) payload = JSON.stringify(payload);
    if (payload !== undefined && h['Content-Length'] === undefined && h['content-length'] === undefined) {
      h['Content-Length'] = Buffer.byteLength(payload);
    }
    const o = { method, path, headers: h, agent: false, timeout };
    if (socketPath) o.socketPath = socketPath;
    else Object.assign(o, { host, port });
    if (localAddress) o.localAddress = localAddress;
    const req = http.request(o, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = text.length ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`HTTP ${method} ${path} timed out after ${timeout} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

// Standard headers a Streamable HTTP client sends.
export function mcpHeaders(token, extra = {}) {
  const h = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': PROTOCOL_VERSION,
  };
  if (token) h.Authorization = `Bearer ${token}`;
  const out = { ...h, ...extra };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

let nextId = 1;
export function rpcMsg(method, params, id) {
  const m = { jsonrpc: '2.0', id: id ?? nextId++, method };
  if (params !== undefined) m.params = params;
  return m;
}

// POST one JSON-RPC message to /mcp.
export function rpc(port, token, method, params, { headers = {}, id, ...rest } = {}) {
  return request(port, { body: rpcMsg(method, params, id), headers: mcpHeaders(token, headers), ...rest });
}

export function initializeParams() {
  return {
    protocolVersion: PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'sm-integration-tests', version: '1.0.0' },
  };
}

export function callTool(port, token, name, args = {}, opts = {}) {
  return rpc(port, token, 'tools/call', { name, arguments: args }, opts);
}

// Opens a TCP connection; resolves the socket once connected.
export function connect(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host });
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

// Watches a socket: resolves {closed, data, error, ms} when the peer closes
// (end/close/reset) or after timeoutMs (closed=false).
export function watchClose(sock, timeoutMs) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const finish = (closed, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ closed, data, error: error?.code || error?.message, ms: Date.now() - t0 });
    };
    sock.on('data', (c) => { data += c.toString('latin1'); });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (e) => finish(true, e));
    const timer = setTimeout(() => finish(false), timeoutMs);
  });
}

// Sends a raw request string on a fresh connection and collects everything
// until the server closes (or timeout).
export async function rawExchange(port, text, timeoutMs = 3000) {
  const s = await connect(port);
  const w = watchClose(s, timeoutMs);
  s.write(text);
  const r = await w;
  s.destroy();
  return r;
}

// Nested JSON arrays/objects of a given depth: depth 1 = [] or {}.
export function nested(depth, kind = 'array') {
  if (kind === 'array') return '['.repeat(depth) + ']'.repeat(depth);
  let s = '1';
  for (let i = 0; i < depth; i++) s = `{"a":${s}}`;
  return s;
}

// A distinct loopback source address per call (127.77.x.y), so failed-auth
// tests don't trip the daemon's per-IP rate limit for each other. Linux
// routes all of 127.0.0.0/8 to lo, so any of them can connect to 127.0.0.1.
let loopN = 0;
export function uniqueLoopback() {
  loopN++;
  return `127.77.${Math.floor(loopN / 250) % 250}.${(loopN % 250) + 1}`;
}

// WebSocket helpers on the `ws` package (it can send an Authorization header
// at the handshake, which the WHATWG WebSocket used by the SDK cannot).
import WebSocket from 'ws';

// Opens a connection. Resolves {ws} on open, or {status, body} when the
// handshake is answered with a non-101 response, or {error}.
export function wsOpen(url, { token, protocols = 'mcp', headers = {}, timeout = 5000, maxPayload } = {}) {
  return new Promise((resolve) => {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    const opts = { headers: h, handshakeTimeout: timeout };
    if (maxPayload) opts.maxPayload = maxPayload;
    const ws = protocols === null ? new WebSocket(url, opts) : new WebSocket(url, protocols, opts);
    let done = false;
    const finish = (v) => { if (!done) { done = true; resolve(v); } };
    ws.once('open', () => finish({ ws, protocol: ws.protocol }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => { finish({ status: res.statusCode, headers: res.headers, body }); ws.terminate(); });
      res.on('error', () => finish({ status: res.statusCode, headers: res.headers, body }));
    });
    ws.once('error', (e) => finish({ error: e.message }));
  });
}

// JSON-RPC session over an open ws: request(method, params) → response message.
export class WsSession {
  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    this.others = [];
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data, isBinary) => {
      let m;
      try { m = JSON.parse(data.toString()); } catch { this.others.push({ unparsable: data.toString(), isBinary }); return; }
      if (m && m.id !== undefined && m.id !== null && this.pending.has(m.id)) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p(m);
      } else {
        this.others.push(m);
      }
    });
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  request(method, params, { timeout = 10000, id } = {}) {
    const rid = id ?? this.nextId++;
    const msg = { jsonrpc: '2.0', id: rid, method };
    if (params !== undefined) msg.params = params;
    return this.raw(msg, rid, timeout);
  }

  // Sends raw text/object and waits for the response with id `rid`, or for
  // the next unmatched message when rid is null.
  raw(msg, rid, timeout = 10000) {
    return new Promise((resolve, reject) => {
      let poll;
      const t = setTimeout(() => {
        clearInterval(poll);
        this.pending.delete(rid);
        reject(new Error(`no WebSocket response to ${typeof msg === 'string' ? msg.slice(0, 80) : JSON.stringify(msg).slice(0, 120)} within ${timeout} ms`));
      }, timeout);
      if (rid !== null && rid !== undefined) {
        this.pending.set(rid, (m) => { clearTimeout(t); resolve(m); });
      } else {
        const before = this.others.length;
        poll = setInterval(() => {
          if (this.others.length > before) { clearInterval(poll); clearTimeout(t); resolve(this.others[before]); }
        }, 10);
      }
      this.send(msg);
    });
  }

  // MCP lifecycle (stdio-like on WebSocket): initialize, then the
  // notifications/initialized notification. Returns the initialize result.
  async initialize(protocolVersion = '2025-11-25') {
    const r = await this.request('initialize', { protocolVersion, capabilities: {}, clientInfo: { name: 'sm-it-ws', version: '1.0.0' } });
    if (!r.result) throw new Error(`initialize failed: ${JSON.stringify(r)}`);
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return r.result;
  }

  close() {
    try { this.ws.close(1000); } catch { /* ignore */ }
  }
}

// Short description of a wsOpen() outcome for assertion messages.
export function wsDesc(r) {
  if (!r) return String(r);
  if (r.ws) return `upgraded (101, subprotocol "${r.protocol}")`;
  if (r.status) return `HTTP ${r.status} ${JSON.stringify(r.headers || {})} ${String(r.body || '').slice(0, 300)}`;
  return `error: ${r.error}`;
}

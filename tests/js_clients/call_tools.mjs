// Calls tools of an MCP server with an official TypeScript SDK client: the v2 client
// (@modelcontextprotocol/client), pinned to protocol 2026-07-28, or with a last argument "legacy"
// in the handshake era (one session for all the calls); or the v1 SDK (@modelcontextprotocol/sdk),
// which knows only the handshake era. The package folder given says which.
//
//   node call_tools.mjs <client package folder> <url> <bearer token or ""> '<JSON list of calls>' [legacy]
//
// A call is {"name": ..., "arguments": {...}}; an argument given as {"$result": i, "key": k}
// takes key k of the structured result of call i. Prints one JSON object: the protocol version
// the client spoke and each call's {isError, structuredContent, text}. When the server refuses
// the connection (401 without a valid token) it prints {"refused": {status, message}} and exits 2.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [packageDir, url, token, callsJson, mode] = process.argv.slice(2);
const load = (...parts) => import(pathToFileURL(path.join(packageDir, ...parts)).href);
const v2 = existsSync(path.join(packageDir, 'dist', 'index.mjs'));
const { Client, StreamableHTTPClientTransport } = v2
  ? await load('dist', 'index.mjs')
  : {
      ...(await load('dist', 'esm', 'client', 'index.js')),
      ...(await load('dist', 'esm', 'client', 'streamableHttp.js')),
    };

const client = new Client(
  { name: 'kit-ts-test-client', version: '1.0.0' },
  { versionNegotiation: { mode: mode === 'legacy' ? 'legacy' : { pin: '2026-07-28' } } },
);
// As docs/mcp-sessions.md and docs/state-handles.md show it.
const requestInit = token ? { headers: { Authorization: `Bearer ${token}` } } : undefined;
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit });
try {
  await client.connect(transport);
} catch (error) {
  // v2: SdkHttpError with data.status; v1: StreamableHTTPError with the status as its code.
  const status = error?.data?.status ?? (typeof error?.code === 'number' ? error.code : null);
  console.log(JSON.stringify({ refused: { status, message: String(error?.message ?? error) } }));
  process.exit(2);
}

const results = [];
for (const call of JSON.parse(callsJson)) {
  const args = {};
  for (const [key, value] of Object.entries(call.arguments ?? {})) {
    args[key] =
      value && typeof value === 'object' && '$result' in value
        ? results[value.$result].structuredContent[value.key]
        : value;
  }
  const result = await client.callTool({ name: call.name, arguments: args });
  results.push({
    isError: Boolean(result.isError),
    structuredContent: result.structuredContent ?? null,
    text: (result.content ?? []).map((block) => block.text ?? '').join(' '),
  });
}
const version = client.getNegotiatedProtocolVersion?.() ?? transport.protocolVersion ?? null;
await client.close();
console.log(JSON.stringify({ protocolVersion: version, results }));

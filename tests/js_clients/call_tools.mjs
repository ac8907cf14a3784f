// Calls tools of an MCP server with the TypeScript SDK v2 client, pinned to protocol 2026-07-28.
//
//   node call_tools.mjs <client package folder> <url> <bearer token or ""> '<JSON list of calls>'
//
// A call is {"name": ..., "arguments": {...}}; an argument given as {"$result": i, "key": k}
// takes key k of the structured result of call i. Prints one JSON object: the protocol version
// the client spoke and each call's {isError, structuredContent, text}.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [packageDir, url, token, callsJson] = process.argv.slice(2);
const sdk = await import(pathToFileURL(path.join(packageDir, 'dist', 'index.mjs')).href);
const { Client, StreamableHTTPClientTransport } = sdk;

const client = new Client(
  { name: 'kit-ts-test-client', version: '1.0.0' },
  { versionNegotiation: { mode: { pin: '2026-07-28' } } },
);
const requestInit = token ? { headers: { authorization: `Bearer ${token}` } } : undefined;
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit });
await client.connect(transport);

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
const version = client.getNegotiatedProtocolVersion?.() ?? null;
await client.close();
console.log(JSON.stringify({ protocolVersion: version, results }));

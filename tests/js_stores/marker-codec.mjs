// Broken the way JSON codecs with markers are: integers beyond 2^53 (BigInt here) are kept as
// {"$numberLong": "..."} (MongoDB's Extended JSON, safe for any JSON reader) and every object
// of that shape is turned back into a BigInt on read, the caller's own objects included. The
// kit must name DATA-TYPES.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const MemorySessionStore = require("../../examples/js/memory-store.js");
const { copyData, validateSessionId, validateUpdates } = MemorySessionStore;

function wrap(value) {
  if (typeof value === "bigint") return { $numberLong: value.toString() };
  if (Array.isArray(value)) return value.map(wrap);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wrap(v)]));
}

function unwrap(value) {
  if (Array.isArray(value)) return value.map(unwrap);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === "$numberLong" && typeof value.$numberLong === "string") {
    return BigInt(value.$numberLong);
  }
  return Object.fromEntries(keys.map((k) => [k, unwrap(value[k])]));
}

export default class MarkerCodecStore extends MemorySessionStore {
  // Checked first, as the store it extends checks: the codec sees valid data only.
  async createSession(sessionId, data) {
    validateSessionId(sessionId);
    const valid = data === undefined || data === null ? {} : copyData(data);
    return super.createSession(sessionId, wrap(valid));
  }

  async updateSession(sessionId, updates, options) {
    validateSessionId(sessionId);
    const data = validateUpdates(updates);
    return super.updateSession(sessionId, data === undefined ? updates : { data: wrap(data) }, options);
  }

  async getSession(sessionId) {
    const record = await super.getSession(sessionId);
    if (record !== null) record.data = unwrap(record.data);
    return record;
  }
}

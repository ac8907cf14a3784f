// Broken the way stores on document databases are: data keys are escaped as MongoDB codecs
// escape them ('.' as U+FF0E, a leading '$' as U+FF04) and unescaped on read, so a key that
// holds a replacement character itself comes back changed. The kit must name DATA-STRINGS.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const MemorySessionStore = require("../../examples/js/memory-store.js");
const { copyData, validateSessionId, validateUpdates } = MemorySessionStore;

function mapKeys(value, rename) {
  if (Array.isArray(value)) return value.map((item) => mapKeys(item, rename));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), mapKeys(v, rename)]));
}

const escape = (key) => {
  const dotted = key.replaceAll(".", "\uff0e");
  return dotted.startsWith("$") ? `\uff04${dotted.slice(1)}` : dotted;
};
const unescape = (key) => key.replaceAll("\uff0e", ".").replaceAll("\uff04", "$");

export default class EscapedKeyStore extends MemorySessionStore {
  // Checked first, as the store it extends checks: the codec sees valid data only.
  async createSession(sessionId, data) {
    validateSessionId(sessionId);
    const valid = data === undefined || data === null ? {} : copyData(data);
    return super.createSession(sessionId, mapKeys(valid, escape));
  }

  async updateSession(sessionId, updates, options) {
    validateSessionId(sessionId);
    const data = validateUpdates(updates);
    return super.updateSession(sessionId, data === undefined ? updates : { data: mapKeys(data, escape) }, options);
  }

  async getSession(sessionId) {
    const record = await super.getSession(sessionId);
    if (record !== null) record.data = mapKeys(record.data, unescape);
    return record;
  }
}

// Broken in a way common to hand-written JavaScript copies: it copies data by assigning each
// key, so a key named "__proto__" sets the copy's prototype and is lost. The kit must name
// DATA-STRINGS.
import MemorySessionStore from "../../examples/js/memory-store.js";

function assignedCopy(value) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(assignedCopy);
  const copy = {};
  for (const key of Object.keys(value)) copy[key] = assignedCopy(value[key]);
  return copy;
}

export default class AssignedKeysStore extends MemorySessionStore {
  async createSession(sessionId, data) {
    await super.createSession(sessionId, data);
    const record = this.records.get(sessionId);
    record.data = assignedCopy(record.data);
  }

  async updateSession(sessionId, updates, options) {
    await super.updateSession(sessionId, updates, options);
    const record = this.records.get(sessionId);
    if (record !== undefined) record.data = assignedCopy(record.data);
  }
}

// Broken in a way common to JavaScript stores: an update is written only when the new data
// differs from the stored data by a loose deep comparison (`==`, as the deep-equal package
// compares by default), so `true` over `1` or `1` over `"1"` is dropped; the times, the
// expiry and the revision still move. The kit must name UPDATE-REPLACE.
import MemorySessionStore from "../../examples/js/memory-store.js";

function looselyEqual(a, b) {
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    // eslint-disable-next-line eqeqeq
    return a == b;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && looselyEqual(a[key], b[key]));
}

export default class LooseDirtyCheckStore extends MemorySessionStore {
  async updateSession(sessionId, updates, options) {
    const record = this.records.get(sessionId);
    const kept = record === undefined ? undefined : record.data;
    await super.updateSession(sessionId, updates, options);
    const after = this.records.get(sessionId);
    if (after !== undefined && after === record && updates && updates.data !== undefined && looselyEqual(updates.data, kept)) {
      after.data = kept; // "nothing changed": the old data stays
    }
  }
}

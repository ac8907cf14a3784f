// Broken like LeanMCP's InMemorySessionStore: createSession keeps the caller's own data object,
// so the caller's later changes reach the store. The kit must name DATA-COPY-IN.
import MemorySessionStore from "../../examples/js/memory-store.js";

export default class ByReferenceStore extends MemorySessionStore {
  async createSession(sessionId, data) {
    await super.createSession(sessionId, data);
    if (data !== undefined && data !== null) this.records.get(sessionId).data = data;
  }
}

// Broken like LeanMCP's InMemorySessionStore: create over a live session overwrites it (Map.set).
// ESM with a default export. The kit must name CREATE-EXISTS (and CREATE-RACE).
import MemorySessionStore from "../../examples/js/memory-store.js";

export default class OverwritingCreateStore extends MemorySessionStore {
  async createSession(sessionId, data) {
    this.records.delete(sessionId);
    return super.createSession(sessionId, data);
  }
}

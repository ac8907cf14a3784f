// Shares objects with its caller both ways, as LeanMCP's in-memory store does: it keeps the
// data object it is given and hands out the one it keeps. The kit must name DATA-COPY-IN
// and GET-ISOLATED. Its Python twin is twin_stores.SharedObjectsStore.
import MemorySessionStore from "../../examples/js/memory-store.js";

export default class SharedObjectsStore extends MemorySessionStore {
  async createSession(sessionId, data) {
    await super.createSession(sessionId, data);
    if (data !== undefined && data !== null) this.records.get(sessionId).data = data;
  }

  async getSession(sessionId) {
    const record = await super.getSession(sessionId);
    if (record !== null) record.data = this.records.get(sessionId).data;
    return record;
  }
}

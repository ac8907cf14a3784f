// Keeps data as JSON.stringify text, the common way (and what LeanMCP's DynamoDB document
// client amounts to): integers beyond 2^53 cannot be kept. A JavaScript platform limit,
// reported under DATA-INTEGERS (and DATA-BIG-INTEGERS) alone; its Python twin,
// twin_stores.JsonTextStore, keeps them, json being exact for Python ints.
import MemorySessionStore from "../../examples/js/memory-store.js";

export default class JsonTextStore extends MemorySessionStore {
  async createSession(sessionId, data) {
    const text = data === undefined || data === null ? "{}" : JSON.stringify(data);
    await super.createSession(sessionId, data);
    this.records.get(sessionId).data = text;
  }

  async getSession(sessionId) {
    const record = await super.getSession(sessionId);
    if (record !== null) record.data = JSON.parse(record.data);
    return record;
  }

  async updateSession(sessionId, updates, options) {
    const given = updates !== null && typeof updates === "object" && "data" in updates;
    const text = given ? JSON.stringify(updates.data) : undefined;
    await super.updateSession(sessionId, updates, options);
    const record = this.live(sessionId, Date.now());
    if (given && record !== undefined) record.data = text;
  }
}

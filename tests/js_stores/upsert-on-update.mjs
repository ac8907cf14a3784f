// Broken like LeanMCP's DynamoDBSessionStore: an update of a missing id creates an item (an
// unconditional UpdateItem), without createdAt. ESM with a named export.
// The kit must name UPDATE-NO-UPSERT.
import MemorySessionStore from "../../examples/js/memory-store.js";

export class UpsertingUpdateStore extends MemorySessionStore {
  async updateSession(sessionId, updates, options) {
    await super.updateSession(sessionId, updates, options); // checks the arguments, updates a live session
    const now = Date.now();
    if (this.live(sessionId, now) === undefined) {
      const data = updates.data !== undefined ? structuredClone(updates.data) : {};
      this.records.set(sessionId, { createdMs: NaN, updatedMs: now, expiresMs: this.expiry(now), data, revision: 1 });
    }
  }
}

"use strict";
// Broken like LeanMCP's InMemorySessionStore: getSession hands out the store's own data object,
// so a caller that changes the record changes the store. The kit must name GET-ISOLATED.
const MemorySessionStore = require("../../examples/js/memory-store.js");

class OwnObjectStore extends MemorySessionStore {
  async getSession(sessionId) {
    const record = await super.getSession(sessionId);
    if (record !== null) record.data = this.records.get(sessionId).data;
    return record;
  }
}

module.exports = OwnObjectStore;

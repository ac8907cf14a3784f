"use strict";
// Broken like LeanMCP's DynamoDBSessionStore: an update without `data` writes data = {}.
// CommonJS with module.exports = the class. The kit must name UPDATE-TOUCH.
const MemorySessionStore = require("../../examples/js/memory-store.js");

module.exports = class WipingTouchStore extends MemorySessionStore {
  async updateSession(sessionId, updates, options) {
    const given = updates !== null && typeof updates === "object" && !Array.isArray(updates) && !("data" in updates);
    return super.updateSession(sessionId, given ? { ...updates, data: {} } : updates, options);
  }
};

"use strict";
// Broken like LeanMCP's DynamoDBSessionStore: it writes a ttl but never compares it with the
// time, so expired sessions are still returned. CommonJS with a named export.
// The kit must name GET-EXPIRED.
const { MemorySessionStore } = require("../../examples/js/memory-store.js");

class ExpiredStillReturnedStore extends MemorySessionStore {
  live(sessionId) {
    return this.records.get(sessionId);
  }
}

exports.ExpiredStillReturnedStore = ExpiredStillReturnedStore;

"use strict";
// For the bridge's own tests: CommonJS exporting an object of classes, so a name is needed.
const MemorySessionStore = require("../../examples/js/memory-store.js");

module.exports = { FirstStore: MemorySessionStore, SecondStore: class SecondStore extends MemorySessionStore {} };

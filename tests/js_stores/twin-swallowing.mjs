// Swallows backend errors as LeanMCP's DynamoDB store does: with its backend down (the option
// `down`), sessionExists answers false, getSession null, deleteSession nothing, and create and
// update throw an Error that drops the cause. The kit must name ERR-BACKEND (given
// --failing-store-option down=true). Its Python twin is twin_stores.SwallowingStore.
import MemorySessionStore from "../../examples/js/memory-store.js";

export default class SwallowingStore extends MemorySessionStore {
  constructor(options = {}) {
    super(options);
    this.down = options.down === true;
  }

  async sessionExists(sessionId) {
    return this.down ? false : super.sessionExists(sessionId);
  }

  async getSession(sessionId) {
    return this.down ? null : super.getSession(sessionId);
  }

  async deleteSession(sessionId) {
    if (!this.down) await super.deleteSession(sessionId);
  }

  async createSession(sessionId, data) {
    if (this.down) throw new Error("Failed to create session");
    return super.createSession(sessionId, data);
  }

  async updateSession(sessionId, updates, options) {
    if (this.down) throw new Error("Failed to update session");
    return super.updateSession(sessionId, updates, options);
  }
}

// Behaves as LeanMCP's in-memory store does (facts in SPEC.md's LeanMCP table), written for
// the kit's twin test; its Python twin is twin_stores.LeanMemoryStore. The constructor takes
// no options, so the kit judges it without a TTL and without a clock, as it judges the twin.
export default class LeanMemoryStore {
  constructor() {
    this.sessions = new Map();
  }

  async sessionExists(sessionId) {
    return this.sessions.has(sessionId);
  }

  // Over a live id: replaced. The caller's data object is kept as it is.
  async createSession(sessionId, data) {
    const now = new Date();
    this.sessions.set(sessionId, { sessionId, createdAt: now, updatedAt: now, data: data ?? {} });
  }

  // The stored object itself.
  async getSession(sessionId) {
    return this.sessions.get(sessionId) ?? null;
  }

  // Every given field is spread over the session; updatedAt is then set to now.
  async updateSession(sessionId, updates) {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return;
    this.sessions.set(sessionId, { ...session, ...updates, updatedAt: new Date() });
  }

  async deleteSession(sessionId) {
    this.sessions.delete(sessionId);
  }
}

// For the bridge's own tests: exports that cannot serve as a store, each in its own way.
export default 42;
export const notAFunction = { sessionExists() {} };

export class MissingMethods {
  async sessionExists() { return false; }
  async createSession() {}
  async get_session() { return null; }
  async updateSession() {}
}

export class SyncMethods {
  sessionExists() { return false; } // not async: returns a boolean, not a Promise
  async createSession() {}
  async getSession() { return null; }
  async updateSession() {}
  async deleteSession() {}
}

export async function makeStore(options) {
  // A factory function (not a class): the host calls it with the options and awaits it.
  const { default: MemorySessionStore } = await import("../../examples/js/memory-store.js");
  return new MemorySessionStore(options);
}

export class ThrowsWhenBuilt {
  constructor() {
    throw new Error("cannot connect: REDIS_URL is not set");
  }
}

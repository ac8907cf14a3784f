// For the bridge's own tests: every method throws the error its session id names.
class InvalidSessionIdError extends Error {} // no name set: the class name in the chain counts
class StoreFailure extends TypeError {
  constructor(message) {
    super(message);
    this.name = "StoreFailure";
  }
}

function fail(sessionId) {
  switch (sessionId) {
    case "type": throw new TypeError("data must be an object");
    case "range": throw new RangeError("ttlSeconds must be positive");
    case "value": throw Object.assign(new Error("updates may only hold data"), { name: "ValueError" });
    case "exists": throw Object.assign(new Error("session exists"), { name: "SessionExistsError" });
    case "invalid": throw new InvalidSessionIdError("bad id");
    case "subclass": throw new StoreFailure("a TypeError by inheritance");
    case "backend": throw Object.assign(new Error("backend down", { cause: new Error("connect ECONNREFUSED 127.0.0.1:6379") }), { name: "SessionStoreError" });
    case "plain": throw new Error("something else");
    case "string": throw "a bare string";
    default: return null;
  }
}

export default class ErrorStore {
  constructor(options) {
    if (options.ttlSeconds === 0) throw new RangeError("ttlSeconds must be positive, not 0");
  }
  async sessionExists(sessionId) { return fail(sessionId) ?? false; }
  async createSession(sessionId) { fail(sessionId); }
  async getSession(sessionId) { return fail(sessionId); }
  async updateSession(sessionId) { fail(sessionId); }
  async deleteSession(sessionId) { fail(sessionId); }
}

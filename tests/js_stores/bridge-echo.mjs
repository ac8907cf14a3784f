// For the bridge's own tests: keeps what it is given as it is (no copy, no checks) and shows
// it back with the JavaScript type of every value, the options it was built with, and the
// time its Date sees. Prints to stdout on purpose: the host must keep its protocol clean.
const typeOf = (value) => {
  if (value === null) return "null";
  if (Array.isArray(value)) return value.map(typeOf);
  if (value instanceof Uint8Array) return "Uint8Array";
  if (value instanceof Date) return "Date";
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeOf(v)]));
  if (typeof value === "number" && !Number.isFinite(value)) return `number ${value}`;
  return typeof value;
};

export class EchoStore {
  constructor(options) {
    this.options = options;
    this.values = new Map();
    console.log("EchoStore built: this line must not reach the protocol");
  }

  async sessionExists(sessionId) {
    return this.values.has(sessionId);
  }

  async createSession(sessionId, data) {
    console.log(`createSession(${JSON.stringify(sessionId)})`);
    this.values.set(sessionId, { given: data, argumentCount: arguments.length });
  }

  async getSession(sessionId) {
    if (sessionId === "options") return { sessionId, createdAt: new Date(0), updatedAt: new Date(0), data: this.options };
    if (sessionId === "now") {
      const data = { string: Date(), zoneOffset: new Date().getTimezoneOffset() };
      return { sessionId, createdAt: new Date(), updatedAt: new Date(Date.now()), ttl: Date.now(), data };
    }
    if (sessionId === "odd") {
      return {
        sessionId,
        createdAt: "2026-01-02T03:04:05.678Z",
        updatedAt: new Date(NaN),
        ttl: 2 ** 60,
        data: { map: new Map([[1, 2]]), big: 2n ** 70n, bytes: new Uint8Array([1, 2, 255]), nan: NaN, inf: -Infinity, fn() {} },
      };
    }
    if (!this.values.has(sessionId)) return null;
    const { given, argumentCount } = this.values.get(sessionId);
    return {
      sessionId,
      createdAt: new Date(1_700_000_000_123),
      updatedAt: new Date(1_700_000_000_456),
      data: { given, types: typeOf(given), argumentCount },
    };
  }

  async updateSession(sessionId, updates) {
    this.values.set(sessionId, { given: updates, argumentCount: arguments.length });
  }

  async deleteSession(sessionId) {
    this.values.delete(sessionId);
  }
}

export default EchoStore;

"use strict";
// A session store for LeanMCP-style servers, kept in memory, that meets every clause of the
// kit's SPEC.md that a JavaScript store can meet. Plain Node 18+, no dependency.
//
// CommonJS, so both `require("./memory-store.js")` and `import MemorySessionStore from
// "./memory-store.js"` work. Judge it with:
//
//     pytest --store=node:examples/js/memory-store.js
//
// The error names are what the kit reads (error.name, or a class of that name in the
// prototype chain): InvalidSessionIdError, SessionExistsError, RevisionConflictError (with
// currentRevision), TypeError for a value of the wrong type, RangeError for a value out of
// range (the kit maps RangeError to ValueError).
//
// It keeps revisions: every record carries `revision` (1 on create, +1 on each data write),
// and `updateSession(id, updates, { expectedRevision })` writes only while the session is at
// that revision, else throws RevisionConflictError.

class SessionStoreError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "SessionStoreError";
  }
}

class SessionExistsError extends SessionStoreError {
  constructor(message) {
    super(message);
    this.name = "SessionExistsError";
  }
}

class InvalidSessionIdError extends SessionStoreError {
  constructor(message) {
    super(message);
    this.name = "InvalidSessionIdError";
  }
}

// A conditional update found another revision, or no live session (currentRevision null).
class RevisionConflictError extends SessionStoreError {
  constructor(message, currentRevision) {
    super(message);
    this.name = "RevisionConflictError";
    this.currentRevision = currentRevision;
  }
}

const MAX_ID_LENGTH = 256;
const MAX_DEPTH = 512;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function validateSessionId(sessionId) {
  if (typeof sessionId !== "string") {
    throw new InvalidSessionIdError(`session id must be a string, not ${describe(sessionId)}`);
  }
  if (sessionId.length === 0 || sessionId.length > MAX_ID_LENGTH) {
    throw new InvalidSessionIdError(`session id must be 1 to ${MAX_ID_LENGTH} characters long, not ${sessionId.length}`);
  }
  for (let index = 0; index < sessionId.length; index++) {
    const code = sessionId.charCodeAt(index);
    if (code < 0x21 || code > 0x7e) {
      throw new InvalidSessionIdError(
        `session id may only hold characters 0x21-0x7E, found U+${code.toString(16).toUpperCase().padStart(4, "0")}`,
      );
    }
  }
  return sessionId;
}

function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return `a ${value.constructor ? value.constructor.name : "prototype-less object"}`;
  return `a ${typeof value}`;
}

function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkText(text, path) {
  if (LONE_SURROGATE.test(text)) throw new RangeError(`${path}: a string holds a lone surrogate, which is not Unicode text`);
}

// Checks that `value` is a JSON object and returns a deep copy of it, so the caller's later
// changes never reach the store. Integers beyond 2^53 are kept exact when given as BigInt.
function copyJsonObject(value, path, depth) {
  if (!isPlainObject(value)) throw new TypeError(`${path} must be a JSON object, not ${describe(value)}`);
  if (depth > MAX_DEPTH) throw new RangeError(`${path}: nested deeper than ${MAX_DEPTH} levels`);
  // Built from entries, so a key named "__proto__" stays a key instead of setting the prototype.
  return Object.fromEntries(
    Object.keys(value).map((key) => {
      checkText(key, path);
      return [key, copyJsonValue(value[key], `${path}[${JSON.stringify(key)}]`, depth)];
    }),
  );
}

function copyJsonValue(value, path, depth) {
  switch (typeof value) {
    case "string":
      checkText(value, path);
      return value;
    case "boolean":
    case "bigint":
      return value;
    case "number":
      if (!Number.isFinite(value)) throw new RangeError(`${path}: ${value} is not a JSON number`);
      return value;
    case "object":
      if (value === null) return null;
      if (Array.isArray(value)) {
        if (depth + 1 > MAX_DEPTH) throw new RangeError(`${path}: nested deeper than ${MAX_DEPTH} levels`);
        return value.map((item, index) => copyJsonValue(item, `${path}[${index}]`, depth + 1));
      }
      return copyJsonObject(value, path, depth + 1);
    default:
      throw new TypeError(`${path}: ${describe(value)} is not a JSON value`);
  }
}

function validateUpdates(updates) {
  if (!isPlainObject(updates)) throw new TypeError(`updates must be an object, not ${describe(updates)}`);
  const refused = Object.keys(updates).filter((key) => key !== "data");
  if (refused.length) {
    throw new RangeError(`updates may only hold the key "data"; refused: ${refused.map((k) => JSON.stringify(k)).join(", ")}`);
  }
  if (!("data" in updates)) return undefined; // a touch
  return copyJsonObject(updates.data, "updates.data", 1);
}

// The `expectedRevision` of updateSession's options: undefined (or null) for an unconditional
// update, else an integer of at least 1.
function validateExpectedRevision(options) {
  if (options === undefined || options === null) return undefined;
  if (!isPlainObject(options)) throw new TypeError(`options must be an object, not ${describe(options)}`);
  const refused = Object.keys(options).filter((key) => key !== "expectedRevision");
  if (refused.length) {
    throw new RangeError(`options may only hold expectedRevision; refused: ${refused.map((k) => JSON.stringify(k)).join(", ")}`);
  }
  const expected = options.expectedRevision;
  if (expected === undefined || expected === null) return undefined;
  if (typeof expected !== "number" || !Number.isInteger(expected)) {
    throw new TypeError(`expectedRevision must be an integer, not ${describe(expected)} (${String(expected)})`);
  }
  if (expected < 1) throw new RangeError(`expectedRevision must be 1 or more, not ${expected}`);
  return expected;
}

function ttlMilliseconds(ttlSeconds) {
  if (ttlSeconds === undefined || ttlSeconds === null) return null;
  if (typeof ttlSeconds !== "number") throw new TypeError(`ttlSeconds must be a number, not ${describe(ttlSeconds)}`);
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be positive and finite, not ${ttlSeconds}`);
  }
  // Rounded up, so a session never lives less than ttlSeconds.
  return Math.ceil(Math.round(ttlSeconds * 1e6) / 1000);
}

class MemorySessionStore {
  /** @param {{ttlSeconds?: number | null}} [options] no ttlSeconds (or null): sessions never expire */
  constructor(options = {}) {
    this.ttlMs = ttlMilliseconds(options.ttlSeconds);
    this.records = new Map(); // id -> {createdMs, updatedMs, expiresMs, data, revision}
  }

  // Records carry a revision and updateSession takes { expectedRevision }. Static, so that a
  // subclass can say otherwise.
  static supportsRevisions = true;

  // Each store object holds its own sessions: a second one sees none of them.
  get sharesSessionsAcrossInstances() {
    return false;
  }

  // Every method does its work before its first await, so each one is atomic.
  async sessionExists(sessionId) {
    return this.live(validateSessionId(sessionId), Date.now()) !== undefined;
  }

  async createSession(sessionId, data) {
    validateSessionId(sessionId);
    const copy = data === undefined || data === null ? {} : copyJsonObject(data, "data", 1);
    const now = Date.now();
    if (this.live(sessionId, now) !== undefined) {
      throw new SessionExistsError(`session ${JSON.stringify(sessionId)} already exists`);
    }
    this.records.set(sessionId, { createdMs: now, updatedMs: now, expiresMs: this.expiry(now), data: copy, revision: 1 });
  }

  async getSession(sessionId) {
    const record = this.live(validateSessionId(sessionId), Date.now());
    if (record === undefined) return null;
    return {
      sessionId,
      createdAt: new Date(record.createdMs),
      updatedAt: new Date(record.updatedMs),
      ttl: record.expiresMs === null ? undefined : Math.floor(record.expiresMs / 1000),
      data: structuredClone(record.data),
      revision: record.revision,
    };
  }

  async updateSession(sessionId, updates, options) {
    validateSessionId(sessionId);
    const newData = validateUpdates(updates);
    const expected = validateExpectedRevision(options);
    const record = this.live(sessionId, Date.now());
    if (expected !== undefined && (record === undefined || record.revision !== expected)) {
      const found = record === undefined ? null : record.revision;
      throw new RevisionConflictError(`session ${JSON.stringify(sessionId)} is at revision ${found}, not ${expected}`, found);
    }
    if (record === undefined) return; // no upsert: a missing or expired session stays gone
    // Never earlier than before, even when the clock steps back.
    record.updatedMs = Math.max(Date.now(), record.updatedMs);
    record.expiresMs = this.expiry(record.updatedMs);
    if (newData !== undefined) {
      record.data = newData;
      record.revision += 1; // every data write counts, a touch does not
    }
  }

  async deleteSession(sessionId) {
    this.records.delete(validateSessionId(sessionId));
  }

  /** How many live sessions the store holds. */
  get size() {
    const now = Date.now();
    for (const id of [...this.records.keys()]) this.live(id, now);
    return this.records.size;
  }

  clear() {
    this.records.clear();
  }

  live(sessionId, now) {
    const record = this.records.get(sessionId);
    if (record === undefined) return undefined;
    if (record.expiresMs !== null && record.expiresMs <= now) {
      this.records.delete(sessionId);
      return undefined;
    }
    return record;
  }

  expiry(writtenMs) {
    return this.ttlMs === null ? null : writtenMs + this.ttlMs;
  }
}

module.exports = MemorySessionStore;
module.exports.MemorySessionStore = MemorySessionStore;
module.exports.SessionStoreError = SessionStoreError;
module.exports.SessionExistsError = SessionExistsError;
module.exports.InvalidSessionIdError = InvalidSessionIdError;
module.exports.RevisionConflictError = RevisionConflictError;
// The checks, for stores on other backends that keep this store's rules.
module.exports.validateSessionId = validateSessionId;
module.exports.copyData = (data) => copyJsonObject(data, "data", 1);
module.exports.validateUpdates = validateUpdates;

// Redis stores in JavaScript, for judging the bridge through the fault-injecting Redis endpoint.
// They speak RESP over node:net (no client library). Options: { url, keyPrefix, timeoutMs }.
//
// The default export keeps every rule a store without TTL or revisions can keep: each session
// is one hash, written by a script so that create and update are atomic; every failure
// (a refused command, a connection closed mid-reply, a reply later than timeoutMs) raises
// SessionStoreError with its cause. NoneOnDroppedConnectionRedisStore takes a connection closed
// mid-reply for a missing key, and must fail exactly ERR-BACKEND through the endpoint.
import net from "node:net";
import { createRequire } from "node:module";
import { decodeData, encodeData } from "./json-data.mjs";

const require = createRequire(import.meta.url);
const {
  SessionStoreError,
  SessionExistsError,
  validateSessionId,
  copyData,
  validateUpdates,
} = require("../../examples/js/memory-store.js");

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'createdAt', ARGV[1], 'updatedAt', ARGV[1], 'data', ARGV[2], 'specials', ARGV[3])
return 1`;
// updatedAt never goes back: ISO 8601 texts of one width sort as their instants do.
const UPDATE = `
local old = redis.call('HGET', KEYS[1], 'updatedAt')
if not old then return 0 end
if ARGV[1] > old then redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1]) end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'data', ARGV[3], 'specials', ARGV[4]) end
return 1`;

class RedisFailure extends Error {
  constructor(code, message) {
    super(message);
    this.name = "RedisFailure";
    this.code = code; // "closed", "timeout", "socket" or the reply's error word (READONLY, ...)
  }
}

// One reply at `offset` of `buffer`: [value, end], or null while it is incomplete.
function parseReply(buffer, offset) {
  const lineEnd = buffer.indexOf("\r\n", offset);
  if (lineEnd < 0) return null;
  const kind = String.fromCharCode(buffer[offset]);
  const line = buffer.toString("utf8", offset + 1, lineEnd);
  const next = lineEnd + 2;
  if (kind === "+") return [line, next];
  if (kind === "-") return [new RedisFailure(line.split(" ")[0], line), next];
  if (kind === ":") return [Number(line), next];
  if (kind === "$") {
    const length = Number(line);
    if (length < 0) return [null, next];
    if (buffer.length < next + length + 2) return null;
    return [buffer.toString("utf8", next, next + length), next + length + 2];
  }
  if (kind === "*") {
    const count = Number(line);
    if (count < 0) return [null, next];
    const items = [];
    let at = next;
    for (let index = 0; index < count; index++) {
      const parsed = parseReply(buffer, at);
      if (parsed === null) return null;
      items.push(parsed[0]);
      at = parsed[1];
    }
    return [items, at];
  }
  throw new RedisFailure("protocol", `unexpected reply type ${JSON.stringify(kind)}`);
}

function encodeCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(String(arg), "utf8");
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

// One connection, one command at a time; a failure closes it, and the next command reconnects.
class RedisConnection {
  constructor(url, timeoutMs) {
    const parsed = new URL(url);
    this.host = parsed.hostname;
    this.port = Number(parsed.port || 6379);
    this.db = Number(parsed.pathname.slice(1) || 0);
    this.timeoutMs = timeoutMs;
    this.socket = null;
    this.queue = Promise.resolve();
  }

  command(...args) {
    const result = this.queue.then(() => this.exchange(args));
    this.queue = result.catch(() => {});
    return result;
  }

  async exchange(args) {
    if (this.socket === null) {
      this.socket = await this.connect();
      if (this.db !== 0) await this.roundTrip(["SELECT", this.db]);
    }
    return this.roundTrip(args);
  }

  connect() {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: this.host, port: this.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RedisFailure("timeout", `no connection to ${this.host}:${this.port} in ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.on("error", () => {}); // reported by the exchange it breaks
        resolve(socket);
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(Object.assign(new RedisFailure("socket", error.message), { cause: error }));
      });
    });
  }

  roundTrip(args) {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      let buffer = Buffer.alloc(0);
      const finish = (error, value) => {
        clearTimeout(timer);
        socket.off("data", onData);
        socket.off("close", onClose);
        if (error) {
          socket.destroy();
          if (this.socket === socket) this.socket = null;
          reject(error);
        } else resolve(value);
      };
      const onData = (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        let parsed;
        try {
          parsed = parseReply(buffer, 0);
        } catch (error) {
          finish(error);
          return;
        }
        if (parsed !== null) finish(null, parsed[0]); // an error reply too: the caller raises it
      };
      const onClose = () => finish(new RedisFailure("closed", `connection closed before the reply to ${args[0]}`));
      const timer = setTimeout(
        () => finish(new RedisFailure("timeout", `no reply to ${args[0]} in ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      socket.on("data", onData);
      socket.on("close", onClose);
      socket.write(encodeCommand(args));
    });
  }

  close() {
    this.socket?.destroy();
    this.socket = null;
  }
}

export default class RedisHashStore {
  static acceptsTtl = false;
  static acceptsClock = false;
  static supportsRevisions = false;
  sharesSessionsAcrossInstances = true;

  constructor(options = {}) {
    this.prefix = options.keyPrefix ?? "mcp-session:";
    this.connection = new RedisConnection(options.url ?? "redis://127.0.0.1:6379/0", Number(options.timeoutMs ?? 2000));
  }

  async call(...args) {
    let reply;
    try {
      reply = await this.connection.command(...args);
    } catch (error) {
      throw new SessionStoreError(`Redis ${args[0]} failed: ${error.message}`, { cause: error });
    }
    if (reply instanceof RedisFailure) {
      throw new SessionStoreError(`Redis ${args[0]} failed: ${reply.message}`, { cause: reply });
    }
    return reply;
  }

  key(sessionId) {
    return this.prefix + validateSessionId(sessionId);
  }

  async createSession(sessionId, data) {
    const key = this.key(sessionId);
    const { text, specials } = encodeData(data === undefined || data === null ? {} : copyData(data));
    const created = await this.call("EVAL", CREATE, 1, key, new Date().toISOString(), text, specials);
    if (created === 0) throw new SessionExistsError(`session ${JSON.stringify(sessionId)} already exists`);
  }

  async getSession(sessionId) {
    const [createdAt, updatedAt, text, specials] = await this.call(
      "HMGET", this.key(sessionId), "createdAt", "updatedAt", "data", "specials",
    );
    if (createdAt === null) return null;
    return {
      sessionId,
      createdAt: new Date(createdAt),
      updatedAt: new Date(updatedAt),
      ttl: undefined,
      data: decodeData(text, specials),
    };
  }

  async sessionExists(sessionId) {
    return (await this.call("EXISTS", this.key(sessionId))) === 1;
  }

  async updateSession(sessionId, updates) {
    const key = this.key(sessionId);
    const data = validateUpdates(updates);
    const { text, specials } = data === undefined ? { text: "", specials: "" } : encodeData(data);
    // No upsert: the script writes nothing when the session is gone.
    await this.call("EVAL", UPDATE, 1, key, new Date().toISOString(), data === undefined ? "0" : "1", text, specials);
  }

  async deleteSession(sessionId) {
    await this.call("DEL", this.key(sessionId));
  }

  close() {
    this.connection.close();
  }
}

export class NoneOnDroppedConnectionRedisStore extends RedisHashStore {
  async getSession(sessionId) {
    try {
      return await super.getSession(sessionId);
    } catch (error) {
      if (error.cause?.code === "closed") return null;
      throw error;
    }
  }
}

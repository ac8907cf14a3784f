// DynamoDB stores in JavaScript, for judging the bridge through the strict DynamoDB endpoint.
// They speak DynamoDB's JSON protocol with fetch (Node 18+, no SDK); emulators do not check
// signatures. Options: { endpoint, tableName }.
//
// The default export keeps every rule a store without TTL or revisions can keep: consistent
// reads, errors raised with their cause, throttled calls retried and then raised, data as one
// JSON string. Each named export changes one thing, the way a store author does after testing
// on an emulator, and must fail exactly one clause through the strict endpoint:
//   EventualDynamoDBStore            reads without ConsistentRead (LeanMCP's way): CONS-READ-YOUR-WRITES
//   ThrottleSwallowingDynamoDBStore  takes a throttled call for "nothing there": ERR-BACKEND
//   NativeNestingDynamoDBStore       writes data as native maps and lists, any depth: DATA-NESTING
import { randomUUID } from "node:crypto";
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

const AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, " +
  "SignedHeaders=host;x-amz-date, Signature=0";
const THROTTLED = new Set(["ProvisionedThroughputExceededException", "ThrottlingException"]);
const ATTEMPTS = 3;
const TIMEOUT_MS = 10_000;

class DynamoDBError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "DynamoDBError";
    this.code = code;
  }
}

export default class DynamoDBJsonStore {
  static acceptsTtl = false;
  static acceptsClock = false;
  static supportsRevisions = false;
  sharesSessionsAcrossInstances = true;
  consistentRead = true;

  constructor(options = {}) {
    this.endpoint = options.endpoint;
    this.tableName = options.tableName;
  }

  // One call: every attempt carries the same invocation id, as the AWS SDKs send it.
  async call(operation, request) {
    const invocation = randomUUID();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(operation, request, invocation);
      } catch (error) {
        if (!this.retries(error, attempt)) {
          throw new SessionStoreError(`DynamoDB ${operation} failed: ${error.message}`, { cause: error });
        }
      }
    }
  }

  retries(error, attempt) {
    return error instanceof DynamoDBError && THROTTLED.has(error.code) && attempt < ATTEMPTS;
  }

  async attempt(operation, request, invocation) {
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `DynamoDB_20120810.${operation}`,
        "x-amz-date": "20260101T000000Z",
        "amz-sdk-invocation-id": invocation,
        authorization: AUTHORIZATION,
      },
      body: JSON.stringify({ TableName: this.tableName, ...request }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = await response.json();
    if (!response.ok) throw new DynamoDBError(String(body.__type).split("#").pop(), body.message ?? body.Message);
    return body;
  }

  dataAttributes(data) {
    const { text, specials } = encodeData(data);
    return { data: { S: text }, specials: { S: specials } };
  }

  readData(item) {
    return decodeData(item.data.S, item.specials.S);
  }

  async createSession(sessionId, data) {
    validateSessionId(sessionId);
    const copy = data === undefined || data === null ? {} : copyData(data);
    const now = new Date().toISOString();
    try {
      await this.call("PutItem", {
        Item: { sessionId: { S: sessionId }, createdAt: { S: now }, updatedAt: { S: now }, ...this.dataAttributes(copy) },
        ConditionExpression: "attribute_not_exists(sessionId)",
      });
    } catch (error) {
      if (error.cause?.code === "ConditionalCheckFailedException") {
        throw new SessionExistsError(`session ${JSON.stringify(sessionId)} already exists`);
      }
      throw error;
    }
  }

  async getSession(sessionId) {
    validateSessionId(sessionId);
    const { Item } = await this.call("GetItem", {
      Key: { sessionId: { S: sessionId } },
      ...(this.consistentRead ? { ConsistentRead: true } : {}),
    });
    if (!Item) return null;
    return {
      sessionId,
      createdAt: new Date(Item.createdAt.S),
      updatedAt: new Date(Item.updatedAt.S),
      ttl: undefined,
      data: this.readData(Item),
    };
  }

  async sessionExists(sessionId) {
    return (await this.getSession(sessionId)) !== null;
  }

  async updateSession(sessionId, updates) {
    validateSessionId(sessionId);
    const data = validateUpdates(updates);
    const values = { ":now": { S: new Date().toISOString() } };
    const names = {};
    let expression = "SET updatedAt = :now";
    if (data !== undefined) {
      for (const [name, value] of Object.entries(this.dataAttributes(data))) {
        names[`#${name}`] = name;
        values[`:${name}`] = value;
        expression += `, #${name} = :${name}`;
      }
    }
    try {
      await this.call("UpdateItem", {
        Key: { sessionId: { S: sessionId } },
        UpdateExpression: expression,
        ConditionExpression: "attribute_exists(sessionId)",
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
      });
    } catch (error) {
      // No upsert: a missing session stays missing.
      if (error.cause?.code !== "ConditionalCheckFailedException") throw error;
    }
  }

  async deleteSession(sessionId) {
    validateSessionId(sessionId);
    await this.call("DeleteItem", { Key: { sessionId: { S: sessionId } } });
  }
}

export class EventualDynamoDBStore extends DynamoDBJsonStore {
  consistentRead = false;
}

export class ThrottleSwallowingDynamoDBStore extends DynamoDBJsonStore {
  // No retry, and a throttled call answers as if nothing were there.
  async call(operation, request) {
    try {
      return await this.attempt(operation, request, randomUUID());
    } catch (error) {
      if (error instanceof DynamoDBError && THROTTLED.has(error.code)) return {};
      throw new SessionStoreError(`DynamoDB ${operation} failed: ${error.message}`, { cause: error });
    }
  }
}

// Tagged scalars keep every JSON number and string exact; map keys get a prefix, so none is
// empty. Only the depth is left to the backend, which emulators do not limit.
function toNative(value) {
  if (value === null) return { NULL: true };
  if (typeof value === "boolean") return { BOOL: value };
  if (typeof value === "string") return { S: `s${value}` };
  if (typeof value === "number" || typeof value === "bigint") {
    return { S: `${typeof value === "bigint" ? "b" : "n"}${Object.is(value, -0) ? "-0" : String(value)}` };
  }
  if (Array.isArray(value)) return { L: value.map(toNative) };
  return { M: Object.fromEntries(Object.entries(value).map(([k, v]) => [`k${k}`, toNative(v)])) };
}

function fromNative(attribute) {
  if ("NULL" in attribute) return null;
  if ("BOOL" in attribute) return attribute.BOOL;
  if ("L" in attribute) return attribute.L.map(fromNative);
  if ("M" in attribute) {
    return Object.fromEntries(Object.entries(attribute.M).map(([k, v]) => [k.slice(1), fromNative(v)]));
  }
  const [tag, text] = [attribute.S[0], attribute.S.slice(1)];
  if (tag === "s") return text;
  return tag === "b" ? BigInt(text) : Number(text);
}

export class NativeNestingDynamoDBStore extends DynamoDBJsonStore {
  dataAttributes(data) {
    return { data: toNative(data) };
  }

  readData(item) {
    return fromNative(item.data);
  }
}

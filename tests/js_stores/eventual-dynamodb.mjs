// A DynamoDB store in JavaScript that reads as LeanMCP's does: GetItem without ConsistentRead.
// It speaks DynamoDB's JSON protocol with fetch (Node 18+, no SDK); emulators do not check
// signatures. Options: { endpoint, tableName }. Through the strict endpoint the kit must name
// CONS-READ-YOUR-WRITES; on the plain emulator that clause passes.
const AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, " +
  "SignedHeaders=host;x-amz-date, Signature=0";

export default class EventualDynamoDBStore {
  static acceptsTtl = false;
  static acceptsClock = false;
  sharesSessionsAcrossInstances = true;

  constructor(options = {}) {
    this.endpoint = options.endpoint;
    this.tableName = options.tableName;
  }

  async call(operation, request) {
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `DynamoDB_20120810.${operation}`,
        "x-amz-date": "20260101T000000Z",
        authorization: AUTHORIZATION,
      },
      body: JSON.stringify({ TableName: this.tableName, ...request }),
    });
    const body = await response.json();
    if (!response.ok) {
      const error = new Error(`${operation}: ${body.__type}: ${body.message}`);
      error.name = "SessionStoreError";
      throw error;
    }
    return body;
  }

  async createSession(sessionId, data = {}) {
    const now = new Date().toISOString();
    await this.call("PutItem", {
      Item: {
        sessionId: { S: sessionId },
        createdAt: { S: now },
        updatedAt: { S: now },
        data: { S: JSON.stringify(data ?? {}) },
      },
    });
  }

  async getSession(sessionId) {
    const { Item } = await this.call("GetItem", { Key: { sessionId: { S: sessionId } } });
    if (!Item) return null;
    return {
      sessionId,
      createdAt: new Date(Item.createdAt.S),
      updatedAt: new Date(Item.updatedAt.S),
      ttl: null,
      data: JSON.parse(Item.data.S),
    };
  }

  async sessionExists(sessionId) {
    return (await this.getSession(sessionId)) !== null;
  }

  async updateSession(sessionId, updates) {
    await this.call("UpdateItem", {
      Key: { sessionId: { S: sessionId } },
      UpdateExpression: "SET #data = :data, updatedAt = :now",
      ConditionExpression: "attribute_exists(sessionId)",
      ExpressionAttributeNames: { "#data": "data" },
      ExpressionAttributeValues: {
        ":data": { S: JSON.stringify(updates.data) },
        ":now": { S: new Date().toISOString() },
      },
    }).catch((error) => {
      if (!String(error.message).includes("ConditionalCheckFailed")) throw error;
    });
  }

  async deleteSession(sessionId) {
    await this.call("DeleteItem", { Key: { sessionId: { S: sessionId } } });
  }
}

// A TypeScript store, as LeanMCP users write them: run with --node-runner=tsx.
// It reuses the JavaScript example and adds types, so its verdict matches the example's.
import MemorySessionStore from "../../examples/js/memory-store.js";

export interface SessionData {
  sessionId: string;
  createdAt: Date;
  updatedAt: Date;
  ttl?: number;
  data?: Record<string, unknown>;
}

export interface TypedStoreOptions {
  ttlSeconds?: number | null;
}

export class TypedMemoryStore extends MemorySessionStore {
  constructor(options: TypedStoreOptions = {}) {
    super(options);
  }

  override async getSession(sessionId: string): Promise<SessionData | null> {
    const record: SessionData | null = await super.getSession(sessionId);
    return record;
  }
}

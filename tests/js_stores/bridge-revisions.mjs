// For the bridge's own tests of revisions: echoes how updateSession was called, throws the
// RevisionConflictError its session id names, and declares supportsRevisions in each way a
// store can (on the instance, statically on its class, on a factory function).

class RevisionConflictError extends Error {
  constructor(message, currentRevision) {
    super(message);
    this.name = "RevisionConflictError";
    if (currentRevision !== undefined) this.currentRevision = currentRevision;
  }
}
class Unnamed extends RevisionConflictError {
  constructor(message, currentRevision) {
    super(message, currentRevision);
    this.name = "Unnamed"; // a RevisionConflictError by its class chain only
  }
}

export class EchoRevisionStore {
  static supportsRevisions = true;

  constructor() {
    this.calls = [];
    this.started = 0; // calls started since the last microtask checkpoint
    this.ticks = []; // how many calls each synchronous run of the host started
  }

  async sessionExists() {
    if (this.started++ === 0) queueMicrotask(() => {
      this.ticks.push(this.started);
      this.started = 0;
    });
    return true;
  }

  async createSession() {}

  async getSession(sessionId) {
    const data = sessionId === "ticks" ? { ticks: this.ticks } : { calls: this.calls };
    return { sessionId, createdAt: new Date(0), updatedAt: new Date(0), data, revision: 7 };
  }

  async updateSession(sessionId, updates, options) {
    this.calls.push({ argumentCount: arguments.length, options: options === undefined ? "undefined" : options, type: typeof options?.expectedRevision });
    switch (sessionId) {
      case "conflict-3": throw new RevisionConflictError("at revision 3", 3);
      case "conflict-null": throw new RevisionConflictError("no live session", null);
      case "conflict-absent": throw new RevisionConflictError("no revision given");
      case "conflict-big": throw new RevisionConflictError("a revision beyond 2^53", 2n ** 60n);
      case "conflict-by-class": throw new Unnamed("named otherwise", 5);
      default: return undefined;
    }
  }

  async deleteSession() {}
}

export class DeclinesRevisionsStore extends EchoRevisionStore {
  static supportsRevisions = false; // a subclass's static overrides its parent's
}

export class InstanceRevisionsStore extends DeclinesRevisionsStore {
  get supportsRevisions() {
    return true; // the object's own answer comes first
  }
}

export class UndeclaredStore extends EchoRevisionStore {
  static supportsRevisions = undefined;
}

export function makeRevisionStore() {
  const store = new UndeclaredStore();
  return store;
}
makeRevisionStore.supportsRevisions = true;

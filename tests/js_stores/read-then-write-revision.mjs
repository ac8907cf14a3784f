// Broken the common way: the conditional update reads the session, compares its revision, and
// writes in a second step, so racers at one revision all pass the check. ESM, named export.
// Every call on its own behaves; the kit must name REV-RACE.
import MemorySessionStore from "../../examples/js/memory-store.js";

export class ReadThenWriteStore extends MemorySessionStore {
  async updateSession(sessionId, updates, options) {
    const expected = options === undefined || options === null ? undefined : options.expectedRevision;
    if (expected === undefined || expected === null || typeof expected !== "number" || !Number.isInteger(expected) || expected < 1) {
      return super.updateSession(sessionId, updates, options); // unconditional, or refused as invalid
    }
    const current = await this.getSession(sessionId); // the read
    const found = current === null ? null : current.revision;
    if (found !== expected) return super.updateSession(sessionId, updates, options); // throws the conflict
    return super.updateSession(sessionId, updates); // the write, conditional on nothing
  }
}

// Broken the way hand-made date handling goes wrong: it reads a date's local wall-clock fields
// as if they were UTC, so every timestamp is off by the host's offset (by nothing on a host
// whose local time is UTC). ESM with a named export. The kit must name TIME-UTC.
import MemorySessionStore from "../../examples/js/memory-store.js";

const wallClockAsUtc = (date) =>
  new Date(
    Date.UTC(
      date.getFullYear(),
      date.getMonth(),
      date.getDate(),
      date.getHours(),
      date.getMinutes(),
      date.getSeconds(),
      date.getMilliseconds(),
    ),
  );

export class LocalWallClockStore extends MemorySessionStore {
  async getSession(sessionId) {
    const record = await super.getSession(sessionId);
    if (record) {
      record.createdAt = wallClockAsUtc(record.createdAt);
      record.updatedAt = wallClockAsUtc(record.updatedAt);
    }
    return record;
  }
}

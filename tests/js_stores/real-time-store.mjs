// The example store, declared as one whose backend expires sessions by its own clock:
// the kit then runs the TTL clauses in real time instead of faking Date.
import MemorySessionStore from "../../examples/js/memory-store.js";

export default class RealTimeStore extends MemorySessionStore {
  static expiresInRealTime = true;
}

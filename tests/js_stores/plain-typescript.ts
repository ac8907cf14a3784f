// A .ts module written in the subset of TypeScript that is also JavaScript, for the runner tests.
import MemorySessionStore from "../../examples/js/memory-store.js";

export default class PlainTypeScriptStore extends MemorySessionStore {}

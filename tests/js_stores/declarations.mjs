// For the bridge's own tests: what the kit reads from an export before building a store.
// Each export is a complete store (the example's methods); only its parameter list and its
// static declarations differ. The name says what the kit must read.
import MemorySessionStore from "../../examples/js/memory-store.js";

const methods = MemorySessionStore.prototype;
const store = (target) => {
  for (const name of ["sessionExists", "createSession", "getSession", "updateSession", "deleteSession"]) {
    target.prototype[name] = methods[name];
  }
  target.prototype.live = methods.live;
  target.prototype.expiry = methods.expiry;
  return target;
};

export class NoConstructor {}
store(NoConstructor);

export class EmptyConstructor {
  constructor() {
    this.records = new Map();
    this.ttlMs = null;
  }
}
store(EmptyConstructor);

export class CommentOnlyConstructor {
  // a method named like the constructor in a string must not count: "constructor(options)"
  static label = "constructor(options) {";
  describe() { return /constructor(options)[}]/.test("x") ? "{" : "}"; }
  constructor(/* no options */) {
    this.records = new Map();
    this.ttlMs = null;
  }
}
store(CommentOnlyConstructor);

export class DefaultedOptions extends MemorySessionStore {
  constructor(options = {}) {
    super(options);
  }
}

export class DestructuredOptions extends MemorySessionStore {
  constructor({ ttlSeconds } = {}) {
    super({ ttlSeconds });
  }
}

export class InheritsOptions extends MemorySessionStore {}

export class FixesItsOwnTtl extends MemorySessionStore {
  constructor() {
    super({ ttlSeconds: 3600 });
  }
}

export class DeclaresNoTtl extends MemorySessionStore {
  static acceptsTtl = false;
}

export class DeclaresTtlAndClock extends FixesItsOwnTtl {
  static acceptsTtl = true;
  static acceptsClock = true;
}

export class DeclaresNoClock extends MemorySessionStore {
  static acceptsClock = false;
}

export class StaticDeclarations {
  static sharesSessionsAcrossInstances = true;
  static conformanceNotApplicable = { "CREATE-RACE": "declared on the class" };
  static conformanceNotes = { "DATA-TYPES": "a note declared on the class" };

  constructor(options = {}) {
    this.records = new Map();
    this.ttlMs = options.ttlSeconds ? options.ttlSeconds * 1000 : null;
  }
}
store(StaticDeclarations);

export function makeWithoutOptions() {
  return new EmptyConstructor();
}

export async function makeWithOptions(options) {
  return new MemorySessionStore(options);
}

export const arrowWithoutOptions = () => new EmptyConstructor();

export const arrowWithOptions = (options) => new MemorySessionStore(options);

export const arrowSingleParameter = async options => new MemorySessionStore(options);

export function LegacyConstructor(options) {
  this.ttlMs = options && options.ttlSeconds ? options.ttlSeconds * 1000 : null;
  this.records = new Map();
}
store(LegacyConstructor);

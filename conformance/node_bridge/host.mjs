// The kit's Node host: serves a JavaScript session store to the Python suite.
//
// Started by conformance/node_bridge/host.py as `node host.mjs` (or `RUNNER host.mjs`,
// e.g. `tsx host.mjs` for TypeScript). Plain Node 18+, no dependency.
//
// Protocol: one JSON object per line, both ways, on stdin/stdout. Requests carry an `id`;
// each is started as soon as its line arrives, so calls overlap inside the store as they
// would in a server. Values JSON cannot carry travel beside the value as `specials`:
// [path, kind, payload] with kind "bigint" (decimal text), "bytes" (base64), "number"
// ("NaN", "Infinity", "-Infinity"), "date" (epoch ms or null) or "js" (a description of a
// value Python has no form for). docs/node-bridge.md describes every message.

import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";

const NODE_MAJOR = Number(process.versions.node.split(".")[0]);
if (NODE_MAJOR < 18) {
  process.stderr.write(`node ${process.version} is too old: the kit's Node host needs Node 18 or later\n`);
  process.exit(3);
}

const METHODS = ["sessionExists", "createSession", "getSession", "updateSession", "deleteSession"];

// stdout is the protocol channel: whatever the store prints goes to stderr instead.
const writeProtocol = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);

function send(message) {
  writeProtocol(JSON.stringify(message) + "\n");
}

// A fake clock: Date.now() and `new Date()` return the `now` (epoch ms) of the latest
// request that carried one, so the suite's clock drives the store's expiry decisions.
// A request with `now: null` puts the real clock back.
const RealDate = Date;
let fakeNow = null;
const currentTime = () => (fakeNow === null ? RealDate.now() : fakeNow);

function FakeDate(...args) {
  if (!new.target) return new RealDate(currentTime()).toString();
  return Reflect.construct(RealDate, args.length === 0 ? [currentTime()] : args, new.target);
}
Object.setPrototypeOf(FakeDate, RealDate);
FakeDate.prototype = RealDate.prototype;
FakeDate.now = currentTime;
Object.defineProperty(FakeDate, "name", { value: "Date" });
globalThis.Date = FakeDate;

// The local time zone: a request with `zone` (an IANA name) moves it there, as TIME-UTC's check
// does on the Python side; `zone: null` puts the host's own back. Node rereads TZ when it is set.
const ownZone = process.env.TZ;
function setLocalZone(zone) {
  if (zone !== null) process.env.TZ = zone;
  else if (ownZone === undefined) delete process.env.TZ;
  else process.env.TZ = ownZone;
}

// --- values across the wire -------------------------------------------------------------

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function decode(value, specials) {
  // Put the values JSON could not carry at their paths inside `value`.
  let root = value;
  for (const [path, kind, payload] of specials || []) {
    const decoded = decodeSpecial(kind, payload);
    if (path.length === 0) {
      root = decoded;
      continue;
    }
    let parent = root;
    for (const key of path.slice(0, -1)) parent = parent[key];
    setOwn(parent, path[path.length - 1], decoded);
  }
  return root;
}

// `target[key] = value` that makes an own property even for the key "__proto__", which a plain
// assignment would turn into a change of prototype.
function setOwn(target, key, value) {
  if (key !== "__proto__") target[key] = value;
  else Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

function decodeSpecial(kind, payload) {
  switch (kind) {
    case "bigint":
      return BigInt(payload);
    case "bytes":
      return new Uint8Array(Buffer.from(payload, "base64"));
    case "number":
      return Number(payload);
    case "date":
      return new RealDate(payload === null ? NaN : payload);
    default:
      throw new Error(`unknown special value kind ${kind}`);
  }
}

function encode(value) {
  // A JSON-ready copy of `value` and the specials that go with it.
  const specials = [];
  const ancestors = new Set();
  const walk = (item, path) => {
    if (item === null || typeof item === "boolean" || typeof item === "string") return item;
    if (item === undefined) return null;
    if (typeof item === "number") {
      if (!Number.isFinite(item)) {
        specials.push([path, "number", String(item)]);
        return null;
      }
      // An integral double beyond 2^53 is sent as its exact value, not JSON's rounded digits.
      if (Number.isInteger(item) && Math.abs(item) > MAX_SAFE && Math.abs(item) < 1e21) {
        specials.push([path, "bigint", BigInt(item).toString()]);
        return null;
      }
      return item;
    }
    if (typeof item === "bigint") {
      specials.push([path, "bigint", item.toString()]);
      return null;
    }
    if (typeof item !== "object") {
      specials.push([path, "js", describe(item)]);
      return null;
    }
    if (item instanceof RealDate) {
      const ms = item.getTime();
      specials.push([path, "date", Number.isNaN(ms) ? null : ms]);
      return null;
    }
    if (item instanceof Uint8Array) {
      specials.push([path, "bytes", Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString("base64")]);
      return null;
    }
    if (ancestors.has(item)) {
      specials.push([path, "js", "a circular reference"]);
      return null;
    }
    if (Array.isArray(item)) {
      ancestors.add(item);
      const out = item.map((element, index) => walk(element, [...path, index]));
      ancestors.delete(item);
      return out;
    }
    if (item instanceof Map || item instanceof Set || ArrayBuffer.isView(item) || item instanceof ArrayBuffer ||
        item instanceof Promise || item instanceof WeakMap || item instanceof WeakSet || item instanceof RegExp) {
      specials.push([path, "js", describe(item)]);
      return null;
    }
    // Plain objects and class instances alike: own enumerable properties, as JSON.stringify sees them.
    ancestors.add(item);
    const out = {};
    for (const key of Object.keys(item)) {
      if (item[key] === undefined) continue;
      setOwn(out, key, walk(item[key], [...path, key]));
    }
    ancestors.delete(item);
    return out;
  };
  const json = walk(value, []);
  return { value: json, specials };
}

function describe(item) {
  if (item === undefined) return "undefined";
  if (item === null) return "null";
  if (typeof item === "function") return `a function ${item.name || "(anonymous)"}`;
  if (typeof item === "symbol") return `a ${String(item)}`;
  if (typeof item !== "object") return `a ${typeof item}`;
  if (item instanceof Map) return `a Map of ${item.size}`;
  if (item instanceof Set) return `a Set of ${item.size}`;
  if (item instanceof Promise) return "a Promise (a value that was not awaited)";
  const name = item.constructor && item.constructor.name;
  if (name === "Object") return "a plain object";
  return name ? `an object of class ${name}` : "an object without prototype";
}

function describeError(error, depth = 0) {
  if (!(error instanceof Error) && (typeof error !== "object" || error === null)) {
    return { name: "", message: `${String(error)} (${describe(error)} was thrown, not an Error)`, stack: "", chain: [] };
  }
  const chain = [];
  for (let proto = Object.getPrototypeOf(error); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const ctor = Object.prototype.hasOwnProperty.call(proto, "constructor") ? proto.constructor : null;
    if (ctor && ctor.name) chain.push(ctor.name);
  }
  const described = {
    name: typeof error.name === "string" ? error.name : "",
    message: typeof error.message === "string" ? error.message : String(error.message),
    stack: typeof error.stack === "string" ? error.stack : "",
    chain,
  };
  if (error.code !== undefined) described.code = String(error.code);
  // A RevisionConflictError's revision found (null: no live session), as a value that crosses.
  if (error.currentRevision !== undefined) {
    const { value, specials } = encode(error.currentRevision);
    described.currentRevision = value;
    if (specials.length) described.currentRevisionSpecials = specials;
  }
  if (error.cause !== undefined && depth < 4) described.cause = describeError(error.cause, depth + 1);
  return described;
}

// --- the store ----------------------------------------------------------------------------

let storeExport = null;
let exportLabel = "";
const stores = new Map();
const handles = new Map();
let nextStore = 1;

class BridgeError extends Error {}

async function load({ module, export: exportName }) {
  let namespace;
  try {
    namespace = await import(pathToFileURL(module).href);
  } catch (error) {
    const first = String(error && error.message).split("\n")[0];
    let hint = "";
    if (error && error.code === "ERR_UNKNOWN_FILE_EXTENSION") {
      hint = " (a TypeScript module needs a runner: pass --node-runner=tsx, or compile it to JavaScript)";
    }
    throw new BridgeError(`cannot load ${module}: ${error && error.name}: ${first}${hint}`);
  }
  const exported = Object.keys(namespace).filter((key) => key !== "default");
  const commonjs = namespace.default !== null && typeof namespace.default === "object" ? namespace.default : null;
  const available = [...new Set([...exported, ...(commonjs ? Object.keys(commonjs).filter((k) => k !== "__esModule") : [])])];
  const listing = available.length ? `it exports ${available.join(", ")}` : "it exports nothing";
  let target;
  if (exportName) {
    target = namespace[exportName];
    if (target === undefined && commonjs) target = commonjs[exportName];
    if (target === undefined) throw new BridgeError(`${module} has no export named ${exportName}; ${listing}`);
    exportLabel = exportName;
  } else {
    target = namespace.default;
    // A TypeScript module compiled to CommonJS keeps its default export under exports.default.
    if (commonjs && commonjs.__esModule && commonjs.default !== undefined) target = commonjs.default;
    if (target === undefined || (commonjs && typeof target !== "function")) {
      throw new BridgeError(`${module} has no default export that is a class or function; ${listing}: name one as node:PATH:EXPORT`);
    }
    exportLabel = "default export";
  }
  if (typeof target !== "function") {
    throw new BridgeError(`${exportLabel} of ${module} is ${describe(target)}, not a class or factory function`);
  }
  storeExport = target;
  return {
    export: exportLabel,
    name: target.name || "",
    kind: constructsWithNew(target) ? "class" : "function",
    // What the store tells the kit before any store is built (docs/node-bridge.md,
    // "Declarations"): whether it takes options at all, read from its parameter list, and
    // the static declarations that override what the kit would read.
    takesOptions: takesOptions(target),
    acceptsTtl: staticBoolean(target, "acceptsTtl"),
    acceptsClock: staticBoolean(target, "acceptsClock"),
    // The older name for acceptsClock = false: a backend that expires sessions by its own clock.
    realTime: target.expiresInRealTime === true,
  };
}

function staticBoolean(target, name) {
  return typeof target[name] === "boolean" ? target[name] : null;
}

// --- reading a parameter list -------------------------------------------------------------
//
// Python reads a store's signature; JavaScript keeps no parameter names at run time, but it
// keeps the source text. A class or factory whose parameter list is empty takes no options:
// the kit judges it as it judges a Python store whose signature names neither ttl_seconds
// nor clock. `fn.length` cannot tell: `constructor(options = {})` has length 0 too.

// The significant characters of `source` from `start`: strings, template literals, regular
// expressions and comments are skipped whole (a regex is told from a division by the
// character before it, which is enough for the head of a function or a class body).
function* significant(source, start = 0) {
  let index = start;
  let previous = ""; // the last significant character
  let word = ""; // the identifier that ends with it, if any
  let joined = false; // whether the next identifier character continues `word`
  const regexMayFollow = () =>
    previous === "" || "(,=:[!&|?{};+-*%<>~^".includes(previous) || KEYWORDS_BEFORE_REGEX.has(word);
  while (index < source.length) {
    const char = source[index];
    const next = source[index + 1];
    if (char === "/" && next === "/") {
      const end = source.indexOf("\n", index);
      index = end === -1 ? source.length : end + 1;
      joined = false;
    } else if (char === "/" && next === "*") {
      const end = source.indexOf("*/", index + 2);
      index = end === -1 ? source.length : end + 2;
      joined = false;
    } else if (char === "'" || char === '"' || char === "`") {
      index = skipQuoted(source, index, char);
      previous = char;
      word = "";
      joined = false;
    } else if (char === "/" && regexMayFollow()) {
      index = skipRegex(source, index);
      previous = "/";
      word = "";
      joined = false;
    } else if (/\s/.test(char)) {
      index += 1;
      joined = false;
    } else {
      yield [index, char];
      const identifier = /[\w$]/.test(char);
      word = identifier ? (joined ? word + char : char) : "";
      joined = identifier;
      previous = char;
      index += 1;
    }
  }
}

const KEYWORDS_BEFORE_REGEX = new Set(["return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "yield", "await"]);

function skipQuoted(source, index, quote) {
  let at = index + 1;
  while (at < source.length && source[at] !== quote) {
    if (source[at] === "\\") at += 1;
    else if (quote === "`" && source[at] === "$" && source[at + 1] === "{") {
      at = closing(source, at + 1, "{", "}");
    }
    at += 1;
  }
  return at + 1;
}

function skipRegex(source, index) {
  let at = index + 1;
  let inClass = false;
  while (at < source.length) {
    const char = source[at];
    if (char === "\\") at += 1;
    else if (char === "[") inClass = true;
    else if (char === "]") inClass = false;
    else if (char === "/" && !inClass) break;
    else if (char === "\n") break;
    at += 1;
  }
  return at + 1;
}

// The index of the bracket that closes the one at `open`.
function closing(source, open, opening, closer) {
  let depth = 0;
  for (const [index, char] of significant(source, open)) {
    if (char === opening) depth += 1;
    else if (char === closer && --depth === 0) return index;
  }
  return source.length;
}

function parameterText(source, open) {
  const inner = source.slice(open + 1, closing(source, open, "(", ")"));
  return [...significant(inner)].map(([, char]) => char).join("");
}

// The parameter list of a function's source, as significant characters ("" when empty).
function functionParameters(source) {
  const arrow = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(source);
  if (arrow && arrow[1] !== "function") return arrow[1];
  for (const [index, char] of significant(source)) {
    if (char === "(") return parameterText(source, index);
    if (char === "{" || char === "=") break;
  }
  return null;
}

// Identifiers and single punctuation characters, with their index, skipping what
// `significant` skips.
function* tokens(source) {
  let word = "";
  let wordStart = -1;
  let wordEnd = -1;
  for (const [index, char] of significant(source)) {
    if (/[\w$]/.test(char) && (word === "" || wordEnd === index - 1)) {
      if (word === "") wordStart = index;
      word += char;
      wordEnd = index;
      continue;
    }
    if (word) yield [wordStart, word];
    word = "";
    if (/[\w$]/.test(char)) {
      word = char;
      wordStart = wordEnd = index;
    } else {
      yield [index, char];
    }
  }
  if (word) yield [wordStart, word];
}

// The parameter list of a class's own constructor; undefined when it has none.
function constructorParameters(source) {
  let depth = 0;
  let body = false;
  let last = "";
  let beforeLast = "";
  for (const [index, token] of tokens(source)) {
    if (token === "(" && body && depth === 1 && last === "constructor" && beforeLast !== "." && beforeLast !== "static") {
      return parameterText(source, index);
    }
    if (token === "(" || token === "[" || token === "{") {
      if (token === "{" && depth === 0) body = true;
      depth += 1;
    } else if (token === ")" || token === "]" || token === "}") {
      depth -= 1;
      if (body && depth === 0) return undefined;
    }
    beforeLast = last;
    last = token;
  }
  return null; // the body never closed: the source was not read right
}

// Whether the export takes an options object: false when its parameter list (for a class,
// its constructor's, inherited when it has none of its own) is empty; true when it cannot
// be told, as the kit passed options before it read parameter lists.
function takesOptions(target) {
  for (let current = target; typeof current === "function"; current = Object.getPrototypeOf(current)) {
    if (current === Function.prototype) return false; // a class whose chain defines no constructor
    const source = Function.prototype.toString.call(current);
    if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) return true;
    if (!/^class\b/.test(source)) {
      const parameters = functionParameters(source);
      return parameters === null ? true : parameters !== "";
    }
    const parameters = constructorParameters(source);
    if (parameters === null) return true;
    if (parameters !== undefined) return parameters !== "";
  }
  return true;
}

function constructsWithNew(target) {
  if (/^class\b/.test(Function.prototype.toString.call(target))) return true;
  // A class compiled to an ES5 constructor function keeps its methods on the prototype.
  const proto = target.prototype;
  return Boolean(proto) && METHODS.some((name) => typeof proto[name] === "function");
}

async function construct({ options, specials }) {
  const given = decode(options, specials);
  const made = constructsWithNew(storeExport) ? new storeExport(given) : await storeExport(given);
  if (made === null || typeof made !== "object") {
    throw new BridgeError(`${exportLabel} returned ${describe(made)}, not a store object`);
  }
  const missing = METHODS.filter((name) => typeof made[name] !== "function");
  if (missing.length) {
    const snake = ["session_exists", "create_session", "get_session", "update_session", "delete_session"].filter(
      (name) => typeof made[name] === "function",
    );
    const hint = snake.length ? ` (it has ${snake.join(", ")}: JavaScript stores use the camelCase names)` : "";
    throw new BridgeError(
      `the store built by ${exportLabel}${storeExport.name && storeExport.name !== exportLabel ? ` (${storeExport.name})` : ""} has no method ${missing.join(", ")}${hint}; ` +
        `a session store needs ${METHODS.join(", ")}, each async`,
    );
  }
  const id = nextStore++;
  stores.set(id, made);
  const methods = {};
  for (const name of METHODS) methods[name] = made[name].constructor && made[name].constructor.name === "AsyncFunction" ? "async" : "function";
  // As in Python, where a class attribute is seen on every instance: the store object's own
  // declaration first, then a static one on its class or on the export.
  const declaration = (name) => {
    for (const holder of [made, made.constructor, storeExport]) {
      if (holder !== null && holder !== undefined && holder[name] !== undefined && holder[name] !== null) return holder[name];
    }
    return null;
  };
  const mapping = (name) => {
    const value = declaration(name);
    return value !== null && typeof value === "object" ? encode(value).value : null;
  };
  const shares = declaration("sharesSessionsAcrossInstances");
  return {
    store: id,
    className: made.constructor && made.constructor.name ? made.constructor.name : "",
    methods,
    shares: typeof shares === "boolean" ? shares : null,
    revisions: declaredRevisions(made),
    notApplicable: mapping("conformanceNotApplicable"),
    notes: mapping("conformanceNotes"),
  };
}

// Whether the store keeps revisions: its own supportsRevisions, else a static one on its class
// or on the export (a subclass's static overrides its parent's).
function declaredRevisions(made) {
  for (const holder of [made, made.constructor, storeExport]) {
    if (holder !== null && holder !== undefined && typeof holder.supportsRevisions === "boolean") {
      return holder.supportsRevisions;
    }
  }
  return null;
}

async function call({ store: storeId, method, args, specials, watch, watchResult }) {
  const store = stores.get(storeId);
  if (!store) throw new BridgeError(`no store ${storeId} in this host (closed already?)`);
  if (!METHODS.includes(method)) throw new BridgeError(`${method} is not a session store method`);
  const values = decode(args, specials);
  for (const [index, handle] of watch || []) {
    if (values[index] !== null && typeof values[index] === "object") handles.set(handle, values[index]);
  }
  const returned = store[method](...values);
  if (returned === null || (typeof returned !== "object" && typeof returned !== "function") || typeof returned.then !== "function") {
    throw new BridgeError(
      `${method} returned ${describe(returned)} (${String(returned)}), not a Promise: the store's methods must be async ` +
        "(an async function, or one that returns a Promise)",
    );
  }
  const result = await returned;
  if (watchResult && result !== null && typeof result === "object") handles.set(watchResult, result);
  return encode(result);
}

// The Python caller changed an object that crossed the bridge (an argument it passed, or a
// record it got back): make the same change to the JavaScript object, in place, so a store
// that kept a reference to it sees what a JavaScript caller's change would have done.
function mirror({ handle, edits }) {
  const root = handles.get(handle);
  if (root === undefined) return;
  for (const [op, path, key, value, specials] of edits) {
    try {
      let target = root;
      for (const step of path) target = target[step];
      if (target === null || typeof target !== "object") continue;
      if (op === "set") setOwn(target, key, decode(value, specials));
      else if (op === "del") delete target[key];
      else if (op === "len") target.length = key;
    } catch {
      // A frozen or read-only record refuses the change, as it would a JavaScript caller's.
    }
  }
}

async function dispose({ store: storeId }) {
  const store = stores.get(storeId);
  stores.delete(storeId);
  if (store && typeof store.close === "function") await store.close();
  else if (store && typeof store[Symbol.asyncDispose] === "function") await store[Symbol.asyncDispose]();
  return null;
}

const OPERATIONS = { load, construct, call, dispose };

async function handle(message) {
  if (message.release) for (const handleId of message.release) handles.delete(handleId);
  if ("now" in message) fakeNow = message.now;
  if ("zone" in message) setLocalZone(message.zone);
  if (message.op === "mirror") {
    mirror(message);
    return;
  }
  const operation = OPERATIONS[message.op];
  try {
    if (!operation) throw new BridgeError(`unknown operation ${message.op}`);
    const result = await operation(message);
    if (result && message.op === "call") send({ id: message.id, ok: true, result: result.value, specials: result.specials });
    else send({ id: message.id, ok: true, result: result === undefined ? null : result });
  } catch (error) {
    const kind = error instanceof BridgeError ? "bridge" : "store";
    send({ id: message.id, ok: false, kind, error: describeError(error) });
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let message;
  try {
    message = JSON.parse(line);
  } catch (error) {
    process.stderr.write(`node host: unreadable request: ${error.message}\n`);
    return;
  }
  handle(message);
});
// The Python side closed the pipe: it is done (or gone), and so is the host.
lines.on("close", () => process.exit(0));

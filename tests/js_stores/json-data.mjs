// Session data as one JSON string, for JavaScript stores on backends that hold text.
// JSON text of the data, with what JSON text cannot say exactly (a BigInt beyond 2^53, -0)
// listed beside it by path, so it comes back as it was sent.
export function encodeData(data) {
  const specials = [];
  const walk = (value, path) => {
    if (typeof value === "bigint") {
      specials.push([path, "bigint"]);
      return value.toString();
    }
    if (Object.is(value, -0)) {
      specials.push([path, "-0"]);
      return 0;
    }
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    }
    return value;
  };
  const text = JSON.stringify(walk(data, []));
  return { text, specials: JSON.stringify(specials) };
}

export function decodeData(text, specials) {
  const data = JSON.parse(text);
  for (const [path, kind] of JSON.parse(specials)) {
    let parent = data;
    for (const step of path.slice(0, -1)) parent = parent[step];
    const last = path[path.length - 1];
    parent[last] = kind === "bigint" ? BigInt(parent[last]) : -0;
  }
  return data;
}

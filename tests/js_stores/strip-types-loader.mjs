// For the bridge's own tests of --node-runner: a minimal loader that lets `node --import` load a
// .ts file whose code is already plain JavaScript (no tsx needed). register() needs Node 20.6+.
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(
      'export async function load(url, context, next) {' +
        '  if (url.endsWith(".ts")) return next(url, { ...context, format: "module" });' +
        "  return next(url, context);" +
        "}",
    ),
  import.meta.url,
);

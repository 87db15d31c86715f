// Bundles the UI into dist/: index.html, assets/app.js and assets/app.css. The Rust build embeds
// dist/ into the pharos binary (crates/ui), so run this before `cargo build`.
import { build } from "esbuild";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";

const started = Date.now();
rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });
const result = await build({
  entryPoints: { app: "src/main.tsx" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  outdir: "dist/assets",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});
writeFileSync(
  "dist/index.html",
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Pharos</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<div id="app"></div>
</body>
</html>
`,
);
const sizes = Object.entries(result.metafile.outputs)
  .map(([file, o]) => `${file} ${(o.bytes / 1024).toFixed(1)} KiB`)
  .join(", ");
console.log(`ui: built ${sizes} in ${Date.now() - started} ms`);

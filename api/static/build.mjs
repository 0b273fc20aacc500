// The front-end build step (`npm run build`, run by `make deps` after `npm ci`): copy the bundles the
// pages use from node_modules (installed from package-lock.json) into api/static/vendor/, which git
// ignores. Nothing is ever loaded from a CDN: production has no internet.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = join(root, "api", "static", "vendor");
const modules = join(root, "node_modules");

const COPIES = {
  "bpmn-js": ["dist/bpmn-navigated-viewer.production.min.js", "dist/bpmn-modeler.production.min.js", "dist/assets"],
  "dmn-js": ["dist/dmn-viewer.production.min.js", "dist/dmn-modeler.production.min.js", "dist/assets"],
  "echarts": ["dist/echarts.min.js"],
  "htmx.org": ["dist/htmx.min.js"],
};

rmSync(out, { recursive: true, force: true });
const manifest = {};
for (const [name, paths] of Object.entries(COPIES)) {
  const pkg = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));
  manifest[name] = pkg.version;
  for (const path of paths) {
    const target = join(out, name, path.replace(/^dist\//, ""));
    mkdirSync(dirname(target), { recursive: true });
    cpSync(join(modules, name, path), target, { recursive: true });
  }
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`front-end libraries copied to api/static/vendor: ${JSON.stringify(manifest)}`);

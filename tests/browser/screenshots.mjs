// Screenshots of presets for a person to look at: serves a release build (DIST, default
// target/dist-release) on localhost and saves one PNG per preset, width and theme.
//
//   node tests/browser/screenshots.mjs OUT_DIR [PRESET_PREFIX] [WIDTHS]
//   node tests/browser/screenshots.mjs /tmp/shots kv/ 1280,360
//
// Not a test: it checks nothing; it makes the pictures that the closing notes say were seen.

import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(process.env.DIST || path.join(here, "../../target/dist-release"));
const TOOLS = process.env.TOOLS || path.join(os.homedir(), ".cache/commitscope/tools");
const requireTool = createRequire(path.join(TOOLS, "npm", "node_modules", "noop.js"));
const { chromium } = requireTool("playwright-core");

const [out = "/tmp/shots", prefix = "kv/", widthList = "1280,360"] = process.argv.slice(2);
const widths = widthList.split(",").map(Number);
const presetsDir = path.join(here, "../../crates/protocols/presets");
const presets = fs
  .readdirSync(presetsDir, { recursive: true })
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.replace(/\.json$/, "").split(path.sep).join("/"))
  .filter((id) => id.startsWith(prefix))
  .sort();

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".svg": "image/svg+xml" };
const server = http.createServer((req, res) => {
  const rel = decodeURIComponent(new URL(req.url, "http://localhost").pathname.slice(1)) || "index.html";
  const file = path.join(DIST, rel);
  if (!file.startsWith(DIST) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium" });
fs.mkdirSync(out, { recursive: true });
for (const id of presets) {
  for (const width of widths) {
    for (const scheme of ["light", "dark"]) {
      const page = await browser.newPage({ viewport: { width, height: width > 800 ? 900 : 800 }, colorScheme: scheme });
      await page.goto(`${origin}/#v=1&p=${id}`);
      await page.waitForSelector("svg.diagram, .diagram svg", { timeout: 20000 }).catch(() => {});
      await page.waitForTimeout(400);
      const file = path.join(out, `${id.replace("/", "_")}-${width}-${scheme}.png`);
      await page.screenshot({ path: file, fullPage: false });
      await page.close();
      console.log(file);
    }
  }
}
await browser.close();
server.close();

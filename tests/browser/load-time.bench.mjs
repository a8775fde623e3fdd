// Benchmark (not a test): how long the release build's app page takes from navigation to
// interactive on localhost, in headless Chromium. Serves DIST (default target/dist-release)
// with a small static server, opens index.html N times (default 15, a fresh page each time,
// cache disabled), and reads off the page's own clock (performance.now(), which starts at
// navigation) at the moment the diagram has drawn its arrows and the Play button can be
// clicked: a MutationObserver installed before the page loads records that moment, so the
// figure does not include the time the harness takes to look. For scale, it also loads a
// static page (no script) with the same stylesheet: this browser's floor on this machine.
// Also the first contentful paint of the app page (its loading status). Prints the medians
// and the worst; scripts/bench-browser.sh runs it.
//
//   node tests/browser/load-time.bench.mjs

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
const RUNS = Number(process.env.RUNS || 15);
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".svg": "image/svg+xml" };

const server = http.createServer((req, res) => {
  if (req.url === "/__static.html") {
    res.writeHead(200, { "Content-Type": "text/html", "Cache-Control": "no-store" });
    return res.end(STATIC);
  }
  const rel = decodeURIComponent(new URL(req.url, "http://x").pathname).replace(/^\/+/, "") || "index.html";
  const file = path.join(DIST, rel);
  if (!file.startsWith(DIST + path.sep) || !fs.existsSync(file)) {
    res.writeHead(404);
    return res.end();
  }
  res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] || "application/octet-stream", "Cache-Control": "no-store" });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/index.html`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
// Installed before any of the page's scripts: notes the moment the app is interactive.
function watch() {
  const ready = () => document.querySelector("svg.diagram .arrow") && document.querySelector("button.play:not([disabled])");
  new MutationObserver((_, o) => {
    if (ready()) {
      window.__interactive = performance.now();
      o.disconnect();
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
}
const STATIC = `<!doctype html><html><head><link rel="stylesheet" href="style.css"></head><body>
<svg class="diagram" width="100" height="100"><line class="arrow" x1="0" y1="0" x2="50" y2="50" stroke="black"/></svg>
<button class="play">Play</button></body></html>`;

// The interactive moments and the first contentful paints (the page's first pixels: the
// loading status on the app page), sorted.
async function measure(target) {
  const times = [];
  const paints = [];
  const painted = () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime;
  for (let i = 0; i < RUNS; i++) {
    const page = await browser.newPage();
    await page.addInitScript(watch);
    await page.goto(target, { waitUntil: "commit" });
    await page.waitForFunction(() => window.__interactive !== undefined);
    times.push(await page.evaluate(() => window.__interactive));
    await page.waitForFunction(painted);
    paints.push(await page.evaluate(painted));
    await page.close();
  }
  const sort = (t) => t.sort((a, b) => a - b);
  return [sort(times), sort(paints)];
}
const report = (what, t) =>
  console.log(`BENCH ${what}: n=${RUNS} median ${t[Math.floor(t.length / 2)].toFixed(0)} ms, best ${t[0].toFixed(0)} ms, worst ${t[t.length - 1].toFixed(0)} ms`);
const [app, appPaint] = await measure(url);
report("page interactive after navigation", app);
report("first contentful paint of the app page", appPaint);
report("for scale, a static page with the same stylesheet", (await measure(url.replace("index.html", "__static.html")))[0]);
await browser.close();
server.close();

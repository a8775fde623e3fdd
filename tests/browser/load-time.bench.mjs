// Benchmark (not a test): how long the release build's app page takes from navigation to
// interactive on localhost, in headless Chromium. Serves DIST (default target/dist-release)
// with a small static server, opens index.html N times (default 15, a fresh page each time,
// cache disabled), and reads off the page's own clock (performance.now(), which starts at
// navigation) when the diagram has drawn its arrows and the Play button can be clicked.
// Prints the median and the worst; scripts/bench-browser.sh runs it.
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
const times = [];
for (let i = 0; i < RUNS; i++) {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForSelector("svg.diagram .arrow");
  await page.waitForSelector("button.play:not([disabled])");
  times.push(await page.evaluate(() => performance.now()));
  await page.close();
}
await browser.close();
server.close();
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`BENCH page interactive after navigation: n=${RUNS} median ${median.toFixed(0)} ms, best ${times[0].toFixed(0)} ms, worst ${times[times.length - 1].toFixed(0)} ms`);

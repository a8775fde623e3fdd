// The release build in headless Chromium, as a course page would serve it: under a
// sub-path (/course/sub/) and with a strict Content-Security-Policy header. Builds nothing:
// it serves the dist that scripts/test.sh's trunk step made (DIST, default
// target/dist-release) with a small static server of its own, and drives Chromium
// (/usr/bin/chromium, or $CHROMIUM) with playwright-core; axe-core audits the pages. Both
// come from npm at pinned versions (scripts/setup.sh installs them into $TOOLS/npm).
//
//   node --test tests/browser/course.test.mjs   # after scripts/test.sh's trunk step
//   SCREENSHOTS=/tmp/shots node --test tests/browser/course.test.mjs   # also saves screenshots
//
// Checks: the three widgets of course.html draw their runs; the wasm is fetched once; no
// CSP violation, console error or failed request; every request stays under the sub-path;
// two widgets are driven independently (buttons and keyboard focus); bad attributes give a
// message inside the widget; embed.html takes its options from the URL; the app page
// (index.html) runs under the same CSP; reduced motion stops autoplay; axe-core reports no
// serious or critical violation on the app page and the course page, light and dark.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
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
const AXE = fs.readFileSync(requireTool.resolve("axe-core/axe.min.js"), "utf8");

const PREFIX = "/course/sub/";
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'";
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

let server;
let origin;
let browser;

/** Serves DIST under PREFIX (and nothing else) with the CSP header on every response. */
function serve(port) {
  return new Promise((resolve, reject) => {
    const s = http.createServer((req, res) => {
      const url = new URL(req.url, "http://localhost");
      const headers = { "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" };
      const rel = url.pathname.startsWith(PREFIX) ? decodeURIComponent(url.pathname.slice(PREFIX.length)) : null;
      const file = rel === null ? null : path.join(DIST, rel === "" ? "index.html" : rel);
      if (!file || !file.startsWith(DIST + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404, { ...headers, "Content-Type": "text/plain" });
        res.end("not found");
        return;
      }
      res.writeHead(200, { ...headers, "Content-Type": TYPES[path.extname(file)] || "application/octet-stream" });
      fs.createReadStream(file).pipe(res);
    });
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
}

before(async () => {
  assert.ok(fs.existsSync(path.join(DIST, "course.html")), `no release build in ${DIST} (run trunk build first)`);
  const port = Number(process.env.CSP_PORT || 8111);
  // The agreed port, or any free one when it is taken.
  server = await serve(port).catch(() => serve(0));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A fresh page that records CSP violations, console errors and warnings, page errors,
 *  failed requests and every request's URL. */
async function open(file, { hold, ...options } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  // `hold`: requests for this file wait until `release()` is called.
  let release = () => {};
  if (hold) {
    const released = new Promise((r) => (release = r));
    await page.route(`**/${hold}`, async (route) => {
      await released;
      await route.continue();
    });
  }
  const seen = { console: [], warnings: [], errors: [], failed: [], requests: [] };
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    }, true);
  });
  page.on("console", (m) => {
    if (m.type() === "error") seen.console.push(m.text());
    if (m.type() === "warning") seen.warnings.push(m.text());
  });
  page.on("pageerror", (e) => seen.errors.push(String(e)));
  page.on("requestfailed", (r) => seen.failed.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) seen.failed.push(`${r.url()} ${r.status()}`); });
  page.on("request", (r) => seen.requests.push(r.url()));
  const t0 = Date.now();
  await page.goto(`${origin}${PREFIX}${file}`, hold ? { waitUntil: "domcontentloaded" } : {});
  return { page, context, seen, t0, release };
}

async function assertClean(page, seen) {
  const csp = await page.evaluate(() => window.__csp);
  assert.deepEqual(csp, [], "CSP violations");
  assert.deepEqual(seen.console, [], "console errors");
  assert.deepEqual(seen.errors, [], "page errors");
  assert.deepEqual(seen.failed, [], "failed requests");
  const outside = seen.requests.filter((u) => !u.startsWith(`${origin}${PREFIX}`));
  assert.deepEqual(outside, [], "requests outside the sub-path");
}

const widget = (page, i) => page.locator("commit-scope").nth(i);

/** Waits until every <commit-scope> on the page has drawn a diagram with arrows. */
async function widgetsDrawn(page, n) {
  await page.waitForFunction((n) => {
    const all = [...document.querySelectorAll("commit-scope")];
    return all.length === n && all.every((e) => e.shadowRoot?.querySelector("svg.diagram .arrow"));
  }, n, { timeout: 20_000 });
}

const tag = async (w) => (await w.locator(".narration-tag").textContent()).trim();
/** Waits until the widget's narration tag matches (Yew renders on its own schedule). */
const expectTag = (w, re) => w.locator(".narration-tag", { hasText: re }).waitFor({ timeout: 5_000 });

/** Runs axe-core in the page (through the DevTools protocol: the CSP does not apply to
 *  it) and returns the serious and critical violations, after printing a summary. */
async function audit(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return { violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length,
      help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) })), passes: r.passes.length };
  });
  const byImpact = {};
  for (const v of result.violations) byImpact[v.impact] = (byImpact[v.impact] || 0) + 1;
  console.log(`axe ${name}: ${result.passes} rules pass; violations by impact ${JSON.stringify(byImpact)}` +
    result.violations.map((v) => `\n  ${v.impact} ${v.id} (${v.nodes}): ${v.help} ${v.targets.join(" ")}`).join(""));
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

async function screenshot(page, name) {
  if (!process.env.SCREENSHOTS) return;
  fs.mkdirSync(process.env.SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(process.env.SCREENSHOTS, `${name}.png`), fullPage: true });
}

test("the course page draws three widgets under a strict CSP, loading the wasm once", async () => {
  const { page, context, seen, t0 } = await open("course.html");
  await widgetsDrawn(page, 3);
  const ms = Date.now() - t0;
  const wasm = seen.requests.filter((u) => u.endsWith("/commitscope-web_bg.wasm"));
  const js = seen.requests.filter((u) => u.endsWith("/commitscope-web.js"));
  const size = fs.statSync(path.join(DIST, "commitscope-web_bg.wasm")).size;
  console.log(`course page: 3 widgets drawn ${ms} ms after navigation; wasm ${(size / 1024).toFixed(0)} KiB, fetched ${wasm.length}×`);
  assert.equal(wasm.length, 1, "the wasm is fetched once for three widgets");
  assert.equal(js.length, 1, "the wasm-bindgen module is loaded once");

  // 1. 2PC: the participants block once the coordinator is down.
  const twoPc = widget(page, 0);
  assert.match(await twoPc.locator(".cs-embed-title").textContent(), /participants block/);
  assert.equal(await twoPc.locator(".lanes .lane").count(), 4);
  assert.match(await tag(twoPc), /^start/, "at=start");
  await twoPc.locator("button[aria-label^='Jump to end']").click();
  await twoPc.locator("button[aria-label^='Jump to end'][disabled]").waitFor({ timeout: 5_000 });
  assert.equal(await twoPc.locator(".card-blocked").count(), 3, "three participants blocked in doubt");
  assert.equal(await twoPc.locator(".card .decision-commit, .card .decision-abort").count(), 0, "nobody decides");

  // 2. 3PC: autoplays to the end, where every participant has committed by timeout.
  const threePc = widget(page, 1);
  await threePc.locator("button.play", { hasText: "Play" }).waitFor({ timeout: 30_000 });
  assert.equal(await threePc.locator("button[aria-label^='Step forward']").isDisabled(), true, "played to the end");
  assert.equal(await threePc.locator(".card:not(.card-down) .decision-commit").count(), 3, "the three participants commit");
  assert.equal(await threePc.locator(".card-blocked").count(), 0, "nobody blocks");

  // 3. The saga (a scenario given as a child <script type="application/json">) compensates.
  const saga = widget(page, 2);
  assert.match(await saga.locator(".cs-embed-title").textContent(), /refund, then release/);
  assert.match(await saga.locator("[data-property='saga_compensates'] .prop-verdict").textContent(), /witnessed/);
  assert.ok((await saga.locator(".faults [data-fault='crash']").count()) >= 1, "controls=all shows the fault buttons");

  for (let i = 0; i < 3; i++) assert.equal(await widget(page, i).locator(".error").count(), 0, `widget ${i} has no error`);
  await assertClean(page, seen);
  await screenshot(page, "course-1280");
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(200);
  await screenshot(page, "course-360");
  await context.close();
});

test("two widgets are driven independently: buttons, keys and focus", async () => {
  const { page, context, seen } = await open("course.html");
  await widgetsDrawn(page, 3);
  const a = widget(page, 0);
  const c = widget(page, 2);
  const cStart = await tag(c);
  assert.match(await tag(a), /^start/);
  for (let i = 0; i < 3; i++) await a.locator("button[aria-label^='Step forward']").click();
  await expectTag(a, /^#2 /);
  assert.equal(await tag(c), cStart, "stepping one widget leaves the other");

  // Keys go to the widget that has the focus, and only to it.
  await a.locator(".diagram-scroll").click({ position: { x: 5, y: 60 } });
  await page.keyboard.press("ArrowRight");
  await expectTag(a, /^#3 /);
  assert.equal(await tag(c), cStart);
  await c.locator(".narration").click();
  const focus = await page.evaluate(() => {
    const [a, , c] = document.querySelectorAll("commit-scope");
    return { active: document.activeElement === c, inA: a.shadowRoot.activeElement !== null, inC: c.shadowRoot.activeElement?.className };
  });
  assert.deepEqual(focus, { active: true, inA: false, inC: "cs-app cs-embed" }, "the focus moved to the saga widget alone");
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  const n = Number(cStart.match(/^#(\d+) /)[1]);
  await expectTag(c, new RegExp(`^#${n - 2} `));
  const cNow = await tag(c);
  assert.match(await tag(a), /^#3 /, "the other one does not move");

  // Tab moves through one widget's controls, with a visible focus ring.
  await page.keyboard.press("Tab");
  const ring = await page.evaluate(() => {
    const el = document.querySelectorAll("commit-scope")[2].shadowRoot.activeElement;
    const s = getComputedStyle(el);
    return { tag: el.tagName, outline: `${s.outlineStyle} ${s.outlineWidth}` };
  });
  assert.equal(ring.outline, "solid 2px", `focus ring on ${ring.tag}`);

  // Play one: the other stays paused.
  await a.locator("button.play").click();
  await a.locator("button.play", { hasText: "Pause" }).waitFor({ timeout: 5_000 });
  assert.match(await c.locator("button.play").textContent(), /Play/);
  await a.locator("button.play").click();
  await a.locator("button.play", { hasText: "Play" }).waitFor({ timeout: 5_000 });
  assert.equal(await tag(c), cNow, "playing one widget leaves the other");
  await assertClean(page, seen);
  await context.close();
});

test("bad attributes show a message inside the widget; embed.html reads its URL", async () => {
  const { page, context, seen } = await open("course.html");
  await widgetsDrawn(page, 3);
  await page.evaluate(() => {
    const el = document.createElement("commit-scope");
    el.setAttribute("preset", "two_pc/nope");
    el.setAttribute("theme", "neon");
    el.setAttribute("height", "-3");
    document.querySelector("main").append(el);
  });
  await widgetsDrawn(page, 4);
  const bad = widget(page, 3);
  const err = await bad.locator(".error").textContent();
  for (const s of ['there is no preset "two_pc/nope"', 'theme: expected light, dark or auto, not "neon"', "height: expected"]) {
    assert.ok(err.includes(s), `${s} in ${err}`);
  }
  assert.equal(await bad.locator(".lanes .lane").count(), 4, "a run is drawn anyway");
  // Changing an attribute remounts the widget with the new options.
  await page.evaluate(() => document.querySelectorAll("commit-scope")[3].setAttribute("preset", "tcc/happy_path"));
  await bad.locator(".cs-embed-title", { hasText: "TCC" }).waitFor();
  await assertClean(page, seen);
  await context.close();

  const iframe = await open("embed.html?preset=two_pc/lost_commit&controls=play&theme=dark&at=5");
  await widgetsDrawn(iframe.page, 1);
  const w = widget(iframe.page, 0);
  assert.equal(await w.locator(".cs-app").getAttribute("data-theme"), "dark");
  assert.equal(await w.locator(".playback button").count(), 1, "controls=play: the play button alone");
  await expectTag(w, /^#5 /);
  assert.equal(await w.locator(".error").count(), 0);
  await assertClean(iframe.page, iframe.seen);
  await iframe.context.close();
});

test("the app page runs under the same CSP from the sub-path", async () => {
  const { page, context, seen } = await open("index.html");
  await page.locator("#app svg.diagram .arrow").first().waitFor({ timeout: 20_000 });
  await page.locator("button[aria-label^='Jump to start']").click();
  await page.keyboard.press("ArrowRight");
  await page.locator(".narration-tag", { hasText: /^#0 / }).waitFor({ timeout: 5_000 });
  await assertClean(page, seen);
  await screenshot(page, "app-1280");
  await context.close();
});

test("the app page says it is loading until the app replaces the message", async () => {
  const { page, context, seen, release } = await open("index.html", { hold: "commitscope-web_bg.wasm" });
  const status = page.locator("#app .cs-loading[role=status]");
  assert.match(await status.textContent(), /Loading CommitScope/);
  assert.ok(await status.isVisible());
  release();
  await page.locator("#app svg.diagram .arrow").first().waitFor({ timeout: 20_000 });
  assert.equal(await status.count(), 0);
  await assertClean(page, seen);
  await context.close();
});

test("reduced motion: no autoplay, no transitions", async () => {
  const { page, context, seen } = await open("course.html", { reducedMotion: "reduce" });
  await widgetsDrawn(page, 3);
  const threePc = widget(page, 1);
  assert.match(await threePc.locator(".notice").textContent(), /autoplay is off/);
  assert.match(await threePc.locator("button.play").textContent(), /Play/);
  const transition = await threePc.locator("button.play").evaluate((b) => getComputedStyle(b).transitionDuration);
  assert.equal(transition, "0s");
  await assertClean(page, seen);
  await context.close();
});

test("axe-core: no serious or critical violation on the app page and the course page", async () => {
  for (const colorScheme of ["light", "dark"]) {
    const app = await open("index.html", { colorScheme });
    await app.page.locator("#app svg.diagram .arrow").first().waitFor({ timeout: 20_000 });
    const appBad = await audit(app.page, `app page (${colorScheme})`);
    // And with a message in the inspector, the fault panel's network section open and the
    // keyboard help dialog up.
    await app.page.locator(".arrow[data-send='2']").focus();
    await app.page.keyboard.press("Enter");
    await app.page.locator(".inspector .payload").waitFor({ timeout: 5_000 });
    await app.page.locator(".partition summary").click();
    await app.page.keyboard.press("?");
    await app.page.locator("[role=dialog]").waitFor({ timeout: 5_000 });
    appBad.push(...await audit(app.page, `app page, inspector and help open (${colorScheme})`));
    await app.context.close();

    const course = await open("course.html", { colorScheme });
    await widgetsDrawn(course.page, 3);
    // Let the autoplaying widget finish, so the page holds still while axe reads it.
    await widget(course.page, 1).locator("button.play", { hasText: "Play" }).waitFor({ timeout: 30_000 });
    const courseBad = await audit(course.page, `course page (${colorScheme})`);
    if (colorScheme === "dark") await screenshot(course.page, "course-dark-1280");
    await course.context.close();
    assert.deepEqual(appBad, [], `app page (${colorScheme}): serious or critical violations`);
    assert.deepEqual(courseBad, [], `course page (${colorScheme}): serious or critical violations`);
  }
});

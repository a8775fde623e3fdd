// CommitScope's loader. One line on any page:
//
//   <script type="module" src="https://example.org/commitscope/embed.js"></script>
//   <commit-scope preset="two_pc/coordinator_crash_blocks" controls="play step"></commit-scope>
//
// It defines the <commit-scope> element. The WebAssembly module is fetched and compiled
// once for the whole page, on the first widget; each element then mounts its own Yew app
// (its own run, playback and keyboard focus) in its own shadow root, styled by style.css
// beside this file and untouched by the page's styles. Every URL is relative to this
// file, so the build works from any sub-path. No inline script or style: the page may
// run under `Content-Security-Policy: default-src 'self'; script-src 'self'
// 'wasm-unsafe-eval'; style-src 'self'`.
//
// The app page (index.html) loads this file too: the module's start function mounts the
// full app into `<div id="app" data-commitscope-app>`, and does nothing elsewhere.
// `embed.html?preset=…&controls=…` is the same widget for an <iframe>.

const base = new URL("./", import.meta.url);
const asset = (name) => new URL(name, base).href;

let module = null;

/** The wasm-bindgen module, initialised once however many widgets ask. */
function load() {
  if (!module) {
    module = import(asset("commitscope-web.js")).then(async (m) => {
      await m.default({ module_or_path: asset("commitscope-web_bg.wasm") });
      return m;
    });
  }
  return module;
}

/** The element's options: its attributes, a child <script type="application/json"> as the
 *  scenario, and with `data-from-url` the page's query and hash (embed.html). */
function optionsOf(el) {
  const options = {};
  if (el.hasAttribute("data-from-url")) {
    for (const part of [location.search.slice(1), location.hash.slice(1)]) {
      for (const [k, v] of new URLSearchParams(part)) options[k] = v;
    }
  }
  for (const a of el.attributes) options[a.name] = a.value;
  if (!("scenario" in options)) {
    const json = el.querySelector('script[type="application/json"]');
    if (json) options.scenario = json.textContent;
  }
  return options;
}

class CommitScopeElement extends HTMLElement {
  static observedAttributes = [
    "protocol", "preset", "scenario", "participants", "controls", "autoplay", "at", "height", "theme",
  ];

  connectedCallback() {
    this.#mount();
  }

  disconnectedCallback() {
    this.#unmount();
  }

  attributeChangedCallback(_name, before, after) {
    // An author (or a page script) changed the widget: show the new one.
    if (before !== after && this.isConnected && (this.widget || this.pending)) {
      this.#unmount();
      this.#mount();
    }
  }

  #unmount() {
    this.generation = (this.generation || 0) + 1;
    this.pending = null;
    if (this.widget) {
      this.widget.destroy();
      this.widget = null;
    }
  }

  #mount() {
    if (this.widget || this.pending) return;
    const shadow = this.shadowRoot || this.attachShadow({ mode: "open" });
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = asset("style.css");
    const root = document.createElement("div");
    root.className = "cs-mount";
    const status = document.createElement("p");
    status.className = "cs-loading";
    status.setAttribute("role", "status");
    status.textContent = "Loading CommitScope…";
    root.append(status);
    shadow.replaceChildren(css, root);
    const generation = (this.generation = (this.generation || 0) + 1);
    this.pending = load()
      .then((m) => {
        if (generation !== this.generation || !this.isConnected) return;
        this.pending = null;
        root.replaceChildren();
        this.widget = m.mountWidget(root, optionsOf(this), asset("index.html"));
      })
      .catch((err) => {
        if (generation !== this.generation) return;
        this.pending = null;
        status.className = "cs-loading error";
        status.setAttribute("role", "alert");
        status.textContent = `CommitScope could not start: ${err && err.message ? err.message : err}`;
      });
  }
}

if (!customElements.get("commit-scope")) {
  customElements.define("commit-scope", CommitScopeElement);
}

// The app page: start the module, whose start function mounts the full app.
if (document.querySelector("#app[data-commitscope-app]")) {
  load().catch((err) => {
    const app = document.getElementById("app");
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = `CommitScope could not start: ${err && err.message ? err.message : err}`;
    app.replaceChildren(p);
  });
}

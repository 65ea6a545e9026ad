// About tab: version from /api/version and the base URLs to give apps, computed from this page's
// own origin (the gateway and the UI share one listener).

import * as api from "../api.js";
import { h, fill, toast } from "../dom.js";
import { FORMATS, formatIcon } from "../icons.js";

let root;
let facts;

function baseUrls() {
  const origin = location.origin;
  return [
    ["openai", origin + "/v1", "OpenAI SDKs (base_url), most OpenAI-compatible apps"],
    ["openai_responses", origin + "/v1", "Codex and other Responses API clients"],
    ["anthropic", origin, "Anthropic SDKs and Claude Code (ANTHROPIC_BASE_URL)"],
    ["gemini", origin, "Google Gen AI SDKs (http_options base_url)"],
  ];
}

function mount(section) {
  root = section;
  facts = h("dl");
  const rows = baseUrls().map(([format, url, who]) => h("tr", null,
    h("td", null, h("span", { class: "with-icon" }, formatIcon(format), h("span", { text: FORMATS[format].label }))),
    h("td", null, h("code", { text: url })), h("td", { class: "muted", text: who })));
  fill(root,
    h("div", { class: "tab-head" }, h("h1", { id: "heading-about", text: "About" })),
    h("div", { class: "about" },
      h("div", { class: "card" },
        h("div", { class: "about-hero" },
          h("img", { src: "logo.svg", alt: "", width: 56, height: 56 }),
          h("div", null, h("h2", { text: "Tresor" }),
            h("p", { class: "muted", text: "Your personal LLM gateway: one local address for every app, and a one-click switch between providers." }))),
        facts),
      h("div", { class: "card" },
        h("h2", { text: "Point your apps here" }),
        h("div", { class: "table-wrap" }, h("table", { class: "table" },
          h("thead", null, h("tr", null, h("th", { text: "API" }), h("th", { text: "Base URL" }), h("th", { text: "For" }))),
          h("tbody", null, rows))),
        h("p", { class: "hint", text: "Use a model id, alias or announced name from the Downstreams and Aliases tabs. " +
          "When proxy keys are set in Settings, apps must send one as their API key." }))));
}

async function show() {
  try {
    const [version, health] = await Promise.all([api.get("/api/version"), api.get("/api/health")]);
    fill(facts,
      h("dt", { text: "Version" }), h("dd", { id: "about-version", text: version.version }),
      h("dt", { text: "Build" }), h("dd", { text: version.build_time || "—" }),
      h("dt", { text: "Status" }), h("dd", { text: health.status === "ok" ? "running" : String(health.status) }),
      h("dt", { text: "Address" }), h("dd", null, h("code", { text: location.origin })));
  } catch (err) {
    toast("Could not load the version: " + err.message, "error");
  }
}

export default { id: "about", title: "About", mount, show };

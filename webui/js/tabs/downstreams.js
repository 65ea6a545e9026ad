// Downstreams tab: providers as master/detail. Every field of the detail pane saves itself when
// it is committed (blur or Enter) with a PUT patch of just that field, so nothing is lost and no
// other field is overwritten (the Go UI once wiped fields by sending stale objects, 9dd9a53).

import * as api from "../api.js";
import { h, fill, field, checkbox, toast, act, FAILED, openModal, confirmDialog, empty, announce } from "../dom.js";
import { icon, formatIcon, FORMATS, FORMAT_IDS } from "../icons.js";

let root;
let listEl;
let detailEl;
let searchEl;
let items = [];
let selectedId = null;

const plural = (n, word) => n + " " + word + (n === 1 ? "" : "s");
const path = (id) => "/api/downstreams/" + api.seg(id);

function slug(name) {
  return String(name || "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
}

function mount(section) {
  root = section;
  searchEl = h("input", { type: "search", placeholder: "Search providers", "aria-label": "Search providers",
    oninput: renderList });
  listEl = h("ul", { class: "ds-list", "aria-label": "Providers" });
  detailEl = h("div", { class: "card ds-detail", "aria-live": "off" });
  fill(root,
    h("div", { class: "tab-head" }, h("h1", { id: "heading-downstreams", text: "Downstreams" }),
      h("button", { type: "button", class: "btn primary", id: "add-downstream", text: "+ Add provider", onclick: addDialog })),
    h("p", { class: "tab-intro", text: "The providers Tresor forwards to. A request for one of a provider's models goes straight to it; aliases can route any name to any of them." }),
    h("div", { class: "md-layout" }, h("div", { class: "card" }, searchEl, listEl), detailEl));
}

async function show() {
  try {
    items = await api.get("/api/downstreams");
  } catch (err) {
    toast("Could not load providers: " + err.message, "error");
    return;
  }
  if (!items.some((d) => d.id === selectedId)) selectedId = items.length ? items[0].id : null;
  renderList();
  renderDetail();
}

function renderList() {
  const needle = searchEl.value.trim().toLowerCase();
  const shown = items.filter((d) => !needle || [d.name, d.id, d.base_url, ...(d.output_model_ids || [])]
    .some((v) => String(v || "").toLowerCase().includes(needle)));
  fill(listEl, shown.map((d) => h("li", null, h("button", {
    type: "button", class: "ds-item", "aria-current": d.id === selectedId ? "true" : "false",
    onclick: () => select(d.id),
  }, icon(d.name, 28), h("span", { class: "ds-item-text" },
    h("span", { class: "ds-item-name", text: d.name }),
    h("span", { class: "ds-item-sub", text: plural((d.output_model_ids || []).length, "model") + " · " + (d.api_formats || []).map((f) => FORMATS[f] ? FORMATS[f].short : f).join(", ") }))))));
  if (!shown.length) listEl.append(h("li", null, empty(items.length ? "No provider matches." : "No providers yet.")));
}

function select(id) {
  selectedId = id;
  renderList();
  renderDetail();
  const name = detailEl.querySelector(".name-input");
  if (name) name.focus();
}

function current() {
  return items.find((d) => d.id === selectedId);
}

function replaceItem(ds) {
  const { warning, ...clean } = ds;
  items = items.map((d) => (d.id === clean.id ? clean : d));
  if (warning) toast(warning, "info");
  renderList();
  return clean;
}

/** PUT one patch for the selected provider; reports in the pane's save line and as a toast. */
async function save(patch, what) {
  const ds = current();
  const state = detailEl.querySelector(".save-state");
  state.className = "save-state";
  state.textContent = "Saving…";
  try {
    const saved = replaceItem(await api.put(path(ds.id), patch));
    state.className = "save-state ok";
    state.textContent = "✓ Saved";
    toast(what + " saved", "ok");
    return saved;
  } catch (err) {
    state.className = "save-state error";
    state.textContent = err.message;
    toast(err.message, "error");
    return FAILED;
  }
}

/** Save `input` when its value is committed (change on blur, or Enter), once per new value. */
function autoSave(input, makePatch, what) {
  input.dataset.saved = input.value;
  const commit = async () => {
    if (input.value === input.dataset.saved) return;
    const value = input.value;
    const result = await save(makePatch(value), what);
    input.setAttribute("aria-invalid", result === FAILED ? "true" : "false");
    if (result !== FAILED) input.dataset.saved = value;
  };
  input.addEventListener("change", commit);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); commit(); }
  });
  return input;
}

function renderDetail() {
  const ds = current();
  if (!ds) {
    fill(detailEl, empty("Add a provider to start: its base URL, API key, API formats and models."));
    return;
  }
  const nameInput = autoSave(h("input", { class: "name-input", value: ds.name, "aria-label": "Provider name" }),
    (v) => ({ name: v }), "Name");
  fill(detailEl,
    h("div", { class: "card-head" }, icon(ds.name, 36), nameInput,
      h("button", { type: "button", class: "btn danger small", text: "Delete", onclick: () => remove(ds) })),
    h("p", { class: "hint" }, "id ", h("code", { text: ds.id }), " · ", h("span", { class: "save-state", "aria-live": "polite" })),
    formatsBlock(ds),
    h("div", { class: "detail-grid" }, connectionBlock(ds), keyBlock(ds)),
    h("div", { class: "format-urls" }),
    modelsBlock(ds));
  renderFormatUrls(ds);
}

function formatsBlock(ds) {
  const set = h("fieldset", null, h("legend", { text: "API formats" }));
  const wrap = h("div", { class: "format-checks" });
  for (const format of FORMAT_IDS) {
    const box = checkbox("", (ds.api_formats || []).includes(format), { name: "fmt", value: format });
    box.row.replaceChildren(box.input, formatIcon(format), h("span", { text: FORMATS[format].label }));
    box.input.addEventListener("change", async () => {
      const chosen = [...wrap.querySelectorAll("input:checked")].map((i) => i.value);
      const saved = await save({ api_formats: chosen }, "API formats");
      if (saved === FAILED) box.input.checked = !box.input.checked;
      else renderFormatUrls(saved);
    });
    wrap.append(box.row);
  }
  set.append(wrap, h("p", { class: "hint", text: "The first checked format is the default; requests in other formats are translated." }));
  return set;
}

function connectionBlock(ds) {
  const base = autoSave(h("input", { type: "url", value: ds.base_url || "", placeholder: "https://api.example.com",
    spellcheck: "false" }), (v) => ({ base_url: v.trim() }), "Base URL");
  return field("API host (base URL)", base, "Requests go to this URL plus the API path, e.g. /v1/chat/completions.");
}

function keyBlock(ds) {
  const placeholder = () => (current().api_key ? "saved (" + current().api_key + ") — type to replace" : "no key — type one to add");
  const input = h("input", { type: "password", autocomplete: "off", spellcheck: "false", placeholder: placeholder() });
  const reveal = h("button", { type: "button", class: "btn small", text: "Show", "aria-pressed": "false" });
  input.dataset.saved = "";
  const commit = async () => {
    if (!input.value || input.value === input.dataset.saved) return;
    const result = await save({ api_key: input.value }, "API key");
    if (result !== FAILED) {
      input.value = "";
      input.type = "password";
      reveal.textContent = "Show";
      reveal.setAttribute("aria-pressed", "false");
      input.placeholder = placeholder();
    }
  };
  input.addEventListener("change", commit);
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); commit(); } });
  reveal.addEventListener("click", async () => {
    if (input.type === "text") {
      input.type = "password";
      if (input.value === input.dataset.saved) input.value = "";
      reveal.textContent = "Show";
      reveal.setAttribute("aria-pressed", "false");
      return;
    }
    if (!input.value && current().api_key) {
      const full = await act(() => api.get(path(ds.id) + "?reveal=1"));
      if (full === FAILED) return;
      input.value = full.api_key || "";
      input.dataset.saved = input.value;
    }
    input.type = "text";
    reveal.textContent = "Hide";
    reveal.setAttribute("aria-pressed", "true");
  });
  const row = field("API key", input, "Sent to the provider in its format's auth header. Stored in config.yaml.");
  const wrap = h("div", { class: "key-row" });
  row.insertBefore(wrap, input);
  wrap.append(input, reveal);
  return row;
}

function renderFormatUrls(ds) {
  const box = detailEl.querySelector(".format-urls");
  if (!box) return;
  const formats = ds.api_formats || [];
  if (!formats.length) {
    box.replaceChildren();
    return;
  }
  const urls = Object.assign({}, ds.format_urls || {});
  const set = h("fieldset", null, h("legend", { text: "Per-format URLs (optional)" }));
  for (const format of formats) {
    const input = h("input", { type: "url", value: urls[format] || "", placeholder: ds.base_url || "https://…",
      "aria-label": FORMATS[format].label + " URL", spellcheck: "false" });
    autoSave(input, (v) => {
      const next = Object.assign({}, current().format_urls || {});
      if (v.trim()) next[format] = v.trim(); else delete next[format];
      return { format_urls: next };
    }, FORMATS[format].short + " URL");
    set.append(h("div", { class: "format-url-row" }, h("span", { class: "with-icon" }, formatIcon(format), h("span", { text: FORMATS[format].label })), input));
  }
  set.append(h("p", { class: "hint", text: "Leave empty to use the base URL for that format." }));
  box.replaceChildren(set);
}

function modelsBlock(ds) {
  const models = ds.output_model_ids || [];
  const list = h("ul", { class: "model-list", "aria-label": "Models" }, models.map((m) => h("li", { class: "model-item" },
    icon(m, 20), h("span", { class: "mono", text: m }),
    h("button", { type: "button", class: "icon-btn danger", text: "×", "aria-label": "Remove model " + m,
      onclick: () => removeModel(ds, m) }))));
  const input = h("input", { placeholder: "model id, e.g. gpt-4.1", "aria-label": "New model id", spellcheck: "false" });
  const add = async () => {
    const model = input.value.trim();
    if (!model) { toast("Type a model id first.", "error"); input.focus(); return; }
    const saved = await act(() => api.post(path(ds.id) + "/models", { model_id: model }), "Added model " + model);
    if (saved === FAILED) return;
    replaceItem(saved);
    rerenderModels(true);
  };
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); add(); } });
  return h("section", { class: "models-block" },
    h("div", { class: "card-head" }, h("h3", { text: "Models (" + models.length + ")" }),
      h("button", { type: "button", class: "btn small", text: "⟳ Fetch from provider", onclick: () => fetchModels(ds) })),
    models.length ? list : empty("No models yet: add the model ids this provider serves."),
    h("div", { class: "row" }, input, h("button", { type: "button", class: "btn", id: "add-model", text: "+ Add model", onclick: add })));
}

function rerenderModels(focusInput) {
  const old = detailEl.querySelector(".models-block");
  if (!old) return;
  const fresh = modelsBlock(current());
  old.replaceWith(fresh);
  if (focusInput) fresh.querySelector("input").focus();
}

async function removeModel(ds, model) {
  const saved = await act(() => api.del(path(ds.id) + "/models/" + api.seg(model)), "Removed model " + model);
  if (saved === FAILED) return;
  replaceItem(saved);
  rerenderModels(false);
  const next = detailEl.querySelector(".models-block input");
  if (next) next.focus();
}

async function fetchModels(ds) {
  const found = await act(() => api.post(path(ds.id) + "/fetch-models"));
  if (found === FAILED) return;
  const ids = found.model_ids || [];
  const list = h("ul", { class: "fetch-list" });
  const render = () => {
    const have = new Set(current().output_model_ids || []);
    fill(list, ids.map((m) => h("li", null, icon(m, 18), h("span", { class: "mono", text: m }),
      have.has(m) ? h("span", { class: "badge ok", text: "Added" })
        : h("button", { type: "button", class: "btn small", text: "+ Add", "aria-label": "Add " + m, onclick: async () => {
          const saved = await act(() => api.post(path(ds.id) + "/models", { model_id: m }), "Added model " + m);
          if (saved !== FAILED) { replaceItem(saved); render(); rerenderModels(false); }
        } }))));
  };
  render();
  openModal({ title: ds.name + ": " + ids.length + " models offered", wide: false,
    content: ids.length ? list : empty("The provider listed no models.") });
}

async function remove(ds) {
  const ok = await confirmDialog("Delete provider", "Delete “" + ds.name + "”? Aliases that use it are removed, and rules stop matching it.");
  if (!ok) return;
  if (await act(() => api.del(path(ds.id)), "Deleted " + ds.name) === FAILED) return;
  items = items.filter((d) => d.id !== ds.id);
  selectedId = items.length ? items[0].id : null;
  renderList();
  renderDetail();
  announce("Deleted " + ds.name);
}

function addDialog() {
  const name = h("input", { required: true, autofocus: true, placeholder: "OpenAI" });
  const id = h("input", { placeholder: "generated from the name", spellcheck: "false" });
  const base = h("input", { type: "url", required: true, placeholder: "https://api.openai.com", spellcheck: "false" });
  const key = h("input", { type: "password", autocomplete: "off", placeholder: "optional" });
  name.addEventListener("input", () => { id.placeholder = slug(name.value) || "generated from the name"; });
  const boxes = FORMAT_IDS.map((f) => {
    const box = checkbox("", f === "openai", { value: f });
    box.row.replaceChildren(box.input, formatIcon(f), h("span", { text: FORMATS[f].label }));
    return box;
  });
  openModal({
    title: "Add provider",
    submitLabel: "Add provider",
    content: [field("Name", name), field("Base URL", base, "http:// or https://, e.g. https://api.anthropic.com"),
      field("API key", key), h("fieldset", null, h("legend", { text: "API formats" }), h("div", { class: "format-checks" }, boxes.map((b) => b.row))),
      field("ID (optional)", id, "Used in config.yaml and the API; letters, digits and dashes.")],
    onSubmit: async () => {
      if (!name.value.trim()) throw new Error("Name is required.");
      if (!base.value.trim()) throw new Error("Base URL is required.");
      const body = { name: name.value.trim(), base_url: base.value.trim(),
        api_formats: boxes.filter((b) => b.input.checked).map((b) => b.input.value) };
      const chosenId = id.value.trim() || slug(name.value);
      if (chosenId) body.id = chosenId;
      if (key.value) body.api_key = key.value;
      const created = await api.post("/api/downstreams", body);
      toast("Added provider " + created.name, "ok");
      if (created.warning) toast(created.warning, "info");
      const { warning, ...clean } = created;
      items.push(clean);
      selectedId = clean.id;
      renderList();
      renderDetail();
    },
  });
}

export default { id: "downstreams", title: "Downstreams", mount, show };

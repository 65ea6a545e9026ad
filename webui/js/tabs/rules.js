// Rules tab: which requests get which plugin pipeline. A table of rules (toggle, edit, delete),
// the rule dialog with its match conditions and the visual pipeline editor, and the list of
// available plugins with their config schemas.

import * as api from "../api.js";
import { h, fill, field, checkbox, toast, act, FAILED, openModal, confirmDialog, empty, newId } from "../dom.js";
import { FORMATS, FORMAT_IDS, formatIcon } from "../icons.js";
import { pipelineEditor } from "./pipeline.js";

let root;
let tableBody;
let pluginsBox;
let rules = [];
let plugins = [];
let downstreams = [];
let aliasGroups = [];
let loading = null; // the latest load: the rule dialog waits for it, so it never opens without plugins

function mount(section) {
  root = section;
  tableBody = h("tbody");
  pluginsBox = h("div", { class: "table-wrap" });
  fill(root,
    h("div", { class: "tab-head" }, h("h1", { id: "heading-rules", text: "Rules" }),
      h("button", { type: "button", class: "btn primary", id: "new-rule", text: "+ New rule", onclick: () => ruleDialog(null) })),
    h("p", { class: "tab-intro", text: "Rules add plugin steps to matching requests: every enabled rule that matches applies, most specific first. Rules never change which provider a request goes to." }),
    h("div", { class: "card" }, h("div", { class: "table-wrap" }, h("table", { class: "table", id: "rules-table" },
      h("thead", null, h("tr", null, ["Name", "Path", "Models", "Match", "Pipeline", "Enabled", ""].map((t) => h("th", { text: t })))),
      tableBody))),
    h("details", { class: "card" }, h("summary", null, h("strong", { text: "Available plugins" })), pluginsBox));
}

function show() {
  loading = load();
  return loading;
}

/** Fetch rules, plugins, providers and aliases and draw them; resolves false (after a toast) on failure. */
async function load() {
  try {
    [rules, plugins, downstreams, aliasGroups] = await Promise.all([api.get("/api/rules"), api.get("/api/plugins"),
      api.get("/api/downstreams"), api.get("/api/aliases")]);
  } catch (err) {
    toast("Could not load rules: " + err.message, "error");
    return false;
  }
  renderTable();
  renderPlugins();
  return true;
}

function parsePipeline(rule) {
  try {
    const steps = typeof rule.pipeline_config === "string" ? JSON.parse(rule.pipeline_config || "[]") : rule.pipeline_config;
    return Array.isArray(steps) ? steps : [];
  } catch (err) {
    return [];
  }
}

function matchBadges(rule) {
  const out = [];
  for (const f of rule.match_format || []) out.push(h("span", { class: "badge info", title: "client format", text: "in: " + f }));
  for (const f of rule.match_downstream_format || []) out.push(h("span", { class: "badge accent", title: "provider format", text: "out: " + f }));
  for (const id of rule.match_downstreams || []) {
    const ds = downstreams.find((d) => d.id === id);
    out.push(ds ? h("span", { class: "badge", text: "ds: " + ds.name }) : h("span", { class: "badge error", text: "ds: " + id + " (missing)" }));
  }
  return out.length ? h("div", { class: "chips" }, out) : h("span", { class: "muted", text: "any" });
}

function renderTable() {
  fill(tableBody, rules.map((rule) => {
    const models = rule.pattern_models || [];
    const steps = parsePipeline(rule);
    return h("tr", { dataset: { id: rule.id } },
      h("td", null, h("strong", { text: rule.name })),
      h("td", null, h("code", { text: rule.pattern_path })),
      h("td", { class: "mono", text: models.length ? models.slice(0, 2).join(", ") + (models.length > 2 ? " …" : "") : "any" }),
      h("td", null, matchBadges(rule)),
      h("td", { class: "mono", text: steps.length ? steps.map((s) => s.plugin_id).join(" → ") : "—" }),
      h("td", null, h("button", { type: "button", class: ["badge", rule.is_enabled ? "ok" : ""], "aria-pressed": rule.is_enabled ? "true" : "false",
        "aria-label": (rule.is_enabled ? "Disable " : "Enable ") + rule.name, text: rule.is_enabled ? "ON" : "OFF", onclick: () => toggle(rule) })),
      h("td", null, h("div", { class: "row" },
        h("button", { type: "button", class: "btn small", text: "Edit", "aria-label": "Edit " + rule.name, onclick: () => ruleDialog(rule) }),
        h("button", { type: "button", class: "btn small danger", text: "Delete", "aria-label": "Delete " + rule.name, onclick: () => remove(rule) }))));
  }));
  if (!rules.length) tableBody.append(h("tr", null, h("td", { colspan: 7 }, empty("No rules. Requests are forwarded as they are (translated when the provider speaks another format)."))));
}

function renderPlugins() {
  fill(pluginsBox, h("table", { class: "table" },
    h("thead", null, h("tr", null, h("th", { text: "Plugin" }), h("th", { text: "Description" }), h("th", { text: "Config" }))),
    h("tbody", null, plugins.map((p) => {
      const props = Object.keys((p.config_schema && p.config_schema.properties) || {});
      return h("tr", null, h("td", { class: "mono", text: p.id }), h("td", { text: p.description }),
        h("td", null, props.length ? h("pre", { class: "plugin-schema", text: JSON.stringify(p.config_schema.properties, null, 1) }) : h("span", { class: "muted", text: "none" })));
    }))));
}

async function toggle(rule) {
  const updated = await act(() => api.put("/api/rules/" + api.seg(rule.id), { is_enabled: !rule.is_enabled }),
    (r) => r.name + (r.is_enabled ? " enabled" : " disabled"));
  if (updated === FAILED) return;
  rules = rules.map((r) => (r.id === updated.id ? updated : r));
  renderTable();
  const button = tableBody.querySelector('tr[data-id="' + CSS.escape(updated.id) + '"] button[aria-pressed]');
  if (button) button.focus();
}

async function remove(rule) {
  if (!(await confirmDialog("Delete rule", "Delete the rule “" + rule.name + "”?"))) return;
  if (await act(() => api.del("/api/rules/" + api.seg(rule.id)), "Deleted " + rule.name) === FAILED) return;
  await show();
}

function formatChecks(legend, chosen, hint) {
  const boxes = FORMAT_IDS.map((f) => {
    const box = checkbox("", (chosen || []).includes(f), { value: f });
    box.row.replaceChildren(box.input, formatIcon(f), h("span", { text: FORMATS[f].label }));
    return box;
  });
  const el = h("fieldset", null, h("legend", { text: legend }), h("div", { class: "format-checks" }, boxes.map((b) => b.row)),
    h("p", { class: "hint", text: hint }));
  return { el, read: () => boxes.filter((b) => b.input.checked).map((b) => b.input.value) };
}

function knownModels() {
  const names = new Set();
  for (const d of downstreams) for (const m of d.output_model_ids || []) names.add(m);
  for (const g of aliasGroups) {
    names.add(g.input_model_id);
    for (const n of g.announced_names || []) names.add(n);
  }
  return [...names].sort();
}

/** A chip list of model names with a text input (suggestions from a datalist). */
function modelChips(initial) {
  const values = (initial || []).slice();
  const listId = newId("models");
  const chips = h("div", { class: "chips" });
  const input = h("input", { list: listId, placeholder: "model id, then Enter", spellcheck: "false" });
  const render = () => fill(chips, values.map((m) => h("span", { class: "chip" }, h("span", { class: "chip-text mono", text: m }),
    h("button", { type: "button", class: "chip-btn", text: "×", "aria-label": "Remove " + m, onclick: () => {
      values.splice(values.indexOf(m), 1);
      render();
      input.focus();
    } }))));
  const add = () => {
    const v = input.value.trim();
    if (v && !values.includes(v)) values.push(v);
    input.value = "";
    render();
  };
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); add(); } });
  render();
  const row = field("Models (empty = any model)", input, "The requested model, the resolved model, or an alias name.");
  row.append(chips, h("datalist", { id: listId }, knownModels().map((m) => h("option", { value: m }))));
  return { el: row, read: () => { add(); return values.slice(); } };
}

async function ruleDialog(rule) {
  if (!(await (loading || show()))) return;
  const isNew = !rule;
  const name = h("input", { value: rule ? rule.name : "", autofocus: true, placeholder: "e.g. Extra header for local models" });
  const pathInput = h("input", { value: rule ? rule.pattern_path : "*", spellcheck: "false" });
  const models = modelChips(rule ? rule.pattern_models : []);
  const inFormats = formatChecks("Client format (empty = any)", rule && rule.match_format, "The API format the app sent.");
  const outFormats = formatChecks("Provider format (empty = any)", rule && rule.match_downstream_format, "A format the provider declares.");
  const dsBoxes = downstreams.map((d) => checkbox(d.name, rule && (rule.match_downstreams || []).includes(d.id), { value: d.id }));
  const pipeline = pipelineEditor(plugins, rule ? parsePipeline(rule) : []);
  const enabled = checkbox("Enabled", rule ? rule.is_enabled : true);
  openModal({
    title: isNew ? "New rule" : "Edit rule " + rule.name, wide: true, submitLabel: isNew ? "Create rule" : "Save rule",
    content: [h("div", { class: "detail-grid" }, field("Name", name), field("Path", pathInput, "* for every path, or an exact path like /v1/messages.")),
      models.el, h("div", { class: "detail-grid" }, inFormats.el, outFormats.el),
      h("fieldset", null, h("legend", { text: "Providers (empty = any)" }),
        dsBoxes.length ? h("div", { class: "checks" }, dsBoxes.map((b) => b.row)) : empty("No providers yet.")),
      pipeline.el, enabled.row],
    onSubmit: async () => {
      if (!name.value.trim()) throw new Error("Name is required.");
      const body = {
        name: name.value.trim(), pattern_path: pathInput.value.trim() || "*", pattern_models: models.read(),
        match_format: inFormats.read(), match_downstream_format: outFormats.read(),
        match_downstreams: dsBoxes.filter((b) => b.input.checked).map((b) => b.input.value),
        pipeline_config: JSON.stringify(pipeline.read()), is_enabled: enabled.input.checked,
      };
      const saved = isNew ? await api.post("/api/rules", body) : await api.put("/api/rules/" + api.seg(rule.id), body);
      toast((isNew ? "Created rule " : "Saved rule ") + saved.name, "ok");
      await show();
    },
  });
}

export default { id: "rules", title: "Rules", mount, show };

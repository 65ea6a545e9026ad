// The visual pipeline editor of the rule dialog: an ordered list of plugin steps, each with a
// config form generated from the plugin's JSON schema (GET /api/plugins). Object-of-strings
// properties (custom_header's `headers`) get a key/value editor; keys the schema does not
// describe are kept as they were, so editing never drops configuration it does not understand.

import { h, fill, field, checkbox, newId, toast } from "../dom.js";

const label = (name) => name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

function kvEditor(title, value, hint) {
  const rows = h("div");
  const isHeaders = /header/i.test(title);
  const addRow = (key, val) => {
    const name = h("input", { value: key || "", placeholder: isHeaders ? "Header-Name" : "key", "aria-label": (isHeaders ? "Header name" : "Key"), spellcheck: "false" });
    const text = h("input", { value: val || "", placeholder: "value", "aria-label": (isHeaders ? "Header value" : "Value"), spellcheck: "false" });
    const row = h("div", { class: "kv-row" }, name, text,
      h("button", { type: "button", class: "icon-btn danger", text: "×", "aria-label": "Remove " + (isHeaders ? "header" : "entry"), onclick: () => row.remove() }));
    rows.append(row);
    return name;
  };
  const entries = Object.entries(value || {});
  for (const [k, v] of entries) addRow(k, String(v));
  if (!entries.length) addRow("", "");
  const add = h("button", { type: "button", class: "btn small", text: isHeaders ? "+ Add header" : "+ Add entry", onclick: () => addRow("", "").focus() });
  const el = h("div", { class: "field" }, h("span", { class: "label", text: label(title) }), rows, h("div", null, add),
    hint ? h("p", { class: "hint", text: hint }) : null);
  const read = () => {
    const out = {};
    for (const row of rows.children) {
      const [name, text] = row.querySelectorAll("input");
      if (name.value.trim()) out[name.value.trim()] = text.value;
    }
    return out;
  };
  return { el, read, isEmpty: () => !Object.keys(read()).length };
}

function scalarInput(name, prop, value) {
  if (prop.type === "boolean") {
    const box = checkbox(label(name), value === undefined ? !!prop.default : !!value);
    return { el: h("div", { class: "field" }, box.row, prop.description ? h("p", { class: "hint", text: prop.description }) : null),
      read: () => box.input.checked, isEmpty: () => false };
  }
  let input;
  if (Array.isArray(prop.enum)) {
    input = h("select", null, h("option", { value: "", text: "—" }), prop.enum.map((v) => h("option", { value: String(v), text: String(v) })));
    input.value = value === undefined ? "" : String(value);
  } else if (prop.type === "array") {
    input = h("textarea", { rows: 3, placeholder: "one per line" });
    input.value = Array.isArray(value) ? value.join("\n") : "";
  } else if (prop.type === "integer" || prop.type === "number") {
    input = h("input", { type: "number", step: prop.type === "integer" ? "1" : "any" });
    input.value = value === undefined ? "" : String(value);
  } else if (prop.type === "object") {
    input = h("textarea", { rows: 3, placeholder: "JSON object" });
    input.value = value === undefined ? "" : JSON.stringify(value, null, 2);
  } else {
    input = h("input", { spellcheck: "false" });
    input.value = value === undefined ? "" : String(value);
  }
  const read = () => {
    const raw = input.value;
    if (raw.trim() === "") return undefined;
    if (prop.type === "array") return raw.split("\n").map((x) => x.trim()).filter(Boolean);
    if (prop.type === "integer" || prop.type === "number") return Number(raw);
    if (prop.type === "object") {
      try { return JSON.parse(raw); } catch (err) { throw new Error(label(name) + " is not valid JSON: " + err.message); }
    }
    return raw;
  };
  return { el: field(label(name), input, prop.description), read, isEmpty: () => input.value.trim() === "" };
}

/** A form for `schema` (a JSON schema object) prefilled from `config`; read() returns the config or undefined. */
export function configForm(schema, config) {
  const props = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  const names = Object.keys(props);
  if (!names.length) {
    const kept = config && Object.keys(config).length ? config : undefined;
    return { el: h("p", { class: "hint", text: kept ? "Configuration kept as saved: " + JSON.stringify(kept) : "No configuration required." }), read: () => kept };
  }
  const controls = names.map((name) => {
    const prop = props[name] || {};
    const value = config ? config[name] : undefined;
    const isMap = prop.type === "object" && prop.additionalProperties && typeof prop.additionalProperties === "object";
    return [name, isMap ? kvEditor(name, value, prop.description) : scalarInput(name, prop, value)];
  });
  const read = () => {
    const out = Object.assign({}, config || {});
    for (const [name, control] of controls) {
      const value = control.read();
      if (value === undefined) delete out[name];
      else out[name] = value;
      if (required.has(name) && control.isEmpty()) throw new Error(label(name) + " is required");
    }
    return out;
  };
  return { el: h("div", null, controls.map(([, c]) => c.el)), read };
}

/**
 * One step card: plugin select, description, config form, move and remove buttons. `list` is the
 * editor's shared state ({entries, ol, renumber, removed}); returns the entry kept in list.entries.
 */
function stepCard(plugins, byId, step, list) {
  const select = h("select", { "aria-label": "Plugin" }, plugins.map((p) => h("option", { value: p.id, text: p.id })));
  // A step naming a plugin this server does not list is kept as it is, never swapped silently.
  if (step.plugin_id && !byId.has(step.plugin_id)) select.append(h("option", { value: step.plugin_id, text: step.plugin_id + " (unknown)" }));
  select.value = step.plugin_id || plugins[0].id;
  const desc = h("p", { class: "step-desc" });
  const formBox = h("div");
  const entry = { select, form: null, num: h("span", { class: "step-num" }) };
  const renderForm = (config) => {
    const plugin = byId.get(select.value);
    desc.textContent = plugin ? plugin.description : "";
    entry.form = configForm(plugin ? plugin.config_schema : null, config);
    fill(formBox, entry.form.el);
  };
  select.addEventListener("change", () => renderForm(undefined));
  entry.up = h("button", { type: "button", class: "icon-btn", text: "↑", "aria-label": "Move step up", onclick: () => moveStep(list, entry, -1) });
  entry.down = h("button", { type: "button", class: "icon-btn", text: "↓", "aria-label": "Move step down", onclick: () => moveStep(list, entry, 1) });
  const remove = h("button", { type: "button", class: "icon-btn danger", text: "×", "aria-label": "Remove step", onclick: () => {
    list.entries.splice(list.entries.indexOf(entry), 1);
    entry.card.remove();
    list.renumber();
    list.removed();
  } });
  entry.card = h("li", { class: "step-card" }, h("div", { class: "step-head" }, entry.num, select, entry.up, entry.down, remove), desc, formBox);
  renderForm(step.config);
  return entry;
}

function moveStep(list, entry, delta) {
  const { entries } = list;
  const index = entries.indexOf(entry);
  const to = index + delta;
  if (to < 0 || to >= entries.length) return;
  entries.splice(index, 1);
  entries.splice(to, 0, entry);
  if (delta < 0) list.ol.insertBefore(entry.card, entries[to + 1].card);
  else list.ol.insertBefore(entry.card, entries[to - 1].card.nextSibling);
  list.renumber();
  (delta < 0 ? entry.up : entry.down).focus();
}

function readSteps(entries) {
  return entries.map((entry, index) => {
    let config;
    try {
      config = entry.form.read();
    } catch (err) {
      throw new Error("Step " + (index + 1) + " (" + entry.select.value + "): " + err.message);
    }
    return config === undefined ? { plugin_id: entry.select.value } : { plugin_id: entry.select.value, config };
  });
}

/**
 * The step list editor. `plugins` is GET /api/plugins; `steps` the rule's parsed pipeline.
 * Returns {el, read()}: read() gives [{plugin_id, config?}] or throws an Error naming the step.
 */
export function pipelineEditor(plugins, steps) {
  const byId = new Map(plugins.map((p) => [p.id, p]));
  const empty = h("p", { class: "hint", text: "No steps: matching requests pass through unchanged (translation is still added automatically)." });
  const list = { entries: [], ol: h("ol", { class: "step-list", "aria-label": "Pipeline steps" }) };
  list.renumber = () => {
    list.entries.forEach((entry, index) => {
      entry.num.textContent = index + 1 + ".";
      entry.up.disabled = index === 0;
      entry.down.disabled = index === list.entries.length - 1;
    });
    empty.hidden = list.entries.length > 0;
  };
  const addStep = (step) => {
    const entry = stepCard(plugins, byId, step, list);
    list.entries.push(entry);
    list.ol.append(entry.card);
    list.renumber();
    return entry;
  };
  const addButton = h("button", { type: "button", class: "btn small", id: newId("add-step"), text: "+ Add step", onclick: () => {
    if (!plugins.length) { toast("The server lists no plugins.", "error"); return; }
    addStep({ plugin_id: byId.has("custom_header") ? "custom_header" : plugins[0].id }).select.focus();
  } });
  list.removed = () => addButton.focus();
  for (const step of steps || []) addStep(step);
  list.renumber();
  const el = h("fieldset", { class: "pipeline" }, h("legend", { text: "Pipeline (runs in order)" }), list.ol, empty, addButton);
  return { el, read: () => readSteps(list.entries) };
}

// Aliases tab: the product's one-click provider switch. Each group is a model name apps ask for;
// clicking one of its options makes that (provider, model) serve the name from the next request
// on. Groups are ordered (regex groups are tried in this order) by drag and drop on the handle,
// or from the keyboard (Alt+↑/↓ on the handle, or the move buttons).

import * as api from "../api.js";
import { h, fill, field, checkbox, toast, act, FAILED, openModal, confirmDialog, empty, announce } from "../dom.js";
import { icon } from "../icons.js";

let root;
let listEl;
let groups = [];
let downstreams = [];
let dragName = null;

function mount(section) {
  root = section;
  listEl = h("ul", { class: "group-list", "aria-label": "Alias groups" });
  fill(root,
    h("div", { class: "tab-head" }, h("h1", { id: "heading-aliases", text: "Aliases" }),
      h("button", { type: "button", class: "btn primary", id: "new-group", text: "+ New alias group", onclick: newGroupDialog })),
    h("p", { class: "tab-intro", text: "An alias is a model name your apps use. Click an option to switch which provider and model serve it — live, from the next request. Drag groups by ⠿ (or focus it and press Alt+↑/↓) to set the order regex groups are tried in." }),
    listEl);
}

async function load() {
  const [aliasGroups, providers] = await Promise.all([api.get("/api/aliases"), api.get("/api/downstreams")]);
  groups = aliasGroups;
  downstreams = providers;
}

async function show() {
  try {
    await load();
  } catch (err) {
    toast("Could not load aliases: " + err.message, "error");
    return;
  }
  render();
}

function render(focusName) {
  fill(listEl, groups.map((g, index) => groupCard(g, index)));
  if (!groups.length) listEl.append(h("li", null, empty("No alias groups yet. Create one to give apps a stable model name you can switch between providers.")));
  if (focusName) {
    const handle = listEl.querySelector('.group-card[data-name="' + CSS.escape(focusName) + '"] .drag-handle');
    if (handle) handle.focus();
  }
}

function groupCard(group, index) {
  const name = group.input_model_id;
  // A span, not a <button>: Firefox never starts a drag on a button.
  const handle = h("span", { role: "button", tabindex: "0", class: "icon-btn drag-handle", draggable: "true", text: "⠿",
    "aria-label": "Reorder " + name + " (drag, or Alt+Up / Alt+Down)", title: "Drag to reorder (or Alt+↑/↓)" });
  const card = h("li", { class: "card group-card", dataset: { name } },
    h("div", { class: "card-head" }, handle,
      h("button", { type: "button", class: "icon-btn", text: "↑", "aria-label": "Move " + name + " up", disabled: index === 0,
        onclick: () => move(name, -1) }),
      h("button", { type: "button", class: "icon-btn", text: "↓", "aria-label": "Move " + name + " down",
        disabled: index === groups.length - 1, onclick: () => move(name, 1) }),
      icon(name, 26),
      h("h2", { class: "group-title", text: name }),
      group.is_regex ? h("span", { class: "badge accent", text: "regex" }) : null,
      h("span", { class: "badge", text: group.options.length + (group.options.length === 1 ? " option" : " options") }),
      h("button", { type: "button", class: "btn small", text: "+ Option", onclick: () => addOptionDialog(group) }),
      h("button", { type: "button", class: "btn small danger", text: "Delete group", onclick: () => deleteGroup(group) })),
    group.is_regex ? announcedEditor(group) : null,
    h("div", { class: "option-grid", role: "group", "aria-label": "Options for " + name },
      group.options.map((o) => optionCard(group, o))));
  wireDrag(card, handle, name);
  handle.addEventListener("keydown", (event) => {
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      move(name, event.key === "ArrowUp" ? -1 : 1);
    }
  });
  return card;
}

function optionCard(group, option) {
  const active = option.id === group.active_id || option.is_active;
  const ds = option.downstream_name || option.downstream_id;
  const main = h("button", { type: "button", class: "option-main", "aria-pressed": active ? "true" : "false",
    "aria-label": (active ? "Active: " : "Use ") + option.output_model_id + " via " + ds,
    onclick: () => { if (!active) activate(group, option); } },
  h("span", { class: "with-icon option-model" }, icon(option.output_model_id, 22), h("span", { text: option.output_model_id })),
  h("span", { class: "with-icon option-ds" }, icon(ds, 16), h("span", { text: ds })),
  active ? h("span", { class: "option-state", text: "● Active" }) : null);
  return h("div", { class: ["option", active ? "active" : ""], dataset: { id: option.id } }, main,
    h("button", { type: "button", class: "icon-btn danger", text: "×", "aria-label": "Delete option " + option.output_model_id + " via " + ds,
      onclick: () => deleteOption(group, option) }));
}

async function activate(group, option) {
  const done = await act(() => api.put("/api/aliases/" + api.seg(option.id) + "/activate"),
    group.input_model_id + " → " + option.output_model_id + " (" + (option.downstream_name || option.downstream_id) + ")");
  if (done === FAILED) { // e.g. the option was deleted elsewhere: show what the server has now
    await show();
    return;
  }
  group.active_id = option.id;
  for (const o of group.options) o.is_active = o.id === option.id;
  const index = groups.indexOf(group);
  const old = listEl.querySelector('.group-card[data-name="' + CSS.escape(group.input_model_id) + '"]');
  const fresh = groupCard(group, index);
  old.replaceWith(fresh);
  const button = fresh.querySelector('.option[data-id="' + CSS.escape(option.id) + '"] .option-main');
  if (button) button.focus();
}

// Reordering: one list of names, saved with POST /api/aliases/reorder; on failure reload.
async function saveOrder(names, movedName) {
  groups = names.map((n) => groups.find((g) => g.input_model_id === n));
  render(movedName);
  const position = names.indexOf(movedName) + 1;
  const done = await act(() => api.post("/api/aliases/reorder", { order: names }), "Order saved");
  if (done === FAILED) {
    await show();
    return;
  }
  announce("Moved " + movedName + " to position " + position + " of " + names.length);
}

function move(name, delta) {
  const names = groups.map((g) => g.input_model_id);
  const from = names.indexOf(name);
  const to = from + delta;
  if (from < 0 || to < 0 || to >= names.length) return;
  names.splice(from, 1);
  names.splice(to, 0, name);
  saveOrder(names, name);
}

function clearDropMarks() {
  for (const el of listEl.querySelectorAll(".drop-before, .drop-after, .dragging")) {
    el.classList.remove("drop-before", "drop-after", "dragging");
  }
}

function wireDrag(card, handle, name) {
  handle.addEventListener("dragstart", (event) => {
    dragName = name;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", name);
    event.dataTransfer.setDragImage(card, 24, 24);
    card.classList.add("dragging");
  });
  handle.addEventListener("dragend", () => { dragName = null; clearDropMarks(); });
  card.addEventListener("dragover", (event) => {
    if (!dragName || dragName === name) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    const rect = card.getBoundingClientRect();
    const before = event.clientY < rect.top + rect.height / 2;
    card.classList.toggle("drop-before", before);
    card.classList.toggle("drop-after", !before);
  });
  card.addEventListener("dragleave", (event) => {
    if (!card.contains(event.relatedTarget)) card.classList.remove("drop-before", "drop-after");
  });
  card.addEventListener("drop", (event) => {
    event.preventDefault();
    const moving = dragName || event.dataTransfer.getData("text/plain");
    const before = card.classList.contains("drop-before");
    clearDropMarks();
    dragName = null;
    if (!moving || moving === name) return;
    const names = groups.map((g) => g.input_model_id).filter((n) => n !== moving);
    names.splice(names.indexOf(name) + (before ? 0 : 1), 0, moving);
    saveOrder(names, moving);
  });
}

function announcedEditor(group) {
  const names = (group.announced_names || []).slice();
  const chips = h("div", { class: "chips" });
  const save = async (next, message) => {
    const first = group.options[0];
    const done = await act(() => api.put("/api/aliases/" + api.seg(first.id), { announced_names: next }), message);
    if (done === FAILED) return false; // the chips still show the saved list: nothing to roll back
    group.announced_names = next;
    return true;
  };
  const renderChips = () => {
    fill(chips, (group.announced_names || []).map((n) => h("span", { class: "chip" }, h("span", { class: "chip-text mono", text: n }),
      h("button", { type: "button", class: "chip-btn", text: "×", "aria-label": "Remove announced name " + n, onclick: async () => {
        if (await save((group.announced_names || []).filter((x) => x !== n), "Removed " + n)) renderChips();
      } }))));
    const addBtn = h("button", { type: "button", class: "btn small", text: "+ Add name" });
    addBtn.addEventListener("click", () => {
      const input = h("input", { class: "announced-input", "aria-label": "New announced name for " + group.input_model_id,
        placeholder: "name, then Enter" });
      input.addEventListener("keydown", async (event) => {
        if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); renderChips(); chips.querySelector(".btn").focus(); }
        if (event.key !== "Enter") return;
        event.preventDefault();
        const value = input.value.trim();
        if (!value) return;
        if (await save((group.announced_names || []).concat([value]), "Announced " + value)) {
          renderChips();
          chips.querySelector(".btn").focus();
        }
      });
      addBtn.replaceWith(input);
      input.focus();
    });
    chips.append(addBtn);
  };
  group.announced_names = names;
  renderChips();
  return h("div", { class: "announced" }, h("div", { class: "label", text: "Announced names (listed in /v1/models; optional)" }), chips);
}

/** Checkboxes of every provider's models, plus a free-text row for a model not listed. */
function optionPicker(taken) {
  const boxes = [];
  const groupsEl = downstreams.filter((d) => (d.output_model_ids || []).length).map((d) => h("div", { class: "picker-group" },
    h("h3", null, icon(d.name, 16), h("span", { text: d.name })),
    h("div", { class: "checks" }, d.output_model_ids.map((m) => {
      const isTaken = taken.has(d.id + "\u0000" + m);
      const box = checkbox(m, false, { disabled: isTaken, value: m });
      box.input.setAttribute("aria-label", m + " via " + d.name);
      boxes.push({ box, downstream_id: d.id, output_model_id: m });
      return box.row;
    }))));
  const otherDs = h("select", { "aria-label": "Provider for another model" },
    downstreams.map((d) => h("option", { value: d.id, text: d.name })));
  const otherModel = h("input", { placeholder: "other model id", "aria-label": "Other model id", spellcheck: "false" });
  const el = h("div", null,
    h("div", { class: "label", text: "Options (provider and model)" }),
    groupsEl.length ? h("div", { class: "picker" }, groupsEl) : empty("No provider has models listed; type one below."),
    h("div", { class: "row" }, otherDs, otherModel));
  const chosen = () => {
    const out = boxes.filter((b) => b.box.input.checked).map((b) => ({ downstream_id: b.downstream_id, output_model_id: b.output_model_id }));
    if (otherModel.value.trim()) out.push({ downstream_id: otherDs.value, output_model_id: otherModel.value.trim() });
    return out;
  };
  return { el, chosen };
}

async function newGroupDialog() {
  try { await load(); } catch (err) { toast(err.message, "error"); return; }
  if (!downstreams.length) {
    toast("Add a provider in Downstreams first: an alias option is a provider and one of its models.", "error");
    return;
  }
  const name = h("input", { autofocus: true, placeholder: "e.g. my-coder, or ^claude-.* for a regex", spellcheck: "false" });
  const regex = checkbox("Regex pattern (matches any requested model it finds)", false);
  const announced = h("input", { placeholder: "comma-separated, e.g. claude-sonnet-4-5", spellcheck: "false" });
  const announcedRow = field("Announced names (optional)", announced, "Regex groups are invisible in model lists; these names are listed instead.");
  announcedRow.hidden = true;
  regex.input.addEventListener("change", () => { announcedRow.hidden = !regex.input.checked; });
  const picker = optionPicker(new Set());
  openModal({
    title: "New alias group", submitLabel: "Create group", wide: true,
    content: [field("Alias name (what apps request)", name), regex.row, announcedRow, picker.el],
    onSubmit: async () => {
      const options = picker.chosen();
      if (!name.value.trim()) throw new Error("Alias name is required.");
      if (!options.length) throw new Error("Choose at least one option (a provider's model).");
      const body = { input_model_id: name.value.trim(), is_regex: regex.input.checked, options };
      const names = announced.value.split(",").map((x) => x.trim()).filter(Boolean);
      if (regex.input.checked && names.length) body.announced_names = names;
      await api.post("/api/aliases/group", body);
      toast("Created " + body.input_model_id + " with " + options.length + (options.length === 1 ? " option" : " options"), "ok");
      await show();
    },
  });
}

async function addOptionDialog(group) {
  try { await load(); } catch (err) { toast(err.message, "error"); return; }
  const taken = new Set(group.options.map((o) => o.downstream_id + "\u0000" + o.output_model_id));
  const picker = optionPicker(taken);
  openModal({
    title: "Add options to " + group.input_model_id, submitLabel: "Add", wide: true,
    content: [picker.el],
    onSubmit: async () => {
      const options = picker.chosen();
      if (!options.length) throw new Error("Choose at least one provider model.");
      let added = 0;
      try {
        for (const o of options) {
          await api.post("/api/aliases", Object.assign({ input_model_id: group.input_model_id, is_active: false }, o));
          added += 1;
        }
      } finally {
        if (added) toast("Added " + added + (added === 1 ? " option" : " options") + " to " + group.input_model_id, "ok");
        await show();
      }
    },
  });
}

async function deleteOption(group, option) {
  const label = option.output_model_id + " via " + (option.downstream_name || option.downstream_id);
  const last = group.options.length === 1;
  const ok = await confirmDialog("Delete option", "Delete " + label + " from " + group.input_model_id + "?" +
    (last ? " It is the last option, so the alias goes away." : ""));
  if (!ok) return;
  if (await act(() => api.del("/api/aliases/" + api.seg(option.id)), "Deleted " + label) === FAILED) return;
  await show();
}

async function deleteGroup(group) {
  const ok = await confirmDialog("Delete alias group", "Delete " + group.input_model_id + " and its " + group.options.length + " option(s)? Apps asking for it will get “unknown model”.");
  if (!ok) return;
  if (await act(() => api.del("/api/aliases/group/" + api.seg(group.input_model_id)), "Deleted " + group.input_model_id) === FAILED) return;
  await show();
}

export default { id: "aliases", title: "Aliases", mount, show };

// Logs tab: the live request log over SSE (GET /api/logs/stream). Entries are keyed by id, so a
// reconnect (the browser's own, with Last-Event-ID, or ours, with ?last_event_id=) never shows
// one twice, and they are kept newest first whatever order they arrive in. Connected only while
// the tab and the page are visible.

import * as api from "../api.js";
import { h, fill, toast, act, FAILED } from "../dom.js";
import { clock, duration } from "../format.js";
import { openInspector } from "./inspector.js";

const MAX_ROWS = 500;
const LEVELS = ["debug", "info", "warn", "error"];

let root;
let els = {};
let source = null;
let retryTimer = null;
let retryDelay = 1000;
let isActive = false;
let paused = false;
let pending = [];
const entries = new Map(); // id -> entry, every entry on screen
let order = []; // ids on screen, newest (largest) first
let maxSeen = 0; // highest id received: the resume point of a reconnect
let clearedUpTo = 0; // entries at or below this id were cleared and stay hidden
let baseline = 0; // maxSeen when the current connection opened: the server sends only newer ids

function mount(section) {
  root = section;
  els.status = h("span", { class: "badge log-status", role: "status", text: "Offline" });
  els.pause = h("button", { type: "button", class: "btn small", id: "logs-pause", text: "Pause", "aria-pressed": "false", onclick: togglePause });
  els.clear = h("button", { type: "button", class: "btn small", id: "logs-clear", text: "Clear", onclick: clearView });
  els.filter = h("input", { type: "search", id: "logs-filter", placeholder: "Filter: model, path, provider, status, error…", "aria-label": "Filter log entries", oninput: applyFilter });
  els.level = h("select", { "aria-label": "Log level", id: "logs-level", onchange: setLevel }, LEVELS.map((l) => h("option", { value: l, text: "Level: " + l })));
  els.count = h("span", { class: "hint", "aria-live": "polite" });
  els.list = h("ul", { class: "log-list", id: "log-list", "aria-label": "Request log, newest first" });
  els.empty = h("p", { class: "empty", text: "No requests yet. Send one through the gateway and it appears here at once." });
  fill(root,
    h("div", { class: "tab-head" }, h("h1", { id: "heading-logs", text: "Logs" }), els.status),
    h("div", { class: "log-toolbar" }, els.filter, els.level, els.pause, els.clear, els.count),
    els.empty, els.list);
}

function setStatus(kind, text) {
  els.status.className = "badge log-status " + kind;
  els.status.textContent = text;
}

// The same rule as the server's requestlog.level_of, so the badge names the level it filtered by.
function levelOf(e) {
  if (e.level) return e.level;
  const status = e.status || 0;
  if (e.error || status >= 500) return "error";
  return status >= 400 ? "warn" : "info";
}

function haystack(e) {
  return [e.model, e.resolved_model, e.path, e.downstream_name, e.downstream_id, e.error, e.alias_group, e.method,
    e.status, e.message, levelOf(e), e.client_ip].filter((v) => v !== undefined && v !== null).join(" ").toLowerCase();
}

function matches(e) {
  const needle = els.filter.value.trim().toLowerCase();
  return !needle || needle.split(/\s+/).every((word) => haystack(e).includes(word));
}

function applyFilter() {
  let shown = 0;
  for (const row of els.list.children) {
    const visible = matches(entries.get(Number(row.dataset.id)));
    row.hidden = !visible;
    if (visible) shown += 1;
  }
  updateCount(shown);
}

function updateCount(shown) {
  const total = order.length;
  const visible = shown === undefined ? [...els.list.children].filter((r) => !r.hidden).length : shown;
  els.count.textContent = els.filter.value.trim() ? visible + " of " + total + " shown" : total + (total === 1 ? " entry" : " entries");
  els.empty.hidden = total > 0;
}

// Debug messages quote the value after "model", "alias" or "downstream": highlight it.
function highlighted(message) {
  const out = [];
  const pattern = /\b(model|alias|downstream)\s+("[^"]*"|'[^']*')/gi;
  let last = 0;
  for (const m of String(message || "").matchAll(pattern)) {
    out.push(message.slice(last, m.index + m[1].length + 1), h("mark", { text: m[2] }));
    last = m.index + m[0].length;
  }
  out.push(String(message || "").slice(last));
  return out;
}

function cacheNote(e) {
  if (!e.usage) return null;
  const u = e.usage;
  const read = (u.cache_read_input_tokens || 0) + (u.cached_tokens || 0);
  const input = u.input_tokens || 0;
  return h("span", { text: read ? "cache " + Math.round((100 * read) / (input + read)) + "%" : "cache —" });
}

function rowFor(e) {
  const level = levelOf(e);
  const badge = h("span", { class: "badge " + level, text: level });
  const time = h("span", { class: "log-time", text: clock(e.timestamp) });
  if (level === "debug" || (!e.path && e.message)) {
    return h("li", { class: "log-row", dataset: { id: e.id } }, h("div", { class: "log-line" }, time, badge,
      h("span", { class: "log-main log-message" }, highlighted(e.message))));
  }
  const status = e.status || 0;
  const models = [];
  if (e.model) models.push(h("b", { text: e.model }));
  if (e.resolved_model && e.resolved_model !== e.model) models.push(" → ", h("b", { text: e.resolved_model }));
  if (e.downstream_name || e.downstream_id) models.push(" · " + (e.downstream_name || e.downstream_id));
  if (e.alias_group) models.push(" · via " + e.alias_group);
  const line = h("button", { type: "button", class: "log-line", "aria-label": "Inspect " + e.method + " " + e.path + " " + status + (e.model ? " " + e.model : ""),
    onclick: () => openInspector(e) },
  time, badge,
  h("span", { class: "log-main" }, h("span", { class: "log-path", text: e.method + " " + e.path }), models.length ? h("span", { class: "log-models" }, " ", models) : null),
  h("span", { class: "log-meta" }, h("span", { class: "status-" + String(status)[0], text: String(status) }), h("span", { text: duration(e.duration) }), cacheNote(e)),
  e.error ? h("span", { class: "log-error", text: "ERR: " + e.error }) : null);
  return h("li", { class: "log-row", dataset: { id: e.id } }, line);
}

function insert(e, isLive) {
  if (!e || typeof e.id !== "number" || entries.has(e.id) || e.id <= clearedUpTo) return;
  entries.set(e.id, e);
  const row = rowFor(e);
  row.hidden = !matches(e);
  let index = order.findIndex((id) => id < e.id);
  if (index < 0) index = order.length;
  order.splice(index, 0, e.id);
  const before = els.list.children[index];
  els.list.insertBefore(row, before || null);
  if (isLive) row.classList.add("fresh");
  while (order.length > MAX_ROWS) {
    const oldest = order.pop();
    entries.delete(oldest);
    const last = els.list.lastElementChild;
    if (last) last.remove();
  }
}

function receive(e, isLive) {
  // An id at or below the resume point can only come from a restarted daemon, whose ids began
  // again at 1: its entries would be taken for ones already shown, so the view starts over.
  if (typeof e.id === "number" && e.id <= baseline) restarted();
  if (typeof e.id === "number") maxSeen = Math.max(maxSeen, e.id);
  if (paused) {
    pending.push(e);
    setStatus("paused", "Paused · " + pending.length + " new");
    return;
  }
  insert(e, isLive);
  updateCount();
}

function connect() {
  if (source || !isActive || document.visibilityState !== "visible") return;
  clearTimeout(retryTimer);
  const es = new EventSource("/api/logs/stream" + (maxSeen ? "?last_event_id=" + maxSeen : ""));
  source = es;
  let backlogDone = false;
  setStatus("", "Connecting…");
  es.addEventListener("open", () => { // also after the browser's own reconnect (with Last-Event-ID)
    baseline = maxSeen;
    backlogDone = false;
    retryDelay = 1000;
    if (!paused) setStatus("live", "Live");
  });
  es.addEventListener("log", (event) => {
    try { receive(JSON.parse(event.data), backlogDone); } catch (err) { /* a malformed line is skipped, not fatal */ }
  });
  es.addEventListener("config", (event) => {
    backlogDone = true; // the server sends its config event right after the backlog
    try { els.level.value = JSON.parse(event.data).level; } catch (err) { /* keep the shown level */ }
  });
  es.addEventListener("error", (event) => {
    if (source !== es) return;
    if (event.data) { // the server dropped us (we fell behind): reconnect from the last id seen
      disconnect();
      retryTimer = setTimeout(connect, 300);
      return;
    }
    if (es.readyState === EventSource.CONNECTING) { setStatus("offline", "Reconnecting…"); return; }
    disconnect();
    setStatus("offline", "Offline — retrying");
    // A closed stream may mean the session ended: a plain API call reports a 401 to the shell.
    api.get("/api/log_level").catch(() => {});
    retryTimer = setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  });
}

function disconnect() {
  clearTimeout(retryTimer);
  if (source) source.close();
  source = null;
}

function togglePause() {
  paused = !paused;
  els.pause.textContent = paused ? "Resume" : "Pause";
  els.pause.setAttribute("aria-pressed", String(paused));
  if (paused) { setStatus("paused", "Paused"); return; }
  const queued = pending;
  pending = [];
  for (const e of queued) insert(e, true);
  updateCount();
  setStatus(source ? "live" : "offline", source ? "Live" : "Offline");
}

function emptyView() {
  entries.clear();
  order = [];
  pending = [];
  els.list.replaceChildren();
  updateCount();
}

function clearView() {
  clearedUpTo = maxSeen;
  emptyView();
  toast("Log view cleared (the server keeps its log)", "ok");
}

function restarted() {
  baseline = 0;
  maxSeen = 0;
  clearedUpTo = 0;
  emptyView();
  toast("Tresor restarted: its request log begins again.", "info");
}

async function setLevel() {
  const level = els.level.value;
  const done = await act(() => api.put("/api/log_level", { level }), "Log level: " + level);
  if (done === FAILED) {
    try { els.level.value = (await api.get("/api/log_level")).level; } catch (err) { /* reported above */ }
  }
}

function show() {
  isActive = true;
  updateCount();
  connect();
}

function hide() {
  isActive = false;
  disconnect();
  setStatus("", "Disconnected");
}

function visibility(isVisible) {
  if (!isActive) return;
  if (isVisible) connect();
  else { disconnect(); setStatus("", "Disconnected"); }
}

export default { id: "logs", title: "Logs", mount, show, hide, visibility };

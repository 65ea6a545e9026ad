// Dashboard tab: token usage from GET /api/stats for a date range — totals, cache hit rate, an
// SVG bar chart over time (built with DOM calls, no chart library) and the top models,
// providers and client IPs. Refreshes itself every 60 s while it is on screen.

import * as api from "../api.js";
import { h, s, fill, toast } from "../dom.js";
import { icon } from "../icons.js";
import { abbrev, percent, bucketLabel, isoDate } from "../format.js";

const RANGES = [["last_7_days", "Last 7 days"], ["last_14_days", "Last 14 days"], ["last_4_weeks", "Last 4 weeks"],
  ["this_month", "This month"], ["last_month", "Last month"], ["this_year", "This year"], ["today", "Today"],
  ["yesterday", "Yesterday"], ["last_year", "Last year"]];
const REFRESH_MS = 60000;
const MAX_BARS = 60;

let root;
let app;
let range = "last_7_days";
let custom = null; // {from, to} when a custom range is applied
let timer = null;
let data = null;
let els = {};
let resizeObserver = null;

function mount(section, appState) {
  root = section;
  app = appState;
  const from = h("input", { type: "date", "aria-label": "From date", value: isoDate(new Date(Date.now() - 6 * 86400000)) });
  const to = h("input", { type: "date", "aria-label": "To date", value: isoDate() });
  els = {
    ranges: h("div", { class: "range-bar", role: "group", "aria-label": "Date range" }),
    notice: h("div"),
    cards: h("div", { class: "stat-cards" }),
    chart: h("div", { class: "chart-box" }),
    tables: h("div", { class: "dash-tables" }),
    updated: h("span", { class: "hint", "aria-live": "polite" }),
    from, to,
  };
  for (const [id, label] of RANGES) {
    els.ranges.append(h("button", { type: "button", class: "btn small", dataset: { range: id }, text: label,
      onclick: () => { range = id; custom = null; load(); } }));
  }
  els.ranges.append(h("span", { class: "range-custom" }, from, "–", to,
    h("button", { type: "button", class: "btn small", dataset: { range: "custom" }, text: "Apply", onclick: applyCustom })));
  fill(root,
    h("div", { class: "tab-head" }, h("h1", { id: "heading-dashboard", text: "Dashboard" }), els.updated,
      h("button", { type: "button", class: "btn small", text: "⟳ Refresh", onclick: () => load() })),
    els.ranges, els.notice, els.cards,
    h("div", { class: "card" }, h("div", { class: "card-head" }, h("h2", { text: "Token usage over time" }),
      h("span", { class: "legend" }, h("span", null, h("span", { class: "legend-swatch in" }), "input"),
        h("span", null, h("span", { class: "legend-swatch out" }), "output"))), els.chart),
    els.tables);
  resizeObserver = new ResizeObserver(() => { if (data && !root.hidden) renderChart(); });
  resizeObserver.observe(els.chart);
}

function applyCustom() {
  const from = els.from.value;
  const to = els.to.value;
  if (!from || !to) { toast("Choose both a From and a To date.", "error"); return; }
  if (from > to) { toast("From must be on or before To.", "error"); return; }
  custom = { from, to };
  range = "custom";
  load();
}

function query() {
  if (range === "custom" && custom) return "range=custom&from=" + encodeURIComponent(custom.from) + "&to=" + encodeURIComponent(custom.to);
  return "range=" + encodeURIComponent(range);
}

async function load() {
  for (const b of els.ranges.querySelectorAll("button")) b.setAttribute("aria-pressed", b.dataset.range === range ? "true" : "false");
  try {
    data = await api.get("/api/stats?" + query());
  } catch (err) {
    toast("Could not load usage: " + err.message, "error");
    return;
  }
  render();
  const now = new Date();
  els.updated.textContent = "Updated " + String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0");
}

function show() {
  load();
  clearInterval(timer);
  timer = setInterval(() => { if (document.visibilityState === "visible") load(); }, REFRESH_MS);
}

function hide() {
  clearInterval(timer);
  timer = null;
}

function statCard(label, value, detail, extra) {
  return h("div", { class: "stat" }, h("div", { class: "stat-label", text: label }),
    h("div", { class: ["stat-value", extra && extra.small ? "small" : ""] }, extra && extra.icon ? h("span", { class: "with-icon" }, extra.icon, h("span", { text: value })) : value),
    h("div", { class: "stat-detail", text: detail }));
}

function topCard(label, row, name, withIcon) {
  if (!row) return statCard(label, "—", "no traffic in this range", { small: true });
  return statCard(label, name, abbrev(row.input_tokens + row.output_tokens) + " tokens · " + row.request_count + " reqs",
    { small: true, icon: withIcon === false ? null : icon(name, 22) });
}

function render() {
  const t = data.total;
  // Tresor counts usage for every request that reports it, capture on or off (the Go UI said
  // "enable capture"), so there is no capture notice here.
  fill(els.notice, t.requests ? null : h("div", { class: "card" },
    h("strong", { text: "No usage in this range yet. " }),
    h("span", { class: "muted", text: "Counts are saved once a minute; requests whose provider reports no usage are not counted. " }),
    h("button", { type: "button", class: "btn small", text: "Open Logs", onclick: () => app.go("logs") })));
  const hit = percent(t.cache_hit_rate);
  const hitDetail = t.cache_hit_rate === null ? "no cache reads in this range" : (t.cache_hit_rate >= 0.5 ? "cache is helping" : "of input tokens served from cache");
  const topModel = data.models[0];
  const topProvider = data.providers[0];
  const topIp = data.ips[0];
  fill(els.cards,
    statCard("Total tokens", abbrev(t.input_tokens + t.output_tokens), abbrev(t.input_tokens) + " in · " + abbrev(t.output_tokens) + " out"),
    statCard("Requests", abbrev(t.requests), data.range.from + " – " + data.range.to),
    statCard("Cache hit rate", hit, hitDetail),
    topCard("Top provider", topProvider, topProvider && topProvider.name),
    topCard("Top model", topModel, topModel && topModel.model),
    topCard("Top IP", topIp, topIp && topIp.client_ip, false));
  renderChart();
  fill(els.tables,
    table("Top models", data.models, (r) => r.model),
    table("Top providers", data.providers, (r) => r.name),
    table("Top IPs", data.ips, (r) => r.client_ip, false));
}

/** Merge consecutive buckets so at most MAX_BARS bars are drawn (a year has 365 days). */
function thinned(series) {
  const per = Math.max(1, Math.ceil(series.length / MAX_BARS));
  const out = [];
  for (let i = 0; i < series.length; i += per) {
    const chunk = series.slice(i, i + per);
    out.push({ label: bucketLabel(chunk[0].bucket) + (per > 1 ? "…" : ""), input: chunk.reduce((a, p) => a + p.input_tokens, 0),
      output: chunk.reduce((a, p) => a + p.output_tokens, 0), requests: chunk.reduce((a, p) => a + p.request_count, 0) });
  }
  return out;
}

/** The smallest "round" number ≥ value (1, 2, 2.5, 5 × 10^n), at least 4 so the 4 grid steps are whole. */
function niceCeiling(value) {
  if (value <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * power >= value);
  return step * power;
}

function renderChart() {
  const points = thinned(data.series || []);
  const width = Math.max(300, Math.floor(els.chart.clientWidth || 600));
  const height = 240;
  const pad = { left: 46, right: 8, top: 10, bottom: 26 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const max = niceCeiling(Math.max(0, ...points.map((p) => p.input + p.output)));
  const total = points.reduce((a, p) => a + p.input + p.output, 0);
  const svg = s("svg", { class: "chart", viewBox: "0 0 " + width + " " + height, role: "img",
    "aria-label": "Token usage over time: " + abbrev(total) + " tokens in " + points.length + " periods" });
  for (let i = 0; i <= 4; i += 1) {
    const y = pad.top + innerH - (innerH * i) / 4;
    svg.append(s("line", { class: i ? "grid" : "axis", x1: pad.left, x2: width - pad.right, y1: y, y2: y }),
      s("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end", text: abbrev((max * i) / 4) }));
  }
  const slot = innerW / Math.max(1, points.length);
  const barW = Math.max(1, Math.min(36, slot * 0.7));
  const labelEvery = Math.max(1, Math.ceil(70 / slot));
  points.forEach((p, i) => {
    const x = pad.left + slot * i + (slot - barW) / 2;
    const hIn = (innerH * p.input) / max;
    const hOut = (innerH * p.output) / max;
    const base = pad.top + innerH;
    svg.append(s("g", null, s("title", { text: p.label + ": " + abbrev(p.input) + " in · " + abbrev(p.output) + " out · " + p.requests + " requests" }),
      s("rect", { class: "bar-in", x, y: base - hIn, width: barW, height: hIn, rx: 2 }),
      s("rect", { class: "bar-out", x, y: base - hIn - hOut, width: barW, height: hOut, rx: 2 }),
      s("rect", { x: pad.left + slot * i, y: pad.top, width: slot, height: innerH, fill: "transparent" })));
    if (i % labelEvery === 0) {
      svg.append(s("text", { x: pad.left + slot * i + slot / 2, y: height - 8, "text-anchor": "middle", text: p.label }));
    }
  });
  fill(els.chart, svg);
}

function hitRate(r) {
  return r.cache_read_tokens ? percent(r.cache_read_tokens / (r.input_tokens + r.cache_read_tokens)) : "—";
}

function table(title, rows, nameOf, withIcon) {
  const sum = rows.reduce((a, r) => a + r.input_tokens + r.output_tokens, 0) || 1;
  const body = rows.map((r) => {
    const tokens = r.input_tokens + r.output_tokens;
    return h("tr", null,
      h("td", null, h("span", { class: "with-icon" }, withIcon === false ? null : icon(nameOf(r), 18), h("span", { text: nameOf(r) }))),
      h("td", { class: "num", text: abbrev(r.request_count) }), h("td", { class: "num", text: abbrev(r.input_tokens) }),
      h("td", { class: "num", text: abbrev(r.output_tokens) }), h("td", { class: "num", text: abbrev(tokens) }),
      h("td", { class: "num", text: hitRate(r) }),
      h("td", { class: "num" }, h("span", { class: "share", "aria-hidden": "true" }, shareBar(tokens / sum)), percent(tokens / sum, 0)));
  });
  return h("div", { class: "card" }, h("h2", { text: title }),
    rows.length ? h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("thead", null, h("tr", null, ["Name", "Reqs", "Input", "Output", "Total", "Cache", "Share"].map((c, i) => h("th", { class: i ? "num" : null, text: c })))),
      h("tbody", null, body))) : h("p", { class: "empty", text: "No usage in this range." }));
}

function shareBar(ratio) {
  const bar = h("span");
  bar.style.width = Math.round(Math.min(1, ratio) * 100) + "%"; // CSSOM, allowed by the CSP (no style attribute in markup)
  return bar;
}

export default { id: "dashboard", title: "Dashboard", mount, show, hide };

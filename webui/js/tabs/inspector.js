// The log inspector: GET /api/logs/{id}/inspect shown as a modal. "Parsed" renders the request
// in prompt-cache order and the response reassembled from its SSE stream (any of the four
// formats); "Raw" shows both bodies as captured. Provider text goes through markdown.js or
// textContent only; tool results stay monospace, never Markdown.

import * as api from "../api.js";
import { h, fill, checkbox, toast, openModal, empty } from "../dom.js";
import { renderMarkdown } from "../markdown.js";
import { reassemble, looksLikeSSE } from "../sse-reassemble.js";
import { normaliseRequest, splitWrappers } from "../normalise.js";
import { FORMATS } from "../icons.js";
import { dateTime } from "../format.js";

function pretty(body) {
  try { return JSON.stringify(JSON.parse(body), null, 2); } catch (err) { return String(body || ""); }
}

function copyButton(getText, what) {
  return h("button", { type: "button", class: "btn small", text: "Copy", "aria-label": "Copy " + what, onclick: async () => {
    try {
      await navigator.clipboard.writeText(getText());
      toast(what + " copied", "ok");
    } catch (err) {
      toast("Copy failed: " + (err.message || err), "error");
    }
  } });
}

function textView(text, markdown) {
  const parts = splitWrappers(text);
  return parts.map((part) => (part.tag
    ? h("details", { class: "wrapper-tag" }, h("summary", null, h("span", { class: "badge info", text: part.tag }), " injected context"),
      h("div", { class: "block-text", text: part.text }))
    : markdown ? renderMarkdown(part.text) : h("div", { class: "block-text", text: part.text })));
}

function blockView(block, markdown) {
  if (block.type === "text") return textView(block.text, markdown);
  if (block.type === "refusal") return h("div", null, h("span", { class: "block-label", text: "Refusal" }), h("div", { class: "block-text", text: block.text }));
  if (block.type === "thinking") {
    return h("details", { class: "thinking" }, h("summary", { text: "Thinking (" + block.text.length + " characters)" }),
      markdown ? renderMarkdown(block.text) : h("div", { class: "block-text", text: block.text }));
  }
  if (block.type === "tool_call") {
    return h("div", { class: "tool-card" }, h("div", { class: "block-label", text: "Tool call · " + (block.name || "?") + (block.id ? " · " + block.id : "") }),
      h("pre", { class: "block-code", text: pretty(block.text || "{}") }));
  }
  if (block.type === "tool_result") {
    return h("div", { class: "tool-card" }, h("div", { class: "block-label", text: "Tool result" + (block.is_error ? " (error)" : "") + (block.id ? " · " + block.id : "") }),
      h("pre", { class: "block-code", text: block.text }));
  }
  if (block.type === "image") {
    return block.src ? h("img", { class: "insp-image", src: block.src, alt: block.text }) : h("div", { class: "block-label", text: "Image · " + block.text });
  }
  return h("div", null, h("div", { class: "block-label", text: block.name || "other" }), h("pre", { class: "block-code", text: block.text }));
}

function messageView(message, markdown) {
  const role = String(message.role || "").replace(/^./, (c) => c.toUpperCase());
  return h("div", { class: "msg" }, h("div", { class: "msg-role", text: role }),
    h("div", { class: "msg-body" }, message.blocks.length ? message.blocks.map((b) => blockView(b, markdown)) : h("span", { class: "muted", text: "(empty)" })));
}

function requestView(record, markdown) {
  let body;
  try { body = JSON.parse(record.request.body); } catch (err) { body = null; }
  const view = normaliseRequest(record.request_format, body);
  if (!view) return h("pre", { class: "raw", text: record.request.body || "(empty body)" });
  const out = [h("p", { class: "hint", title: "Providers cache a prompt's prefix in this order, so it is shown in this order.",
    text: "Shown in prompt-cache order: " + view.order })];
  for (const section of view.sections) {
    if (section.tools && section.tools.length) {
      out.push(h("h4", { text: section.title + " (" + section.tools.length + ")" }),
        section.tools.map((t) => h("details", { class: "tool-card" }, h("summary", null, h("code", { text: t.name || "?" }), t.description ? " — " + t.description.slice(0, 160) : ""),
          h("pre", { class: "block-code", text: JSON.stringify(t.schema || {}, null, 2) }))));
    }
    if (section.messages && section.messages.length) {
      out.push(h("h4", { text: section.title + " (" + section.messages.length + ")" }), section.messages.map((m) => messageView(m, markdown)));
    }
  }
  return out;
}

function usageLine(usage) {
  const parts = [];
  if (usage.input !== undefined) parts.push(usage.input + " input");
  if (usage.output !== undefined) parts.push(usage.output + " output");
  if (usage.cache_read) parts.push(usage.cache_read + " cache read");
  if (usage.cache_creation) parts.push(usage.cache_creation + " cache write");
  if (usage.reasoning) parts.push(usage.reasoning + " reasoning");
  return parts.length ? "Tokens: " + parts.join(" · ") : "";
}

function responseView(record, markdown) {
  const response = record.response || {};
  const format = record.downstream_format || record.request_format || "";
  const parsed = response.body ? reassemble(format, response.body, response.content_type) : null;
  if (!parsed || (!parsed.blocks.length && !parsed.error && !parsed.stop_reason)) {
    return [h("p", { class: "hint", text: "Nothing to reassemble; the raw body follows." }), h("pre", { class: "raw", text: pretty(response.body) || "(empty body)" })];
  }
  const isStream = looksLikeSSE(response.body, response.content_type);
  return [
    parsed.error ? h("p", { class: "form-error", text: "Provider error: " + parsed.error }) : null,
    parsed.blocks.length ? messageView({ role: "assistant" + (parsed.model ? " · " + parsed.model : ""), blocks: parsed.blocks }, markdown)
      : h("p", { class: "empty", text: "The response has no content." }),
    h("p", { class: "usage-line", text: [parsed.stop_reason ? "Stop: " + parsed.stop_reason : "", usageLine(parsed.usage),
      isStream ? parsed.events + " events" : ""].filter(Boolean).join(" · ") }),
    isStream && !parsed.complete ? h("p", { class: "form-error", text: "Stream incomplete: it ended without its final event." }) : null,
    response.truncated ? h("p", { class: "hint", text: "The captured response was truncated at 1 MiB." }) : null,
  ];
}

function rawView(record) {
  const response = record.response || {};
  return [
    h("div", { class: "insp-section" }, h("h3", null, "Request ", h("span", { class: "badge", text: record.request.content_type || "?" }), copyButton(() => record.request.body, "Request body")),
      h("pre", { class: "raw", text: pretty(record.request.body) || "(empty)" })),
    h("div", { class: "insp-section" }, h("h3", null, "Response ", h("span", { class: "badge", text: response.content_type || "?" }), copyButton(() => response.body, "Response body")),
      response.truncated ? h("p", { class: "hint", text: "Truncated at 1 MiB." }) : null,
      h("pre", { class: "raw", text: looksLikeSSE(response.body, response.content_type) ? response.body : pretty(response.body) || "(empty)" })),
  ];
}

function metaView(record) {
  const fmt = (f) => (FORMATS[f] ? FORMATS[f].label : f);
  const rows = [["Method", record.method], ["Path", record.path], ["Status", record.status], ["Model", record.model],
    ["Resolved model", record.resolved_model], ["Provider", record.downstream_name || record.downstream_id], ["Client IP", record.client_ip],
    ["Formats", [fmt(record.request_format), fmt(record.downstream_format)].filter(Boolean).join(" → ")], ["Captured", dateTime(record.timestamp)]];
  return h("dl", { class: "insp-meta" }, rows.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => h("div", null, h("dt", { text: k }), h("dd", { text: String(v) }))));
}

/** Fetch and show the captured payloads of log entry `entry` (toast the server's message on 404). */
export async function openInspector(entry) {
  let record;
  try {
    record = await api.get("/api/logs/" + api.seg(entry.id) + "/inspect");
  } catch (err) {
    toast(err.message, "error");
    return;
  }
  record.request = record.request || { body: "", content_type: "" };
  let mode = "parsed";
  const markdown = checkbox("Render text as Markdown", true);
  const body = h("div");
  const parsedBtn = h("button", { type: "button", text: "Parsed", "aria-pressed": "true" });
  const rawBtn = h("button", { type: "button", text: "Raw", "aria-pressed": "false" });
  const render = () => {
    parsedBtn.setAttribute("aria-pressed", String(mode === "parsed"));
    rawBtn.setAttribute("aria-pressed", String(mode === "raw"));
    markdown.row.hidden = mode !== "parsed";
    if (mode === "raw") { fill(body, rawView(record)); return; }
    const md = markdown.input.checked;
    fill(body,
      h("div", { class: "insp-section" }, h("h3", null, "Request"), requestView(record, md)),
      h("div", { class: "insp-section" }, h("h3", null, "Response"), responseView(record, md)));
  };
  parsedBtn.addEventListener("click", () => { mode = "parsed"; render(); });
  rawBtn.addEventListener("click", () => { mode = "raw"; render(); });
  markdown.input.addEventListener("change", render);
  render();
  openModal({ title: record.method + " " + record.path + " · " + record.status, wide: true,
    content: [metaView(record), h("div", { class: "row" }, h("div", { class: "seg", role: "group", "aria-label": "View" }, parsedBtn, rawBtn), markdown.row),
      record.request.body || (record.response && record.response.body) ? body : empty("Nothing was captured for this request.")] });
}

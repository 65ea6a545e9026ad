// A small Markdown renderer that is safe by construction: it builds DOM nodes with
// createElement and textContent only, so provider text can never become markup or script
// (no innerHTML anywhere, no sanitiser to get wrong). Links keep only http(s) and mailto URLs;
// images are shown as links, never loaded, so rendering makes no network request.
// Covers what chat models write: headings, paragraphs, emphasis, code spans and fences, lists
// (nested), block quotes, tables, rules, links.

const MAX_CHARS = 200000; // beyond this, plain text: rendering is for reading, not for megabytes

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])(\s+|$)/;
const TABLE_SEP = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

const isBlank = (line) => /^\s*$/.test(line);

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || LIST_ITEM.test(line);
}

function safeHref(url) {
  try {
    const parsed = new URL(url, "https://invalid.example/");
    if (parsed.origin === "https://invalid.example") return null; // relative URLs point nowhere useful
    return ["http:", "https:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
  } catch (err) {
    return null;
  }
}

function link(text, url, parent) {
  const href = safeHref(url);
  if (!href) {
    parent.append(document.createTextNode(text + (text === url ? "" : " (" + url + ")")));
    return;
  }
  const a = el("a");
  a.href = href;
  a.rel = "noopener noreferrer";
  a.target = "_blank";
  return a;
}

function appendText(parent, text) {
  const parts = text.split("\n");
  parts.forEach((part, i) => {
    if (i) parent.append(el("br"));
    if (part) parent.append(document.createTextNode(part));
  });
}

// Inline patterns, tried at every position; the earliest match wins, ties by this order.
const INLINE = [
  ["escape", /\\([!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~])/],
  ["code", /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/],
  ["image", /!\[([^\]]*)\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"]*")?\s*\)/],
  ["link", /\[((?:[^[\]]|\[[^\]]*\])*)\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"]*")?\s*\)/],
  ["autolink", /<((?:https?:\/\/|mailto:)[^\s>]+)>/],
  ["url", /\bhttps?:\/\/[^\s<>()]*[^\s<>().,;:!?'"*_]/],
  ["strong", /\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__(?!\w)/],
  ["strike", /~~(?=\S)([\s\S]*?\S)~~/],
  ["em", /\*(?=[^\s*])([\s\S]*?[^\s*])\*(?!\*)|(?<!\w)_(?=[^\s_])([\s\S]*?[^\s_])_(?!\w)/],
];

/** Append the inline Markdown of `text` to `parent`. */
export function renderInline(text, parent, inLink) {
  let rest = text;
  while (rest) {
    let best = null;
    for (const [kind, pattern] of INLINE) {
      if (inLink && (kind === "link" || kind === "url" || kind === "autolink")) continue;
      const m = pattern.exec(rest);
      if (m && (!best || m.index < best.m.index)) best = { kind, m };
    }
    if (!best) {
      appendText(parent, rest);
      return;
    }
    const { kind, m } = best;
    appendText(parent, rest.slice(0, m.index));
    rest = rest.slice(m.index + m[0].length);
    if (kind === "escape") parent.append(document.createTextNode(m[1]));
    else if (kind === "code") {
      const code = el("code");
      code.textContent = m[2].replace(/^ (.*) $/s, "$1");
      parent.append(code);
    } else if (kind === "image") {
      const a = link("[image: " + (m[1] || "untitled") + "]", m[2], parent);
      if (a) { a.textContent = "[image: " + (m[1] || m[2]) + "]"; parent.append(a); }
    } else if (kind === "link") {
      const a = link(m[1], m[2], parent);
      if (a) { renderInline(m[1], a, true); parent.append(a); }
    } else if (kind === "autolink" || kind === "url") {
      const url = kind === "url" ? m[0] : m[1];
      const a = link(url, url, parent);
      if (a) { a.textContent = url; parent.append(a); }
    } else {
      const tag = { strong: "strong", strike: "del", em: "em" }[kind];
      const node = el(tag);
      renderInline(m[1] !== undefined ? m[1] : m[2], node, inLink);
      parent.append(node);
    }
  }
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function table(lines, i, out) {
  const head = splitRow(lines[i]);
  const aligns = splitRow(lines[i + 1]).map((c) => (/^:-+:$/.test(c) ? "center" : /-:$/.test(c) ? "right" : null));
  const t = el("table");
  const thead = el("thead");
  const tr = el("tr");
  head.forEach((cell, c) => {
    const th = el("th");
    if (aligns[c]) th.align = aligns[c];
    renderInline(cell, th);
    tr.append(th);
  });
  thead.append(tr);
  t.append(thead);
  const tbody = el("tbody");
  let j = i + 2;
  for (; j < lines.length && !isBlank(lines[j]) && lines[j].includes("|"); j += 1) {
    const row = el("tr");
    splitRow(lines[j]).slice(0, head.length).forEach((cell, c) => {
      const td = el("td");
      if (aligns[c]) td.align = aligns[c];
      renderInline(cell, td);
      row.append(td);
    });
    tbody.append(row);
  }
  t.append(tbody);
  out.append(t);
  return j;
}

function list(lines, i, out) {
  const first = LIST_ITEM.exec(lines[i]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const node = el(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
  while (i < lines.length) {
    const m = LIST_ITEM.exec(lines[i]);
    if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
    const offset = m[0].length;
    const item = [lines[i].slice(offset)];
    i += 1;
    while (i < lines.length) {
      const line = lines[i];
      const lead = line.match(/^\s*/)[0].length;
      if (isBlank(line)) {
        const next = lines.slice(i + 1).find((l) => !isBlank(l));
        if (next !== undefined && next.match(/^\s*/)[0].length > indent) { item.push(""); i += 1; continue; }
        break;
      }
      const sub = LIST_ITEM.exec(line);
      if (sub && sub[1].length <= indent) break;
      if (lead > indent) item.push(line.slice(Math.min(lead, offset)));
      else if (!startsBlock(line)) item.push(line);
      else break;
      i += 1;
    }
    const li = el("li");
    const text = item.join("\n");
    if (!/\n\s*\n/.test(text) && !item.slice(1).some((l) => startsBlock(l))) renderInline(text.trim(), li);
    else renderBlocks(text.split("\n"), li);
    node.append(li);
  }
  out.append(node);
  return i;
}

function renderBlocks(lines, out) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) { i += 1; continue; }
    const fence = FENCE.exec(line);
    if (fence) {
      const close = new RegExp("^ {0,3}" + fence[1][0] + "{" + fence[1].length + ",}\\s*$");
      const body = [];
      for (i += 1; i < lines.length && !close.test(lines[i]); i += 1) body.push(lines[i]);
      i += 1;
      const pre = el("pre");
      const code = el("code");
      if (fence[2]) code.dataset.lang = fence[2];
      code.textContent = body.join("\n");
      pre.append(code);
      out.append(pre);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const node = el("h" + heading[1].length);
      renderInline(heading[2] || "", node);
      out.append(node);
      i += 1;
      continue;
    }
    if (RULE.test(line)) { out.append(el("hr")); i += 1; continue; }
    if (QUOTE.test(line)) {
      const inner = [];
      for (; i < lines.length && !isBlank(lines[i]); i += 1) inner.push(lines[i].replace(QUOTE, ""));
      const quote = el("blockquote");
      renderBlocks(inner, quote);
      out.append(quote);
      continue;
    }
    if (LIST_ITEM.test(line) && !(RULE.test(line))) { i = list(lines, i, out); continue; }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      i = table(lines, i, out);
      continue;
    }
    const para = [];
    for (; i < lines.length && !isBlank(lines[i]) && (!para.length || !startsBlock(lines[i])); i += 1) para.push(lines[i]);
    const p = el("p");
    renderInline(para.join("\n"), p);
    out.append(p);
  }
}

/** Render `text` as Markdown into a new <div class="md"> (plain text when very large). */
export function renderMarkdown(text) {
  const root = el("div", "md");
  const source = String(text || "");
  if (source.length > MAX_CHARS) {
    const pre = el("pre");
    pre.textContent = source;
    root.append(pre);
    return root;
  }
  renderBlocks(source.replace(/\r\n?/g, "\n").split("\n"), root);
  return root;
}

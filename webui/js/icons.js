// Provider, model and format icons without any network access: a monogram in a rounded square,
// built as SVG DOM. Known model families get a fixed hue near their brand colour so the same
// provider looks the same everywhere; other names get a deterministic hue hashed from the name.

import { s } from "./dom.js";

// [pattern, monogram, hue, saturation%]
const FAMILIES = [
  [/^(gpt|o\d|chatgpt|text-embedding|dall-e|whisper|davinci|codex)|openai/i, "AI", 166, 62],
  [/claude|anthropic/i, "A", 20, 58],
  [/gemini|gemma|google|palm|veo|imagen/i, "G", 217, 70],
  [/deepseek/i, "DS", 228, 60],
  [/llama|meta/i, "M", 206, 72],
  [/mistral|mixtral|codestral|magistral|devstral|ministral/i, "Mi", 28, 80],
  [/qwen|qwq|alibaba|dashscope/i, "Q", 262, 55],
  [/grok|xai/i, "X", 0, 0],
  [/kimi|moonshot/i, "K", 190, 40],
  [/glm|zhipu|z\.ai/i, "Z", 240, 45],
  [/command|cohere/i, "Co", 152, 45],
  [/phi-|microsoft|azure/i, "Ms", 200, 60],
  [/ollama/i, "Ol", 30, 10],
  [/openrouter/i, "OR", 250, 30],
];

export const FORMATS = {
  openai: { label: "OpenAI Chat Completions", short: "Chat", mono: "C", hue: 166, sat: 62 },
  openai_responses: { label: "OpenAI Responses", short: "Responses", mono: "R", hue: 140, sat: 55 },
  anthropic: { label: "Anthropic Messages", short: "Anthropic", mono: "A", hue: 20, sat: 58 },
  gemini: { label: "Google Gemini", short: "Gemini", mono: "G", hue: 217, sat: 70 },
};

export const FORMAT_IDS = Object.keys(FORMATS);

/** FNV-1a over the lower-cased name: a stable 32-bit number. */
export function hashName(name) {
  let hash = 0x811c9dc5;
  const text = String(name || "").toLowerCase();
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function initials(name) {
  const words = String(name || "?").replace(/[^\p{L}\p{N}]+/gu, " ").trim().split(" ").filter(Boolean);
  if (!words.length) return "?";
  if (words.length === 1) return words[0].slice(0, 2).replace(/^./, (c) => c.toUpperCase());
  return (words[0][0] + words[1][0]).toUpperCase();
}

/** {mono, hue, sat} for a model or provider name. */
export function monogramFor(name) {
  for (const [pattern, mono, hue, sat] of FAMILIES) {
    if (pattern.test(String(name || ""))) return { mono, hue, sat };
  }
  return { mono: initials(name), hue: hashName(name) % 360, sat: 52 };
}

function badge(spec, size) {
  const fontSize = spec.mono.length > 1 ? 13 : 16;
  const svg = s("svg", { viewBox: "0 0 32 32", width: size, height: size, class: "mono-icon", "aria-hidden": "true",
    focusable: "false" },
  s("rect", { width: 32, height: 32, rx: 8, fill: "hsl(" + spec.hue + " " + spec.sat + "% 40%)" }),
  s("text", { x: 16, y: 16.5, "text-anchor": "middle", "dominant-baseline": "central", fill: "#fff",
    "font-size": fontSize, "font-weight": 650, "font-family": "system-ui, sans-serif", text: spec.mono }));
  return svg;
}

/** A monogram icon (SVG element) for a model or provider name. */
export function icon(name, size) {
  return badge(monogramFor(name), size || 20);
}

/** The icon of an API format id (openai, openai_responses, anthropic, gemini); decorative, so no title. */
export function formatIcon(format, size) {
  return badge(FORMATS[format] || { mono: "?", hue: 0, sat: 0 }, size || 18);
}

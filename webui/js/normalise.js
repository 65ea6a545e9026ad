// Turns a captured request body of any of the four API formats into one neutral shape for the
// inspector, in prompt-cache order (what a provider caches first comes first):
//   {format, sections: [{title, tools?: [{name, description, schema}], messages?: [{role, blocks}]}], order}
// Blocks: {type: text|thinking|tool_call|tool_result|image|other, text, name?, id?, src?, is_error?}.
// Pure functions, no DOM.

const str = (value) => (typeof value === "string" ? value : value === undefined || value === null ? "" : JSON.stringify(value, null, 2));

function imageBlock(url, mediaType) {
  // Only inline data: images are shown (the CSP allows data: images); remote URLs are never fetched.
  if (typeof url === "string" && /^data:image\/[\w.+-]+;base64,/.test(url)) return { type: "image", src: url, text: mediaType || "image" };
  return { type: "image", text: (mediaType || "image") + (url ? " — " + String(url).slice(0, 200) : "") };
}

function openaiParts(content) {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return (content || []).map((part) => {
    if (part.type === "text" || part.type === "input_text") return { type: "text", text: part.text || "" };
    if (part.type === "image_url") return imageBlock(part.image_url && (part.image_url.url || part.image_url), "image");
    if (part.type === "refusal") return { type: "text", text: part.refusal || "" };
    return { type: "other", name: part.type, text: str(part) };
  });
}

function openaiMessage(m) {
  const blocks = [];
  if (m.reasoning_content) blocks.push({ type: "thinking", text: m.reasoning_content });
  if (m.role === "tool") return { role: "tool", blocks: [{ type: "tool_result", id: m.tool_call_id || "", text: openaiParts(m.content).map((b) => b.text).join("\n") }] };
  blocks.push(...openaiParts(m.content));
  for (const call of m.tool_calls || []) {
    blocks.push({ type: "tool_call", id: call.id || "", name: (call.function || {}).name || "", text: (call.function || {}).arguments || "" });
  }
  if (m.function_call) blocks.push({ type: "tool_call", name: m.function_call.name, text: m.function_call.arguments || "" });
  return { role: m.role || "user", blocks };
}

function openaiRequest(body) {
  const tools = (body.tools || []).map((t) => (t.function ? { name: t.function.name, description: t.function.description, schema: t.function.parameters }
    : { name: t.type || "tool", description: "", schema: t }));
  for (const f of body.functions || []) tools.push({ name: f.name, description: f.description, schema: f.parameters });
  const messages = (body.messages || []).map(openaiMessage);
  let lead = 0;
  while (lead < messages.length && (messages[lead].role === "system" || messages[lead].role === "developer")) lead += 1;
  return { order: "tools → system → messages", sections: [
    { title: "Tools", tools }, { title: "System", messages: messages.slice(0, lead) }, { title: "Messages", messages: messages.slice(lead) }] };
}

function anthropicBlocks(content) {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return (content || []).map((b) => {
    if (b.type === "text") return { type: "text", text: b.text || "" };
    if (b.type === "thinking") return { type: "thinking", text: b.thinking || "" };
    if (b.type === "redacted_thinking") return { type: "thinking", text: "[redacted thinking]" };
    if (b.type === "tool_use" || b.type === "server_tool_use") return { type: "tool_call", id: b.id || "", name: b.name || "", text: str(b.input) };
    if (b.type === "tool_result") {
      const text = typeof b.content === "string" ? b.content : anthropicBlocks(b.content).map((x) => x.text).join("\n");
      return { type: "tool_result", id: b.tool_use_id || "", text, is_error: !!b.is_error };
    }
    if (b.type === "image" && b.source) {
      return b.source.type === "base64" ? imageBlock("data:" + b.source.media_type + ";base64," + b.source.data, b.source.media_type)
        : imageBlock(b.source.url, "image");
    }
    return { type: "other", name: b.type, text: str(b) };
  });
}

function anthropicRequest(body) {
  const tools = (body.tools || []).map((t) => ({ name: t.name || t.type, description: t.description || "", schema: t.input_schema || t }));
  const system = body.system ? [{ role: "system", blocks: anthropicBlocks(body.system) }] : [];
  const messages = (body.messages || []).map((m) => ({ role: m.role, blocks: anthropicBlocks(m.content) }));
  return { order: "tools → system → messages", sections: [
    { title: "Tools", tools }, { title: "System", messages: system }, { title: "Messages", messages }] };
}

function responsesItem(item) {
  if (item.type === "function_call" || item.type === "custom_tool_call") {
    return { role: "assistant", blocks: [{ type: "tool_call", id: item.call_id || "", name: item.name || "", text: item.arguments || item.input || "" }] };
  }
  if (item.type === "function_call_output" || item.type === "custom_tool_call_output") {
    return { role: "tool", blocks: [{ type: "tool_result", id: item.call_id || "", text: str(item.output) }] };
  }
  if (item.type === "reasoning") {
    const text = (item.summary || []).map((p) => p.text || "").join("\n\n") || (item.content || []).map((p) => p.text || "").join("");
    return { role: "assistant", blocks: [{ type: "thinking", text: text || "[encrypted reasoning]" }] };
  }
  if (item.role || item.type === "message") {
    const content = typeof item.content === "string" ? [{ type: "text", text: item.content }]
      : (item.content || []).map((p) => {
        if (typeof p.text === "string") return { type: "text", text: p.text };
        if (p.type === "input_image") return imageBlock(p.image_url, "image");
        return { type: "other", name: p.type, text: str(p) };
      });
    return { role: item.role || "user", blocks: content };
  }
  return { role: item.type || "item", blocks: [{ type: "other", name: item.type, text: str(item) }] };
}

function responsesRequest(body) {
  const tools = (body.tools || []).map((t) => ({ name: t.name || t.type, description: t.description || "", schema: t.parameters || t }));
  const input = typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input || [];
  const instructions = body.instructions ? [{ role: "instructions", blocks: [{ type: "text", text: str(body.instructions) }] }] : [];
  return { order: "tools → instructions → input", sections: [
    { title: "Tools", tools }, { title: "Instructions", messages: instructions }, { title: "Input", messages: input.map(responsesItem) }] };
}

function geminiParts(parts) {
  return (parts || []).map((p) => {
    const call = p.functionCall || p.function_call;
    const reply = p.functionResponse || p.function_response;
    const inline = p.inlineData || p.inline_data;
    if (typeof p.text === "string") return { type: p.thought ? "thinking" : "text", text: p.text };
    if (call) return { type: "tool_call", id: call.id || "", name: call.name || "", text: str(call.args) };
    if (reply) return { type: "tool_result", id: reply.id || reply.name || "", name: reply.name, text: str(reply.response) };
    if (inline) {
      const mime = inline.mimeType || inline.mime_type || "";
      return /^image\//.test(mime) ? imageBlock("data:" + mime + ";base64," + inline.data, mime) : { type: "other", name: mime, text: "[" + mime + " data]" };
    }
    return { type: "other", name: Object.keys(p)[0], text: str(p) };
  });
}

function geminiRequest(body) {
  const system = body.systemInstruction || body.system_instruction;
  const tools = [];
  for (const t of body.tools || []) {
    const decls = t.functionDeclarations || t.function_declarations;
    if (decls) for (const d of decls) tools.push({ name: d.name, description: d.description || "", schema: d.parameters || d.parametersJsonSchema });
    else tools.push({ name: Object.keys(t)[0] || "tool", description: "", schema: t });
  }
  const contents = (body.contents || []).map((c) => ({ role: c.role || "user", blocks: geminiParts(c.parts) }));
  const systemMessages = system ? [{ role: "system", blocks: geminiParts(system.parts || [{ text: str(system) }]) }] : [];
  return { order: "systemInstruction → tools → contents", sections: [
    { title: "System instruction", messages: systemMessages }, { title: "Tools", tools }, { title: "Contents", messages: contents }] };
}

/** Guess the format of a request body from its fields. */
export function sniffRequest(body) {
  if (!body || typeof body !== "object") return "";
  if (body.contents) return "gemini";
  if (body.input !== undefined || body.instructions !== undefined) return "openai_responses";
  if (body.system !== undefined || body.max_tokens !== undefined && body.messages && !body.messages.some((m) => m.role === "system")) return "anthropic";
  if (body.messages) return "openai";
  return "";
}

const REQUESTS = { openai: openaiRequest, anthropic: anthropicRequest, openai_responses: responsesRequest, gemini: geminiRequest };

/** The neutral view of request `body` (parsed JSON) sent in `format`; null when it does not fit. */
export function normaliseRequest(format, body) {
  const chosen = REQUESTS[format] ? format : sniffRequest(body);
  if (!REQUESTS[chosen] || !body || typeof body !== "object") return null;
  const view = REQUESTS[chosen](body);
  view.format = chosen;
  view.model = body.model || "";
  return view;
}

// Claude Code and Codex wrap injected context in pseudo-XML tags; the inspector labels them so
// they are not mistaken for what the person typed.
const WRAPPER = /<(system-reminder|local-command-caveat|local-command-stdout|local-command-stderr|command-name|command-message|command-args|command-contents|environment_context|user_instructions|user-prompt-submit-hook)>([\s\S]*?)<\/\1>/g;

/** Split text into [{tag?, text}] segments, one per injected wrapper and one per plain run. */
export function splitWrappers(text) {
  const out = [];
  let last = 0;
  for (const m of String(text || "").matchAll(WRAPPER)) {
    if (m.index > last) out.push({ text: text.slice(last, m.index) });
    out.push({ tag: m[1], text: m[2].trim() });
    last = m.index + m[0].length;
  }
  if (last < String(text || "").length) out.push({ text: text.slice(last) });
  return out.filter((s) => s.tag || s.text.trim());
}

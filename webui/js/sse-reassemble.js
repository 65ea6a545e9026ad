// Rebuilds a provider's answer for the log inspector from what was captured: a Server-Sent
// Events body of any of the four formats (OpenAI Chat, OpenAI Responses, Anthropic Messages,
// Gemini), or a plain JSON body. The result is one neutral shape:
//   {format, model, blocks: [{type: text|thinking|refusal|tool_call|other, text, name?, id?}],
//    stop_reason, usage: {input, output, cache_read, cache_creation, reasoning}, complete, error, events}
// Pure functions, no DOM: the browser tests run them on the gateway's golden fixtures.

/** Split an SSE body into events [{event, data, id}] (comments and retry lines dropped). */
export function parseSSE(text) {
  const events = [];
  let current = { event: "", data: [], id: null };
  const flush = () => {
    if (current.data.length || current.event) events.push({ event: current.event, data: current.data.join("\n"), id: current.id });
    current = { event: "", data: [], id: null };
  };
  for (const line of String(text || "").replace(/\r\n?/g, "\n").split("\n")) {
    if (line === "") { flush(); continue; }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "data") current.data.push(value);
    else if (name === "event") current.event = value;
    else if (name === "id") current.id = value;
  }
  flush();
  return events;
}

/** Whether `body` looks like an SSE stream rather than JSON. */
export function looksLikeSSE(body, contentType) {
  if (contentType && /event-stream/i.test(contentType)) return true;
  return /^\s*(event|data|id|:)[^\n]*/.test(String(body || "")) && !/^\s*[[{]/.test(String(body || ""));
}

function result(format) {
  return { format, model: "", blocks: [], stop_reason: "", usage: {}, complete: false, error: null, events: 0 };
}

function json(data) {
  try { return JSON.parse(data); } catch (err) { return null; }
}

function errorText(err) {
  if (!err) return null;
  if (typeof err === "string") return err;
  return err.message || err.type || err.code || JSON.stringify(err);
}

/** Append text to the last block when it has the same type, else start a new block. */
function appendTo(out, type, text) {
  if (!text) return;
  const last = out.blocks[out.blocks.length - 1];
  if (last && last.type === type && !last.closed) last.text += text;
  else out.blocks.push({ type, text });
}

function openaiUsage(out, usage) {
  if (!usage) return;
  out.usage.input = usage.prompt_tokens;
  out.usage.output = usage.completion_tokens;
  const details = usage.prompt_tokens_details || {};
  if (details.cached_tokens !== undefined) out.usage.cache_read = details.cached_tokens;
  const reasoning = (usage.completion_tokens_details || {}).reasoning_tokens;
  if (reasoning) out.usage.reasoning = reasoning;
}

function openaiChunk(out, chunk, tools) {
  if (chunk.model) out.model = chunk.model;
  openaiUsage(out, chunk.usage);
  for (const choice of (chunk.choices || []).filter((c) => !c.index)) {
    const delta = choice.delta || choice.message || {};
    appendTo(out, "thinking", delta.reasoning_content || delta.reasoning);
    appendTo(out, "text", typeof delta.content === "string" ? delta.content : "");
    appendTo(out, "refusal", delta.refusal);
    for (const call of delta.tool_calls || []) {
      const key = call.index !== undefined ? call.index : tools.size;
      let block = tools.get(key);
      if (!block) {
        block = { type: "tool_call", name: "", id: "", text: "" };
        tools.set(key, block);
        out.blocks.push(block);
      }
      if (call.id) block.id = call.id;
      if (call.function && call.function.name) block.name += call.function.name;
      if (call.function && call.function.arguments) block.text += call.function.arguments;
    }
    if (choice.finish_reason) { out.stop_reason = choice.finish_reason; out.complete = true; }
  }
}

function reassembleOpenAI(events) {
  const out = result("openai");
  const tools = new Map();
  for (const e of events) {
    out.events += 1;
    if (e.data.trim() === "[DONE]") { out.complete = true; continue; }
    const chunk = json(e.data);
    if (!chunk) continue;
    if (chunk.error) { out.error = errorText(chunk.error); continue; }
    openaiChunk(out, chunk, tools);
  }
  return out;
}

function anthropicUsage(out, usage) {
  if (!usage) return;
  if (usage.input_tokens !== undefined) out.usage.input = usage.input_tokens;
  if (usage.output_tokens !== undefined) out.usage.output = usage.output_tokens;
  if (usage.cache_read_input_tokens !== undefined) out.usage.cache_read = usage.cache_read_input_tokens;
  if (usage.cache_creation_input_tokens !== undefined) out.usage.cache_creation = usage.cache_creation_input_tokens;
}

function anthropicBlock(block) {
  if (block.type === "text") return { type: "text", text: block.text || "" };
  if (block.type === "thinking") return { type: "thinking", text: block.thinking || "" };
  if (block.type === "redacted_thinking") return { type: "thinking", text: "[redacted thinking]" };
  if (block.type === "tool_use" || block.type === "server_tool_use") {
    const input = block.input && Object.keys(block.input).length ? JSON.stringify(block.input) : "";
    return { type: "tool_call", name: block.name || "", id: block.id || "", text: input };
  }
  return { type: "other", name: block.type, text: JSON.stringify(block, null, 2) };
}

function reassembleAnthropic(events) {
  const out = result("anthropic");
  const byIndex = new Map();
  for (const e of events) {
    out.events += 1;
    const data = json(e.data);
    if (!data) continue;
    const type = data.type || e.event;
    if (type === "message_start" && data.message) {
      out.model = data.message.model || out.model;
      anthropicUsage(out, data.message.usage);
    } else if (type === "content_block_start" && data.content_block) {
      const block = anthropicBlock(data.content_block);
      block.closed = true; // deltas go to the block by index, never merged with a neighbour
      byIndex.set(data.index, block);
      out.blocks.push(block);
    } else if (type === "content_block_delta" && data.delta) {
      const block = byIndex.get(data.index);
      if (!block) continue;
      const d = data.delta;
      block.text += d.text || d.thinking || d.partial_json || "";
    } else if (type === "message_delta") {
      if (data.delta && data.delta.stop_reason) out.stop_reason = data.delta.stop_reason;
      anthropicUsage(out, data.usage);
    } else if (type === "message_stop") {
      out.complete = true;
    } else if (type === "error") {
      out.error = errorText(data.error);
    }
  }
  return out;
}

function responsesUsage(out, usage) {
  if (!usage) return;
  out.usage.input = usage.input_tokens;
  out.usage.output = usage.output_tokens;
  const cached = (usage.input_tokens_details || {}).cached_tokens;
  if (cached !== undefined) out.usage.cache_read = cached;
  const reasoning = (usage.output_tokens_details || {}).reasoning_tokens;
  if (reasoning) out.usage.reasoning = reasoning;
}

function responsesItemBlock(item) {
  if (item.type === "function_call" || item.type === "custom_tool_call") {
    return { type: "tool_call", name: item.name || "", id: item.call_id || item.id || "", text: item.arguments || item.input || "" };
  }
  if (item.type === "reasoning") {
    const summary = (item.summary || []).map((p) => p.text || "").join("\n\n");
    const content = (item.content || []).map((p) => p.text || "").join("");
    return { type: "thinking", text: content || summary };
  }
  if (item.type === "message") {
    const parts = item.content || [];
    const refusal = parts.filter((p) => p.type === "refusal").map((p) => p.refusal || "").join("");
    if (refusal && !parts.some((p) => p.type === "output_text")) return { type: "refusal", text: refusal };
    return { type: "text", text: parts.map((p) => p.text || "").join("") };
  }
  return { type: "other", name: item.type, text: JSON.stringify(item, null, 2) };
}

function finishResponses(out, response) {
  if (!response) return;
  out.model = response.model || out.model;
  out.stop_reason = response.status === "incomplete" && response.incomplete_details
    ? "incomplete: " + response.incomplete_details.reason : response.status || out.stop_reason;
  responsesUsage(out, response.usage);
  if (response.error) out.error = errorText(response.error);
}

function reassembleResponses(events) {
  const out = result("openai_responses");
  const byIndex = new Map();
  const blockAt = (index, type) => {
    let block = byIndex.get(index);
    if (!block) {
      block = { type, text: "", closed: true };
      byIndex.set(index, block);
      out.blocks.push(block);
    }
    if (block.type !== type && !block.text) block.type = type;
    return block;
  };
  for (const e of events) {
    out.events += 1;
    const data = json(e.data);
    if (!data) continue;
    const type = data.type || e.event;
    if (type === "response.created" && data.response) out.model = data.response.model || out.model;
    else if (type === "response.output_item.added" && data.item) {
      const block = responsesItemBlock(data.item);
      block.closed = true;
      if (data.item.type === "message" || data.item.type === "reasoning") block.text = "";
      byIndex.set(data.output_index, block);
      out.blocks.push(block);
    } else if (type === "response.output_item.done" && data.item) {
      const block = byIndex.get(data.output_index);
      const done = responsesItemBlock(data.item);
      if (block && !block.text && done.text) Object.assign(block, done, { closed: true });
    } else if (type === "response.output_text.delta") blockAt(data.output_index, "text").text += data.delta || "";
    else if (type === "response.refusal.delta") blockAt(data.output_index, "refusal").text += data.delta || "";
    else if (type === "response.reasoning_summary_text.delta" || type === "response.reasoning_text.delta") {
      blockAt(data.output_index, "thinking").text += data.delta || "";
    } else if (type === "response.reasoning_summary_part.added" && blockAt(data.output_index, "thinking").text) {
      blockAt(data.output_index, "thinking").text += "\n\n";
    } else if (type === "response.function_call_arguments.delta") blockAt(data.output_index, "tool_call").text += data.delta || "";
    else if (type === "response.completed" || type === "response.incomplete" || type === "response.failed") {
      finishResponses(out, data.response);
      out.complete = true;
    } else if (type === "error") out.error = errorText(data.error || data);
  }
  return out;
}

function geminiUsage(out, usage) {
  if (!usage) return;
  out.usage.input = usage.promptTokenCount;
  out.usage.output = usage.candidatesTokenCount;
  if (usage.cachedContentTokenCount !== undefined) out.usage.cache_read = usage.cachedContentTokenCount;
  if (usage.thoughtsTokenCount) out.usage.reasoning = usage.thoughtsTokenCount;
}

function geminiPayload(out, data) {
  if (data.error) { out.error = errorText(data.error); return; }
  if (data.modelVersion) out.model = data.modelVersion;
  geminiUsage(out, data.usageMetadata);
  if (data.promptFeedback && data.promptFeedback.blockReason) out.stop_reason = "prompt blocked: " + data.promptFeedback.blockReason;
  const candidate = (data.candidates || [])[0];
  if (!candidate) return;
  for (const part of (candidate.content && candidate.content.parts) || []) {
    if (part.functionCall) {
      out.blocks.push({ type: "tool_call", name: part.functionCall.name || "", id: part.functionCall.id || "",
        text: JSON.stringify(part.functionCall.args || {}), closed: true });
    } else if (typeof part.text === "string") appendTo(out, part.thought ? "thinking" : "text", part.text);
    else if (part.executableCode || part.codeExecutionResult || part.inlineData) {
      out.blocks.push({ type: "other", name: Object.keys(part)[0], text: JSON.stringify(part, null, 2), closed: true });
    }
  }
  if (candidate.finishReason) { out.stop_reason = candidate.finishReason; out.complete = true; }
}

function reassembleGemini(events) {
  const out = result("gemini");
  for (const e of events) {
    out.events += 1;
    const data = json(e.data);
    if (data) geminiPayload(out, Array.isArray(data) ? data[0] || {} : data);
  }
  return out;
}

/** Guess the format of a captured stream from its first recognisable event. */
export function sniffFormat(events) {
  for (const e of events) {
    const data = json(e.data);
    const type = (data && data.type) || e.event;
    if (/^(message_start|content_block_)/.test(type || "")) return "anthropic";
    if (/^response\./.test(type || "")) return "openai_responses";
    if (data && (data.candidates || data.usageMetadata)) return "gemini";
    if (data && (data.choices || data.object === "chat.completion.chunk")) return "openai";
  }
  return "";
}

const STREAMS = { openai: reassembleOpenAI, anthropic: reassembleAnthropic, openai_responses: reassembleResponses, gemini: reassembleGemini };

/** Reassemble an SSE body captured from a provider speaking `format` (guessed when empty/unknown). */
export function reassembleStream(format, text) {
  const events = parseSSE(text);
  const chosen = STREAMS[format] ? format : sniffFormat(events);
  const out = STREAMS[chosen] ? STREAMS[chosen](events) : Object.assign(result(""), { events: events.length });
  for (const block of out.blocks) delete block.closed;
  return out;
}

function sniffJson(body) {
  if (body.choices) return "openai";
  if (body.type === "message" || (Array.isArray(body.content) && body.role)) return "anthropic";
  if (body.object === "response" || Array.isArray(body.output)) return "openai_responses";
  if (body.candidates || body.usageMetadata) return "gemini";
  return "";
}

/** Normalise a non-streamed JSON response body (parsed) of `format` into the same shape. */
export function responseFromJson(format, body) {
  const chosen = ["openai", "anthropic", "openai_responses", "gemini"].includes(format) ? format : sniffJson(body || {});
  const out = result(chosen);
  out.complete = true;
  if (!body || typeof body !== "object") return out;
  if (body.error) out.error = errorText(body.error);
  if (chosen === "openai") openaiChunk(out, body, new Map());
  else if (chosen === "anthropic") {
    out.model = body.model || "";
    out.blocks = (body.content || []).map(anthropicBlock);
    out.stop_reason = body.stop_reason || "";
    anthropicUsage(out, body.usage);
  } else if (chosen === "openai_responses") {
    out.blocks = (body.output || []).map(responsesItemBlock);
    finishResponses(out, body);
  } else if (chosen === "gemini") geminiPayload(out, body);
  for (const block of out.blocks) delete block.closed;
  return out;
}

/** Parse a captured response body (string) of `format`: SSE or JSON; null when it is neither. */
export function reassemble(format, body, contentType) {
  if (looksLikeSSE(body, contentType)) return reassembleStream(format, body);
  try {
    return responseFromJson(format, JSON.parse(body));
  } catch (err) {
    return null;
  }
}

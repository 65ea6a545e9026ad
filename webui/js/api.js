// Admin API client: one place that talks to /api/, turns non-2xx answers into ApiError carrying
// the server's own message ({"error": "..."} JSON, or plain text), and reports 401s so the shell
// can show the login screen. Paths and shapes: reference §5.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

let unauthorizedHandler = null;

/** Register the callback run when a protected call answers 401 (session expired or revoked). */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

function messageOf(status, text, data) {
  if (data && typeof data.error === "string") return data.error;
  if (data && data.error && typeof data.error.message === "string") return data.error.message;
  const plain = (text || "").trim();
  return plain ? plain.slice(0, 300) : "HTTP " + status;
}

/**
 * Call the admin API. `body` (any JSON value) is sent as JSON; resolves to the parsed answer
 * (null for an empty body) or rejects with ApiError(status, server message).
 */
export async function request(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "cannot reach Tresor (" + (err && err.message ? err.message : "network error") + ")");
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (err) {
    data = null; // plain-text answers (some errors) are reported as text below
  }
  if (!res.ok) {
    if (res.status === 401 && unauthorizedHandler && !path.startsWith("/api/auth/")) unauthorizedHandler();
    throw new ApiError(res.status, messageOf(res.status, text, data));
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body === undefined ? {} : body);
export const put = (path, body) => request("PUT", path, body === undefined ? {} : body);
export const del = (path) => request("DELETE", path);

/** One path segment, percent-encoded (model ids may contain '/' or ':'). */
export function seg(value) {
  return encodeURIComponent(String(value));
}

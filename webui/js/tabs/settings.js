// Settings tab: runtime settings (PUT /api/config, applied live and written to config.yaml),
// the proxy keys apps must send, and the admin password (POST /api/auth/password). Fixes the Go
// UI's bugs: clearing the password works, and "Logs" is a valid default tab.

import * as api from "../api.js";
import { h, fill, field, checkbox, toast, act, FAILED, confirmDialog } from "../dom.js";

const TAB_CHOICES = [["", "Downstreams (default)"], ["dashboard", "Dashboard"], ["downstreams", "Downstreams"],
  ["aliases", "Aliases"], ["rules", "Rules"], ["settings", "Settings"], ["logs", "Logs"], ["about", "About"]];
const PROXY_MODES = [["auto", "auto — system proxy settings"], ["env", "env — HTTPS_PROXY / NO_PROXY"],
  ["windows", "windows — Windows proxy settings"], ["none", "none — connect directly"]];
const LEVELS = ["debug", "info", "warn", "error"];

let root;
let app;
let general;
let keysCard;
let passwordCard;

function select(choices, value, label) {
  const el = h("select", { "aria-label": label || null }, choices.map(([v, text]) => h("option", { value: v, text })));
  el.value = value;
  return el;
}

function mount(section, appState) {
  root = section;
  app = appState;
  general = h("form", { class: "card", novalidate: true });
  keysCard = h("div", { class: "card" });
  passwordCard = h("form", { class: "card", novalidate: true });
  fill(root,
    h("div", { class: "tab-head" }, h("h1", { id: "heading-settings", text: "Settings" })),
    h("div", { class: "settings-grid" }, general, h("div", null, keysCard, passwordCard)));
}

async function show() {
  try {
    await app.loadConfig();
  } catch (err) {
    toast("Could not load settings: " + err.message, "error");
    return;
  }
  renderGeneral();
  renderKeys();
  renderPassword();
}

function renderGeneral() {
  const c = app.config;
  const mode = select(PROXY_MODES, c.proxy_mode || "auto");
  const level = select(LEVELS.map((l) => [l, l]), c.log_level || "info");
  const tab = select(TAB_CHOICES, c.default_tab || "");
  const capture = checkbox("Capture payloads (keeps the bodies of the last 100 requests for the Logs inspector)", c.capture_payloads);
  const retry = checkbox("Retry on empty (retry up to 3 times when a provider answers 200 with no content)", c.retry_on_empty);
  const status = h("span", { class: "save-state", "aria-live": "polite" });
  fill(general,
    h("h2", { text: "Gateway" }),
    field("Outbound proxy", mode, "How Tresor reaches providers."),
    field("Log level", level, "Debug also shows routing decisions in the Logs tab."),
    field("Default tab", tab, "Opened first when the web UI loads."),
    h("div", { class: "field" }, capture.row, retry.row),
    h("div", { class: "row" }, h("button", { type: "submit", class: "btn primary", id: "save-settings", text: "Save settings" }), status));
  general.onsubmit = async (event) => {
    event.preventDefault();
    status.className = "save-state";
    status.textContent = "Saving…";
    const saved = await act(() => api.put("/api/config", { proxy_mode: mode.value, log_level: level.value, default_tab: tab.value,
      capture_payloads: capture.input.checked, retry_on_empty: retry.input.checked }), "Settings saved");
    if (saved === FAILED) {
      status.className = "save-state error";
      status.textContent = "Not saved.";
      return;
    }
    app.config = saved;
    status.className = "save-state ok";
    status.textContent = "✓ Saved";
  };
}

function randomKey() {
  const bytes = new Uint8Array(18);
  crypto.getRandomValues(bytes);
  return "tresor-" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function saveKeys(keys, message) {
  const saved = await act(() => api.put("/api/config", { proxy_api_keys: keys }), message);
  if (saved === FAILED) return false;
  app.config = saved;
  renderKeys();
  return true;
}

function renderKeys() {
  const keys = app.config.proxy_api_keys || [];
  const input = h("input", { placeholder: "a key your apps will send", autocomplete: "off", spellcheck: "false" });
  const add = async () => {
    const value = input.value.trim();
    if (!value) { toast("Type or generate a key first.", "error"); input.focus(); return; }
    if (await saveKeys(keys.concat([value]), "Proxy key added")) keysCard.querySelector("input").focus();
  };
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); add(); } });
  fill(keysCard,
    h("h2", { text: "Proxy authentication" }),
    h("p", { class: "hint", text: keys.length ? "Apps must send one of these keys (as their API key)." : "No keys: all traffic to the gateway is allowed. Fine on 127.0.0.1." }),
    keys.length ? h("ul", { class: "key-list" }, keys.map((k, i) => h("li", null, h("span", { class: "mono", text: k }),
      h("button", { type: "button", class: "icon-btn danger", text: "×", "aria-label": "Remove key " + k, onclick: async () => {
        if (await confirmDialog("Remove proxy key", "Remove " + k + "? Apps using it will get 401.", "Remove")) {
          await saveKeys(keys.filter((_, j) => j !== i), "Proxy key removed");
        }
      } })))) : null,
    field("New key", input),
    h("div", { class: "row" },
      h("button", { type: "button", class: "btn", text: "Generate", onclick: () => { input.value = randomKey(); input.select(); } }),
      h("button", { type: "button", class: "btn primary", text: "+ Add key", onclick: add })),
    h("p", { class: "hint", text: "Keys are shown masked once saved: copy a new key before adding it." }));
}

/** POST /api/auth/password with the form `f` ({isSet, current, next, again, error}); "" clears it. */
async function changePassword(f, newPassword) {
  f.error.textContent = "";
  if (newPassword !== "" && f.next.value !== f.again.value) { f.error.textContent = "The two new passwords differ."; f.again.focus(); return; }
  if (f.isSet && !f.current.value) { f.error.textContent = "Type the current password."; f.current.focus(); return; }
  try {
    await api.post("/api/auth/password", { current_password: f.current.value, new_password: newPassword });
  } catch (err) {
    f.error.textContent = err.message;
    toast(err.message, "error");
    return;
  }
  if (newPassword === "") {
    app.authEnabled = false;
    document.getElementById("sign-out").hidden = true;
    toast("Password removed: the web UI no longer asks for one.", "ok");
    await show();
    return;
  }
  app.authEnabled = true;
  toast(f.isSet ? "Password changed. Signing out…" : "Password set. Signing out…", "ok");
  for (const el of passwordCard.querySelectorAll("input, button")) el.disabled = true;
  setTimeout(() => app.signOut("Password changed: sign in with the new password."), 1500);
}

function renderPassword() {
  const f = { isSet: !!app.config.admin_password_set, current: h("input", { type: "password", autocomplete: "current-password" }),
    next: h("input", { type: "password", autocomplete: "new-password" }), again: h("input", { type: "password", autocomplete: "new-password" }),
    error: h("p", { class: "form-error", role: "alert" }) };
  const clearButton = h("button", { type: "button", class: "btn danger", text: "Remove password", onclick: async () => {
    if (!f.current.value) { f.error.textContent = "Type the current password to remove it."; f.current.focus(); return; }
    if (await confirmDialog("Remove admin password", "Anyone who can reach this address could then change Tresor's settings. Remove the password?", "Remove")) {
      await changePassword(f, "");
    }
  } });
  fill(passwordCard,
    h("h2", { text: "Admin password" }),
    h("p", { class: "hint", text: f.isSet ? "The web UI and admin API ask for this password." : "No password: the web UI and admin API are open to local host names only." }),
    f.isSet ? field("Current password", f.current) : null,
    field(f.isSet ? "New password" : "Password", f.next),
    field("Repeat new password", f.again),
    f.error,
    h("div", { class: "row" }, h("button", { type: "submit", class: "btn primary", id: "change-password", text: f.isSet ? "Change password" : "Set password" }),
      f.isSet ? clearButton : null));
  passwordCard.onsubmit = (event) => {
    event.preventDefault();
    if (!f.next.value) { f.error.textContent = "Type the new password."; f.next.focus(); return; }
    changePassword(f, f.next.value);
  };
}

export default { id: "settings", title: "Settings", mount, show };

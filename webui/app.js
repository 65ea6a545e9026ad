// Entry module of the web UI: theme, login, the sidebar and hash routing between tabs
// (#dashboard, #aliases, …). Each tab is a module exporting {id, title, mount, show, hide};
// it is mounted on first visit and asked to reload its data every time it is shown.

import * as api from "./js/api.js";
import { h, s, fill, toast, announce } from "./js/dom.js";
import dashboard from "./js/tabs/dashboard.js";
import downstreams from "./js/tabs/downstreams.js";
import aliases from "./js/tabs/aliases.js";
import rules from "./js/tabs/rules.js";
import settings from "./js/tabs/settings.js";
import logs from "./js/tabs/logs.js";
import about from "./js/tabs/about.js";

const TABS = [dashboard, downstreams, aliases, rules, settings, logs, about];
const THEME_KEY = "tresor-theme";

// Simple stroke icons (24×24 paths) for the sidebar; drawn here so nothing is fetched.
const NAV_PATHS = {
  dashboard: "M4 20V11M10 20V5M16 20v-6M21 20H3",
  downstreams: "M4 4h16v7H4zM4 13h16v7H4zM8 7.5h.01M8 16.5h.01",
  aliases: "M16 3h5v5M4 20 21 3M21 16v5h-5M15 15l6 6M4 4l5 5",
  rules: "M3 4h18l-7 8.5V18l-4 2v-7.5z",
  settings: "M4 21v-7M4 10V3M12 21v-9M12 8V3M20 21v-5M20 12V3M1 14h6M9 8h6M17 16h6",
  logs: "M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01",
  about: "M12 2a10 10 0 1 0 0 20a10 10 0 1 0 0-20zM12 16v-4M12 8h.01",
  sun: "M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8zM12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4",
  moon: "M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z",
  signout: "M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9",
};

export function navIcon(name) {
  return s("svg", { viewBox: "0 0 24 24", width: 20, height: 20, class: "nav-icon", "aria-hidden": "true",
    focusable: "false", fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round",
    "stroke-linejoin": "round" }, s("path", { d: NAV_PATHS[name] }));
}

/** Shared state handed to every tab. */
const app = {
  authEnabled: false,
  config: null,
  active: null,
  mounted: new Set(),
  /** GET /api/config again (tabs call this after saving settings). */
  async loadConfig() {
    app.config = await api.get("/api/config");
    return app.config;
  },
  /** Switch to tab `id` (also via the URL hash, so Back works). */
  go(id) {
    if (location.hash !== "#" + id) location.hash = id;
    else activate(id);
  },
  signOut,
  showLogin,
};

// Theme: follow the system until the user toggles; a choice equal to the system's is forgotten,
// so toggling back returns to "follow the system".
const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");

function storedTheme() {
  try { return localStorage.getItem(THEME_KEY); } catch (err) { return null; }
}

function storeTheme(value) {
  try {
    if (value) localStorage.setItem(THEME_KEY, value);
    else localStorage.removeItem(THEME_KEY);
  } catch (err) { /* storage disabled: the choice lasts for this page only */ }
}

function currentTheme() {
  const systemTheme = darkQuery.matches ? "dark" : "light";
  return storedTheme() || document.documentElement.dataset.choice || systemTheme;
}

function applyTheme() {
  const theme = currentTheme();
  document.documentElement.dataset.theme = theme;
  const button = document.getElementById("theme-toggle");
  const next = theme === "dark" ? "light" : "dark";
  fill(button, navIcon(theme === "dark" ? "sun" : "moon"), h("span", { class: "nav-label", text: next === "dark" ? "Dark theme" : "Light theme" }));
  button.setAttribute("aria-label", "Switch to " + next + " theme");
  button.title = "Switch to " + next + " theme";
}

function toggleTheme() {
  const next = currentTheme() === "dark" ? "light" : "dark";
  const systemTheme = darkQuery.matches ? "dark" : "light";
  storeTheme(next === systemTheme ? null : next);
  if (next === systemTheme) delete document.documentElement.dataset.choice;
  else document.documentElement.dataset.choice = next;
  applyTheme();
  announce(next === "dark" ? "Dark theme" : "Light theme");
}

function buildNav() {
  const list = document.getElementById("nav-list");
  const content = document.getElementById("content");
  for (const tab of TABS) {
    const button = h("button", { type: "button", class: "nav-btn", id: "nav-" + tab.id, dataset: { tab: tab.id },
      onclick: () => app.go(tab.id) }, navIcon(tab.id), h("span", { class: "nav-label", text: tab.title }));
    list.append(h("li", null, button));
    content.append(h("section", { id: "tab-" + tab.id, class: "tab", hidden: true, "aria-labelledby": "heading-" + tab.id }));
  }
}

function activate(id) {
  const tab = TABS.find((t) => t.id === id) || downstreams;
  // The tab on screen is not reloaded by a second click: a reload would redraw it under the
  // user's fingers and drop what they are typing.
  if (tab === app.active && !document.getElementById("tab-" + tab.id).hidden) return;
  if (app.active && app.active !== tab && app.active.hide) app.active.hide();
  for (const other of TABS) {
    document.getElementById("tab-" + other.id).hidden = other !== tab;
    const button = document.getElementById("nav-" + other.id);
    if (other === tab) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  const section = document.getElementById("tab-" + tab.id);
  if (!app.mounted.has(tab.id)) {
    tab.mount(section, app);
    app.mounted.add(tab.id);
  }
  app.active = tab;
  document.title = tab.title + " · Tresor";
  tab.show();
}

function routeFromHash() {
  const id = location.hash.replace(/^#\/?/, "");
  return TABS.some((t) => t.id === id) ? id : null;
}

async function enterApp() {
  document.getElementById("login").hidden = true;
  document.getElementById("boot").hidden = true;
  document.getElementById("shell").hidden = false;
  document.getElementById("sign-out").hidden = !app.authEnabled;
  try {
    await app.loadConfig();
  } catch (err) {
    toast("Could not load settings: " + err.message, "error");
  }
  const start = routeFromHash() || (app.config && app.config.default_tab) || "downstreams";
  activate(start);
}

function showLogin(message) {
  if (app.active && app.active.hide) app.active.hide();
  app.active = null;
  document.getElementById("shell").hidden = true;
  document.getElementById("boot").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  const input = document.getElementById("login-password");
  input.value = "";
  input.focus();
}

async function signOut(message) {
  try {
    await api.post("/api/auth/logout");
  } catch (err) {
    toast("Sign-out failed: " + err.message, "error");
  }
  showLogin(message || "You are signed out.");
}

async function login(event) {
  event.preventDefault();
  const input = document.getElementById("login-password");
  const error = document.getElementById("login-error");
  const button = event.target.querySelector("button[type=submit]");
  error.textContent = "";
  if (!input.value) {
    error.textContent = "Enter the admin password.";
    input.focus();
    return;
  }
  button.disabled = true;
  try {
    await api.post("/api/auth/login", { password: input.value });
    input.value = "";
    await enterApp();
  } catch (err) {
    error.textContent = err.status === 401 ? "Wrong password." : err.message;
    input.select();
  } finally {
    button.disabled = false;
  }
}

async function boot() {
  applyTheme();
  darkQuery.addEventListener("change", applyTheme);
  buildNav();
  const signOutButton = document.getElementById("sign-out");
  signOutButton.append(navIcon("signout"), h("span", { class: "nav-label", text: "Sign out" }));
  signOutButton.addEventListener("click", () => signOut());
  document.getElementById("theme-toggle").addEventListener("click", toggleTheme);
  document.getElementById("login-form").addEventListener("submit", login);
  api.onUnauthorized(() => {
    if (!document.getElementById("login").hidden) return;
    showLogin("Your session has ended. Sign in again.");
  });
  window.addEventListener("hashchange", () => {
    const id = routeFromHash();
    if (id && !document.getElementById("shell").hidden) activate(id);
  });
  document.addEventListener("visibilitychange", () => {
    if (app.active && app.active.visibility) app.active.visibility(document.visibilityState === "visible");
  });
  let status;
  try {
    status = await api.get("/api/auth/status");
  } catch (err) {
    fill(document.getElementById("boot"), "Cannot reach Tresor: " + err.message);
    return;
  }
  app.authEnabled = !!status.auth_enabled;
  if (app.authEnabled && !status.authenticated) showLogin();
  else await enterApp();
}

boot();

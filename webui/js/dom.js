// DOM building blocks shared by every tab: an element builder, toasts, modal dialogs and the
// screen-reader announcer. Everything is built with createElement/textContent: the web UI never
// parses HTML strings, so text from providers or config can never become markup (CSP forbids
// inline script and style anyway).

const SVG_NS = "http://www.w3.org/2000/svg";

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "style") throw new Error("inline style attributes are refused by the CSP; use a class");
    else if (key in el && !key.includes("-") && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** h("button", {class: "btn", onclick: f}, "Save") -> HTMLElement. Strings become text nodes. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

/** The SVG twin of h(): attributes are always set with setAttribute. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") el.textContent = String(value);
    else if (key === "class") el.setAttribute("class", value);
    else if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Replace all children of `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A unique element id, for label/for and aria-describedby pairs. */
export function newId(prefix) {
  uid += 1;
  return (prefix || "f") + "-" + uid;
}

/** A labelled form row: <div class="field"><label for=…>label</label>control<p hint></div>. */
export function field(label, control, hint) {
  if (!control.id) control.id = newId("field");
  const row = h("div", { class: "field" }, h("label", { for: control.id, text: label }), control);
  if (hint) {
    const hintEl = h("p", { class: "hint", id: newId("hint"), text: hint });
    control.setAttribute("aria-describedby", hintEl.id);
    row.append(hintEl);
  }
  return row;
}

/** A checkbox with its label as one clickable row. */
export function checkbox(label, checked, props) {
  const input = h("input", Object.assign({ type: "checkbox", checked: !!checked }, props || {}));
  return { input, row: h("label", { class: "check" }, input, h("span", { text: label })) };
}

/** Say `message` to screen readers (polite by default). */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  // A fresh text node after a tick makes screen readers repeat identical messages.
  setTimeout(() => { region.textContent = message; }, 30);
}

/** Show a toast: kind "ok" | "error" | "info". Errors stay longer and use role=alert. */
export function toast(message, kind) {
  const region = document.getElementById("toasts");
  const type = kind || "ok";
  const close = h("button", { class: "toast-close", type: "button", "aria-label": "Dismiss", text: "×" });
  const item = h("div", { class: "toast toast-" + type, role: type === "error" ? "alert" : "status" },
    h("span", { class: "toast-text", text: message }), close);
  const remove = () => item.remove();
  close.addEventListener("click", remove);
  region.append(item);
  setTimeout(remove, type === "error" ? 9000 : 3500);
  return item;
}

export const FAILED = Symbol("failed");

/**
 * Run an async action; toast `okMessage` (string or function of the result) on success and the
 * server's error message on failure. Returns the result, or FAILED.
 */
export async function act(action, okMessage) {
  try {
    const result = await action();
    const text = typeof okMessage === "function" ? okMessage(result) : okMessage;
    if (text) toast(text, "ok");
    return result;
  } catch (err) {
    toast(err && err.message ? err.message : String(err), "error");
    return FAILED;
  }
}

const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), " +
  "textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

function visibleFocusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
}

function trapTab(dialog, event) {
  if (event.key !== "Tab") return;
  const items = visibleFocusables(dialog);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

/** Cancel and submit buttons for a modal form; a thrown error is shown in the dialog, which stays open. */
function wireSubmit(form, actions, opts, close, setError) {
  const submit = h("button", { type: "submit", class: "btn primary", text: opts.submitLabel || "Save" });
  actions.append(h("button", { type: "button", class: "btn", text: opts.cancelLabel || "Cancel", onclick: close }), submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setError("");
    submit.disabled = true;
    try {
      const keepOpen = await opts.onSubmit({ close, setError });
      if (keepOpen !== true) close();
    } catch (err) {
      setError(err && err.message ? err.message : String(err));
    } finally {
      submit.disabled = false;
    }
  });
}

/**
 * Open a modal <dialog>: focus is trapped inside, Escape / × / a click on the backdrop close it,
 * and focus returns to where it was. With `onSubmit`, the content is a form whose submit runs
 * the async handler; a thrown error is shown inside the dialog and the dialog stays open.
 * Returns {dialog, close, setError}.
 */
export function openModal(opts) {
  const returnTo = document.activeElement;
  const titleId = newId("modal-title");
  const error = h("p", { class: "form-error", role: "alert" });
  const closeBtn = h("button", { type: "button", class: "icon-btn modal-x", "aria-label": "Close", text: "×" });
  const actions = h("div", { class: "modal-actions" });
  const body = h("div", { class: "modal-body" }, opts.content);
  const inner = opts.onSubmit ? h("form", { class: "modal-inner", novalidate: true }) : h("div", { class: "modal-inner" });
  inner.append(h("header", { class: "modal-head" }, h("h2", { id: titleId, text: opts.title }), closeBtn), body, error, actions);
  const dialog = h("dialog", { class: ["modal", opts.wide ? "modal-wide" : ""], "aria-labelledby": titleId }, inner);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    if (opts.onClose) opts.onClose();
    if (returnTo && typeof returnTo.focus === "function" && document.contains(returnTo)) returnTo.focus();
  };
  const setError = (message) => { error.textContent = message || ""; };
  closeBtn.addEventListener("click", close);
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(); }); // Escape
  dialog.addEventListener("keydown", (event) => trapTab(dialog, event));
  dialog.addEventListener("click", (event) => { if (event.target === dialog) close(); }); // backdrop
  if (opts.onSubmit) wireSubmit(inner, actions, opts, close, setError);
  else {
    for (const extra of opts.actions || []) actions.append(extra);
    actions.append(h("button", { type: "button", class: "btn", text: "Close", onclick: close }));
  }
  document.body.append(dialog);
  dialog.showModal();
  const first = body.querySelector("[autofocus]") || visibleFocusables(body)[0] || closeBtn;
  first.focus();
  return { dialog, close, setError };
}

/** Ask a yes/no question; resolves true when confirmed. */
export function confirmDialog(title, message, confirmLabel) {
  return new Promise((resolve) => {
    let answered = false;
    const modal = openModal({
      title,
      content: h("p", { text: message }),
      submitLabel: confirmLabel || "Delete",
      onSubmit: () => { answered = true; },
      onClose: () => resolve(answered),
    });
    const submit = modal.dialog.querySelector("button[type=submit]");
    submit.classList.add("danger");
    submit.focus();
  });
}

/** A small "empty state" paragraph. */
export function empty(text) {
  return h("p", { class: "empty", text });
}

// The sandbox console: every form with data-api is sent as JSON to the control API, with the
// page's CSRF token; the secret cookie goes with it (same origin). No inline script anywhere.
"use strict";

function readFile(file) {
  return new Promise(function (resolve, reject) {
    const reader = new FileReader();
    reader.onload = function () {
      const url = String(reader.result);
      resolve({
        filename: file.name,
        content_type: file.type || "application/octet-stream",
        base64: url.slice(url.indexOf(",") + 1),
      });
    };
    reader.onerror = function () { reject(reader.error); };
    reader.readAsDataURL(file);
  });
}

function put(body, name, value) {
  // "values.code" → body.values.code
  const parts = name.split(".");
  let here = body;
  for (let i = 0; i < parts.length - 1; i++) {
    here[parts[i]] = here[parts[i]] || {};
    here = here[parts[i]];
  }
  here[parts[parts.length - 1]] = value;
}

async function formBody(form) {
  const body = {};
  for (const el of Array.from(form.elements)) {
    if (!el.name || el.name === "csrf" || el.disabled) continue;
    if (el.type === "file") {
      if (el.files.length) put(body, el.name, await readFile(el.files[0]));
    } else if (el.type === "checkbox") {
      if (el.dataset.bool) put(body, el.name, el.checked);
    } else if (el.value !== "") {
      put(body, el.name, el.dataset.type === "number" ? Number(el.value) : el.value);
    }
  }
  return body;
}

async function send(url, method, csrf, body) {
  const response = await fetch(url, {
    method: method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = { message: text }; }
  }
  return { ok: response.ok, status: response.status, data: data };
}

function showError(form, data) {
  const box = form.querySelector(".error");
  let message = data.message || data.error || "The sandbox refused this (" + JSON.stringify(data) + ")";
  box.textContent = message;
  box.hidden = false;
  if (data.field) {
    const input = form.querySelector('[name="values.' + data.field + '"], [name="' + data.field + '"]');
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }
}

function paint(root) {
  // Embed colours come as data attributes: a style attribute would need 'unsafe-inline'.
  for (const el of root.querySelectorAll("[data-color]")) {
    if (el.dataset.color) el.style.borderLeftColor = el.dataset.color;
  }
}

const POLL_MS = 1000;
const POLL_FOR_MS = 15 * 60 * 1000; // an interaction's token lives 15 minutes

function follow(target, interactionId) {
  const started = Date.now();
  let last = "";
  target.dataset.interaction = interactionId;
  target.innerHTML = "";
  async function tick() {
    if (target.dataset.interaction !== interactionId) return; // a newer command replaced it
    const response = await fetch("/_sandbox/interactions/" + interactionId, { credentials: "same-origin" });
    if (response.ok) {
      const html = await response.text();
      if (html !== last) {
        last = html;
        target.innerHTML = html;
        paint(target);
      }
    }
    if (Date.now() - started < POLL_FOR_MS) setTimeout(tick, POLL_MS);
  }
  tick();
}

async function submit(event) {
  const form = event.target;
  if (!form.dataset || !form.dataset.api) return;
  event.preventDefault();
  const box = form.querySelector(".error");
  if (box) box.hidden = true;
  for (const bad of form.querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
  const button = form.querySelector('button[type="submit"]');
  if (button) button.disabled = true;
  try {
    const csrf = form.elements.csrf.value;
    const method = form.dataset.method || "POST";
    const body = method === "DELETE" ? undefined : await formBody(form);
    const url = form.dataset.api;
    const result = await send(url, method, csrf, body);
    if (!result.ok) { showError(form, result.data); return; }
    if (form.dataset.choose) {
      const chosen = await send("/_sandbox/console/me", "POST", csrf, { user_id: result.data.id });
      if (!chosen.ok) { showError(form, chosen.data); return; }
    }
    if (form.dataset.reply) {
      follow(document.getElementById(form.dataset.reply), result.data.id);
    } else if (form.dataset.next) {
      window.location.assign(form.dataset.next.replace("{id}", result.data.id || ""));
    } else {
      window.location.reload();
    }
  } catch (error) {
    showError(form, { message: String(error) });
  } finally {
    if (button) button.disabled = false;
  }
}

document.addEventListener("submit", submit);
document.addEventListener("DOMContentLoaded", function () { paint(document); });

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
  // "values.code" → body.values.code (only the first dot: a modal's custom_id may hold dots)
  const dot = name.indexOf(".");
  if (dot < 0) { body[name] = value; return; }
  const head = name.slice(0, dot);
  body[head] = body[head] || {};
  body[head][name.slice(dot + 1)] = value;
}

async function formBody(form, skipFiles) {
  const body = {};
  for (const el of Array.from(form.elements)) {
    if (!el.name || el.name === "csrf" || el.disabled) continue;
    if (el.type === "file") {
      if (skipFiles) continue;
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

// Discord's timestamp styles, as its client shows them in the reader's own zone and language.
const TIME_STYLES = {
  t: { hour: "2-digit", minute: "2-digit" },
  T: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
  d: { year: "numeric", month: "2-digit", day: "2-digit" },
  D: { year: "numeric", month: "long", day: "numeric" },
  f: { year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit" },
  F: { weekday: "long", year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit" },
};

function relative(at) {
  const seconds = Math.round((at - Date.now()) / 1000);
  const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(seconds, "second");
}

function paint(root) {
  // Embed colours come as data attributes: a style attribute would need 'unsafe-inline'.
  for (const el of root.querySelectorAll("[data-color]")) {
    if (el.dataset.color) el.style.borderLeftColor = el.dataset.color;
  }
  // Timestamps (<t:unix:style>) come in UTC; show them in the reader's zone, as Discord does.
  for (const el of root.querySelectorAll("time[data-style]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (isNaN(at) || el.dataset.local) continue;
    el.dataset.local = "1";
    el.title = el.textContent;
    const style = el.dataset.style;
    el.textContent = style === "R" ? relative(at) : at.toLocaleString(undefined, TIME_STYLES[style]);
  }
}

const POLL_MS = 1000;
const POLL_FOR_MS = 15 * 60 * 1000; // an interaction's token lives 15 minutes

// Shows what the bot answers to one interaction in `target` (a new command replaces what was
// there; a click or a modal adds below), polled so edits arrive.
function follow(target, interactionId, append) {
  const started = Date.now();
  let last = "";
  if (!append) target.innerHTML = "";
  const part = document.createElement("div");
  part.className = "part";
  target.appendChild(part);
  async function tick() {
    if (!document.contains(part)) return; // replaced by a newer command
    const response = await fetch("/_sandbox/interactions/" + interactionId, { credentials: "same-origin" });
    if (response.ok) {
      const html = await response.text();
      // Never redraw under a person typing into a modal.
      const typing = part.contains(document.activeElement) && document.activeElement.form;
      if (html !== last && !typing) {
        last = html;
        part.innerHTML = html;
        paint(part);
      }
    }
    if (Date.now() - started < POLL_FOR_MS) setTimeout(tick, POLL_MS);
  }
  tick();
}

function liveRegionOf(element) {
  return element.closest(".live") || document.getElementById("channel-live");
}

async function click(event) {
  const button = event.target.closest("button[data-custom-id]");
  if (!button) return;
  const me = document.body.dataset.me;
  const result = await send(
    "/_sandbox/discord/messages/" + button.dataset.messageId + "/click",
    "POST",
    document.body.dataset.csrf,
    { custom_id: button.dataset.customId, user_id: me }
  );
  const region = liveRegionOf(button);
  if (!result.ok) {
    const note = document.createElement("p");
    note.className = "error";
    note.setAttribute("role", "alert");
    note.textContent = result.data.error || result.data.message || "The click was refused";
    region.appendChild(note);
    return;
  }
  follow(region, result.data.id, true);
}

// Autocomplete: the bot is asked for choices as the person types (debounced), as the client does.
const AUTOCOMPLETE_MS = 300;
let typingTimer = null;
let asked = 0; // answers to older keystrokes that arrive late are dropped

function autocomplete(event) {
  const input = event.target;
  if (!input.dataset || !input.dataset.autocomplete) return;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(async function () {
    const form = input.form;
    const body = await formBody(form, true);
    body.focused = input.dataset.autocomplete;
    body.values = body.values || {};
    body.values[input.dataset.autocomplete] = input.value;
    const mine = ++asked;
    const result = await send("/_sandbox/console/autocomplete", "POST", form.elements.csrf.value, body);
    const list = document.getElementById(input.getAttribute("list"));
    if (!result.ok || !list || mine !== asked) return;
    list.innerHTML = "";
    for (const choice of result.data.choices || []) {
      const option = document.createElement("option");
      option.value = String(choice.value);
      option.label = choice.name;
      option.textContent = choice.name;
      list.appendChild(option);
    }
  }, AUTOCOMPLETE_MS);
}

// An install link (discord.com or the sandbox's) opens the sandbox's own authorize page, with
// this server chosen, as Discord's would on the real site.
function openInstall(form) {
  const box = form.querySelector(".error");
  let link;
  try {
    link = new URL(form.elements.link.value.trim());
  } catch (error) {
    box.textContent = "link: paste the whole install link, starting with https://";
    box.hidden = false;
    return;
  }
  if (link.pathname.replace(/\/$/, "") !== "/oauth2/authorize" && link.pathname !== "/api/oauth2/authorize") {
    box.textContent = "link: an install link goes to /oauth2/authorize";
    box.hidden = false;
    return;
  }
  const params = link.searchParams;
  params.set("guild_id", form.dataset.install);
  window.location.assign(window.location.origin + "/oauth2/authorize?" + params.toString());
}

async function submit(event) {
  const form = event.target;
  if (form.dataset && form.dataset.install) {
    event.preventDefault();
    openInstall(form);
    return;
  }
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
      follow(document.getElementById(form.dataset.reply), result.data.id, false);
    } else if (form.dataset.follow) {
      follow(liveRegionOf(form), result.data.id, true);
      form.closest(".modal").remove();
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
document.addEventListener("click", click);
document.addEventListener("input", autocomplete);
document.addEventListener("DOMContentLoaded", function () { paint(document); });

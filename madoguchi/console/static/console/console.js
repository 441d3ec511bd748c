// The console's few behaviours. No inline script anywhere: the CSP forbids it.
"use strict";

// Selects and checkboxes marked data-autosubmit submit their form on change.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
});

// Canned replies: a button with data-insert puts its text into the reply box.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-insert]");
  if (!button) return;
  const target = document.getElementById(button.dataset.target);
  if (!target) return;
  target.value = target.value ? `${target.value}\n${button.dataset.insert}` : button.dataset.insert;
  target.focus();
});

// New messages appear without reloading: a conversation polls for messages after the last shown,
// a list refreshes its rows. Polling stops while the tab is hidden.
const POLL_MS = 3000;

function every(ms, work) {
  let busy = false;
  setInterval(async () => {
    if (busy || document.hidden) return;
    busy = true;
    try { await work(); } catch (error) { /* the next round tries again */ } finally { busy = false; }
  }, ms);
}

const chat = document.querySelector("ol.chat[data-poll]");
if (chat) {
  chat.scrollTop = chat.scrollHeight;
  every(POLL_MS, async () => {
    const pending = [...chat.querySelectorAll("[data-pending]")].map((el) => el.closest("[data-id]").dataset.id);
    const response = await fetch(`${chat.dataset.poll}?after=${chat.dataset.last}&pending=${pending.join(",")}`, {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) return;
    const data = await response.json();
    if (String(data.last) !== chat.dataset.last) {
      chat.insertAdjacentHTML("beforeend", data.html);
      chat.dataset.last = String(data.last);
      chat.scrollTop = chat.scrollHeight;
    }
    for (const [id, label] of Object.entries(data.delivered || {})) {
      const marker = chat.querySelector(`[data-id="${id}"] [data-pending]`);
      if (marker) { marker.textContent = ` · ${label}`; marker.removeAttribute("data-pending"); }
    }
    const status = document.querySelector("[data-status]");
    if (status && data.status) status.textContent = data.status;
  });
}

const rows = document.querySelector("tbody[data-refresh]");
if (rows) {
  every(POLL_MS * 2, async () => {
    const response = await fetch(rows.dataset.refresh, { credentials: "same-origin" });
    if (response.ok) rows.innerHTML = await response.text();
  });
}

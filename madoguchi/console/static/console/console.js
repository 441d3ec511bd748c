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

// Deliveries: the composer's language tabs, the message slots, placeholders, the segment
// builder's live count, and a sending run's progress.

function showOnly(container, attribute, value) {
  for (const part of container.querySelectorAll(`[${attribute}]`)) {
    const wanted = part.getAttribute(attribute).split(" ");
    part.hidden = !wanted.includes(value);
  }
}

function selectTab(button) {
  const list = button.closest("[role=tablist]");
  for (const tab of list.querySelectorAll("[role=tab]")) {
    const on = tab === button;
    tab.setAttribute("aria-selected", String(on));
    const panel = document.getElementById(tab.getAttribute("aria-controls"));
    if (panel) panel.hidden = !on;
  }
}

for (const list of document.querySelectorAll(".content-editor [role=tablist]")) {
  const first = list.querySelector("[role=tab]");
  if (first) selectTab(first);
}
document.addEventListener("click", (event) => {
  const tab = event.target.closest("[role=tab][data-tab]");
  if (tab) selectTab(tab);
});

function showSlot(slot) {
  const kind = slot.querySelector("[data-slot-kind]").value;
  for (const part of slot.querySelectorAll("[data-kind]")) part.hidden = part.dataset.kind !== kind;
}
for (const slot of document.querySelectorAll("[data-slot]")) showSlot(slot);

function showRow(row) {
  showOnly(row, "data-values-for", row.querySelector("[data-row-field]").value || "-");
}
for (const row of document.querySelectorAll("[data-row]")) showRow(row);

// The segment rows: the page holds every row the form takes; 条件を追加 shows the next one.
const addRow = document.querySelector("[data-add-row]");
if (addRow) {
  const refresh = () => { addRow.hidden = !document.querySelector("[data-row][hidden]"); };
  addRow.addEventListener("click", () => {
    const next = document.querySelector("[data-row][hidden]");
    if (next) {
      next.hidden = false;
      next.querySelector("[data-row-field]").focus();
    }
    refresh();
  });
  refresh();
}

function showMode(form) {
  const mode = form.querySelector("[data-mode]:checked");
  for (const panel of form.querySelectorAll("[data-mode-panel]")) {
    panel.hidden = mode !== null && panel.dataset.modePanel !== mode.value;
  }
}

document.addEventListener("change", (event) => {
  const slot = event.target.closest("[data-slot]");
  if (slot && event.target.matches("[data-slot-kind]")) showSlot(slot);
  const row = event.target.closest("[data-row]");
  if (row && event.target.matches("[data-row-field]")) showRow(row);
  if (event.target.matches("[data-mode]")) showMode(event.target.form);
});

// {name} and {district} go where the cursor is.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-placeholder]");
  if (!button) return;
  const target = document.getElementById(button.dataset.target);
  if (!target) return;
  const start = target.selectionStart ?? target.value.length;
  const end = target.selectionEnd ?? start;
  target.value = target.value.slice(0, start) + button.dataset.placeholder + target.value.slice(end);
  target.focus();
  target.selectionStart = target.selectionEnd = start + button.dataset.placeholder.length;
});

function fillList(list, items) {
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement("li");
      li.textContent = typeof item === "string" ? item : `${item.label}: ${item.count.toLocaleString()}`;
      return li;
    }),
  );
}

const segmentForm = document.querySelector("form[data-segment-form]");
if (segmentForm) {
  showMode(segmentForm);
  const aside = document.querySelector(".reach");
  const error = aside.querySelector("[data-count-error]");
  let timer = null;
  let asked = 0;
  const count = async () => {
    const mine = ++asked;
    const response = await fetch(segmentForm.dataset.countUrl, {
      method: "POST", body: new FormData(segmentForm), credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const data = await response.json();
    if (mine !== asked) return; // an answer to an older question
    error.hidden = !data.error;
    error.textContent = data.error || "";
    if (data.error) return;
    aside.querySelector("[data-count]").textContent = data.count.toLocaleString();
    aside.querySelector("[data-count-reads]").textContent = data.description;
    fillList(aside.querySelector("[data-count-districts]"), data.districts);
    fillList(aside.querySelector("[data-count-languages]"), data.languages);
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(() => count().catch(() => {}), 400); };
  segmentForm.addEventListener("change", later);
  segmentForm.addEventListener("input", later);
  count().catch(() => {});
  const sample = aside.querySelector("[data-sample]");
  if (sample) {
    sample.addEventListener("click", async () => {
      const response = await fetch(segmentForm.dataset.sampleUrl, {
        method: "POST", body: new FormData(segmentForm), credentials: "same-origin",
      });
      const data = await response.json();
      fillList(aside.querySelector("[data-sample-names]"), data.names || [data.error || ""]);
    });
  }
}

const progress = document.querySelector("[data-progress][data-running]");
if (progress) {
  every(POLL_MS / 2, async () => {
    const response = await fetch(progress.dataset.progress, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    progress.querySelector("[data-progress-bar]").value = data.percent;
    progress.querySelector("[data-progress-sent]").textContent = data.sent;
    progress.querySelector("[data-progress-recipients]").textContent = data.recipients;
    progress.querySelector("[data-progress-status]").textContent = data.run_status;
    if (data.finished) location.reload(); // the figures and the state, as the server shows them
  });
}

// Scenario editor: the server draws the fields each kind of step, answer or target has. A menu
// marked data-refresh posts the form as it is (saving nothing) and comes back at the same step;
// without JavaScript, 確認する does the same.
const scenarioForm = document.querySelector("form[data-scenario-form]");
if (scenarioForm) {
  scenarioForm.addEventListener("change", (event) => {
    const field = event.target.closest("[data-refresh]");
    if (!field) return;
    const card = field.closest(".step-card");
    scenarioForm.action = `${location.pathname}${location.search}${card ? `#${card.id}` : ""}`;
    scenarioForm.submit(); // no op: the form comes back with the change, nothing saved
  });
  const anchor = scenarioForm.dataset.anchor && document.getElementById(scenarioForm.dataset.anchor);
  if (anchor && !location.hash) anchor.scrollIntoView();
}

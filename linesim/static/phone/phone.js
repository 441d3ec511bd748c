// linesim's phone page: a resident's LINE chat, driven through linesim's control API.
// Message text is always set with textContent: what a bot sends must never become HTML here.
"use strict";

const params = new URLSearchParams(location.search);
const channel = params.get("channel");
const $ = (id) => document.getElementById(id);

function randomUserId() {
  const hex = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  return "U" + hex;
}

let userId = params.get("user") || localStorage.getItem("linesim-user") || randomUserId();
localStorage.setItem("linesim-user", userId);
$("user-id").value = userId;
let seen = 0;
let latestQuickReply = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function setStatus(text) { $("status").textContent = text || ""; }

async function control(method, path, body) {
  try {
    const response = await fetch(path, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) setStatus(`linesim: ${response.status} ${data.message || ""}`);
    return { response, data };
  } catch (error) {
    setStatus("linesim に接続できません");
    return { response: null, data: {} };
  }
}

async function sendEvent(event) {
  if (channel) event.channel = channel;
  const { data } = await control("POST", `/_sim/users/${encodeURIComponent(userId)}/send`, event);
  if (data.status !== undefined) setStatus(data.status === 200 ? "" : `ボットの応答: ${data.status}`);
  poll();
}

function showUser(text) {
  const bubble = el("div", "msg user", text);
  bubble.dataset.testid = "user-message";
  $("chat").append(bubble);
  bubble.scrollIntoView({ block: "end" });
}

function sendText(text) {
  if (!text) return;
  showUser(text);
  clearQuickReplies();
  sendEvent({ type: "message", message: { type: "text", text } });
}

// What a tap on any action does (quick reply, button, Flex button, rich menu area).
function perform(action) {
  clearQuickReplies();
  switch (action.type) {
    case "message":
      sendText(action.text);
      break;
    case "postback":
      if (action.displayText || action.text) showUser(action.displayText || action.text);
      sendEvent({ type: "postback", postback: { data: action.data } });
      break;
    case "uri":
      window.open(action.uri, "_blank", "noopener");
      break;
    case "datetimepicker":
      openPicker(action);
      break;
    case "location":
      $("location-form").hidden = false;
      break;
    case "camera":
    case "cameraRoll":
      $("photo").click();
      break;
    case "richmenuswitch":
      sendEvent({ type: "postback", postback: { data: action.data, params: { newRichMenuAliasId: action.richMenuAliasId, status: "SUCCESS" } } });
      loadRichMenu();
      break;
    case "clipboard":
      navigator.clipboard?.writeText(action.clipboardText || "");
      break;
    default:
      setStatus(`未対応のアクション: ${action.type}`);
  }
}

function actionButton(action, className) {
  const button = el("button", className || "", action.label || action.displayText || action.text || action.type);
  button.type = "button";
  button.addEventListener("click", () => perform(action));
  return button;
}

function openPicker(action) {
  const input = $("picker-input");
  input.type = action.mode === "time" ? "time" : action.mode === "datetime" ? "datetime-local" : "date";
  input.value = action.initial || "";
  if (action.min) input.min = action.min;
  if (action.max) input.max = action.max;
  $("picker-form").hidden = false;
  $("picker-form").onsubmit = (event) => {
    event.preventDefault();
    $("picker-form").hidden = true;
    const key = action.mode === "time" ? "time" : action.mode === "datetime" ? "datetime" : "date";
    showUser(input.value);
    sendEvent({ type: "postback", postback: { data: action.data, params: { [key]: input.value } } });
  };
}

// Rendering of each message type the bot can send.

function renderTemplate(template) {
  if (template.type === "carousel") {
    const row = el("div", "carousel");
    for (const column of template.columns || []) row.append(renderTemplate({ ...column, type: "buttons" }));
    return row;
  }
  const card = el("div", "card");
  if (template.thumbnailImageUrl) {
    const img = el("img");
    img.src = template.thumbnailImageUrl;
    img.alt = "";
    card.append(img);
  }
  if (template.title) card.append(el("div", "title", template.title));
  card.append(el("div", "text", template.text));
  const actions = el("div", "actions");
  for (const action of template.actions || []) actions.append(actionButton(action));
  card.append(actions);
  return card;
}

function renderFlexComponent(component) {
  switch (component.type) {
    case "box": {
      const box = el("div", `flex-box ${component.layout || "vertical"}`);
      for (const child of component.contents || []) box.append(renderFlexComponent(child));
      return box;
    }
    case "text": {
      const text = el("div", `flex-text ${component.weight === "bold" ? "bold" : ""}`, component.text);
      if (component.color) text.style.color = component.color;
      if (component.contents) text.textContent = component.contents.map((span) => span.text).join("");
      return text;
    }
    case "button":
      return actionButton(component.action, `flex-button ${component.style || "link"}`);
    case "image": {
      const img = el("img");
      img.src = component.url;
      img.alt = "";
      return img;
    }
    case "separator":
      return el("div", "flex-separator");
    case "filler":
    case "spacer":
      return el("div");
    case "icon": {
      const icon = el("img");
      icon.src = component.url;
      icon.alt = "";
      icon.style.height = "1em";
      return icon;
    }
    default:
      return el("div", "", "");
  }
}

function renderFlexBubble(bubble) {
  const card = el("div", "card");
  for (const part of ["header", "hero", "body", "footer"]) {
    if (!bubble[part]) continue;
    const section = el("div", "flex-section");
    section.append(renderFlexComponent(bubble[part]));
    card.append(section);
  }
  return card;
}

function renderMessage(message) {
  let node;
  switch (message.type) {
    case "text":
      node = el("div", "msg bot", message.text);
      break;
    case "sticker":
      node = el("div", "msg bot", `[スタンプ ${message.packageId}/${message.stickerId}]`);
      break;
    case "image": {
      node = el("div", "msg bot");
      const img = el("img");
      img.src = message.previewImageUrl || message.originalContentUrl;
      img.alt = "画像";
      node.append(img);
      break;
    }
    case "location":
      node = el("div", "msg bot", `📍 ${message.title || ""}\n${message.address || ""}`);
      break;
    case "template":
      node = el("div", "bot-card");
      node.append(renderTemplate(message.template));
      break;
    case "flex": {
      node = el("div", "bot-card");
      const contents = message.contents || {};
      if (contents.type === "carousel") {
        const row = el("div", "carousel");
        for (const bubble of contents.contents || []) row.append(renderFlexBubble(bubble));
        node.append(row);
      } else {
        node.append(renderFlexBubble(contents));
      }
      break;
    }
    default:
      node = el("div", "msg bot", message.altText || `[${message.type}]`);
  }
  if (message.altText) node.setAttribute("aria-label", message.altText);
  node.dataset.testid = "bot-message";
  return node;
}

function clearQuickReplies() {
  $("quick-replies").replaceChildren();
}

function showQuickReplies(quickReply) {
  clearQuickReplies();
  for (const item of (quickReply && quickReply.items) || []) {
    const chip = actionButton(item.action);
    chip.dataset.testid = "quick-reply";
    $("quick-replies").append(chip);
  }
}

async function poll() {
  const { response, data } = await control("GET", `/_sim/users/${encodeURIComponent(userId)}/messages`);
  if (!response || !response.ok || !Array.isArray(data)) return;
  if (data.length < seen) {
    seen = 0; // linesim was reset
    $("chat").replaceChildren();
  }
  const fresh = data.slice(seen);
  seen = data.length;
  for (const message of fresh) {
    const node = renderMessage(message);
    $("chat").append(node);
    node.scrollIntoView({ block: "end" });
  }
  if (fresh.length) showQuickReplies(fresh[fresh.length - 1].quickReply);
}

async function loadRichMenu() {
  const { response, data } = await control("GET", `/_sim/users/${encodeURIComponent(userId)}/richmenu`).catch(() => ({}));
  const section = $("richmenu");
  if (!response || !response.ok) {
    section.hidden = true;
    setStatus(""); // no menu is normal
    return;
  }
  section.hidden = false;
  $("richmenu-toggle").textContent = data.chatBarText || "メニュー";
  const img = $("richmenu-image");
  img.src = data.imageUrl;
  const areas = $("richmenu-areas");
  areas.replaceChildren();
  const width = data.size.width, height = data.size.height;
  for (const area of data.areas || []) {
    const button = el("button", "area");
    button.type = "button";
    const bounds = area.bounds;
    Object.assign(button.style, {
      left: `${(bounds.x / width) * 100}%`, top: `${(bounds.y / height) * 100}%`,
      width: `${(bounds.width / width) * 100}%`, height: `${(bounds.height / height) * 100}%`,
    });
    button.setAttribute("aria-label", area.action.label || area.action.text || area.action.data || area.action.type);
    button.addEventListener("click", () => perform(area.action));
    areas.append(button);
  }
}

$("composer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("composer").value;
  $("composer").value = "";
  sendText(text);
});
$("follow").addEventListener("click", async () => { await sendEvent({ type: "follow" }); loadRichMenu(); });
$("unfollow").addEventListener("click", () => sendEvent({ type: "unfollow" }));
$("user-id").addEventListener("change", () => {
  userId = $("user-id").value.trim() || randomUserId();
  localStorage.setItem("linesim-user", userId);
  seen = 0;
  $("chat").replaceChildren();
  poll();
  loadRichMenu();
});
$("display-name").addEventListener("change", () =>
  control("PUT", `/_sim/users/${encodeURIComponent(userId)}`, { displayName: $("display-name").value }));
$("attach-location").addEventListener("click", () => { $("location-form").hidden = false; });
$("location-cancel").addEventListener("click", () => { $("location-form").hidden = true; });
$("picker-cancel").addEventListener("click", () => { $("picker-form").hidden = true; });
$("location-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("location-form").hidden = true;
  const message = { type: "location", title: "現在地", address: $("address").value,
                    latitude: Number($("lat").value), longitude: Number($("lng").value) };
  showUser(`📍 ${message.address}`);
  sendEvent({ type: "message", message });
});
$("photo").addEventListener("change", () => {
  const file = $("photo").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    const content = String(reader.result).split(",", 2)[1];
    showUser("📷 写真");
    sendEvent({ type: "message", message: { type: "image" }, content });
  };
  reader.readAsDataURL(file);
  $("photo").value = "";
});
$("richmenu-toggle").addEventListener("click", () => {
  const body = $("richmenu-body");
  body.hidden = !body.hidden;
  $("richmenu-toggle").setAttribute("aria-expanded", String(!body.hidden));
});

poll();
loadRichMenu();
setInterval(poll, 700);
setInterval(loadRichMenu, 5000);

// linesim's phone page: play a resident in a LINE-like chat, driven through linesim's control API
// (docs/linesim.md). Everything a bot sends is set with textContent or validated URLs, never as
// HTML: a hostile or buggy bot must not be able to run code in this page.
"use strict";

/* ------------------------------------------------------------------ state and small helpers */

const params = new URLSearchParams(location.search);
const channel = params.get("channel"); // optional: talk to a channel other than the default
const $ = (id) => document.getElementById(id);
const POLL_MS = 700;
const RICHMENU_MS = 5000;

let userId = "";
let seen = 0; // how many of the user's received messages are already rendered
let generation = 0; // bumped on user change so stale poll answers are dropped
let polling = false;
let lastSide = null; // "bot" | "user": consecutive bubbles of one side share an avatar
let richMenuKey = null; // the menu currently drawn, to redraw only when it changes
let stickToBottom = true; // follow new messages unless the resident scrolled up to read

function randomUserId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "U" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function validUserId(value) {
  return /^[A-Za-z0-9]{1,64}$/.test(value);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function setStatus(text, kind) {
  const status = $("status");
  status.textContent = text || "";
  status.dataset.kind = kind || (text ? "error" : "");
}

// Only http(s), tel and mailto leave this page: a `javascript:` URI from a bot must not run here.
function safeHref(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, location.href);
    return ["http:", "https:", "tel:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function safeSrc(value) {
  if (typeof value !== "string" || !value) return "";
  if (/^data:image\//i.test(value)) return value;
  const href = safeHref(value);
  return href && href.startsWith("http") ? href : "";
}

// Colours go into style properties; accept only LINE's #RRGGBB / #RRGGBBAA forms.
function safeColor(value) {
  return typeof value === "string" && /^#[0-9a-f]{6}([0-9a-f]{2})?$/i.test(value) ? value : null;
}

function timeLabel(iso) {
  const date = iso ? new Date(iso) : new Date();
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString("ja-JP", { hour: "2-digit", minute: "2-digit" });
}

// Fixed icon shapes (Material icons' paths): no emoji, which many machines cannot draw.
const ICONS = {
  pin: "M12 2C8.13 2 5 5.13 5 9c0 5.25 7 13 7 13s7-7.75 7-13c0-3.87-3.13-7-7-7zm0 9.5a2.5 2.5 0 0 1 0-5 2.5 2.5 0 0 1 0 5z",
  camera: "M9 2 7.17 4H4c-1.1 0-2 .9-2 2v12c0 1.1.9 2 2 2h16c1.1 0 2-.9 2-2V6c0-1.1-.9-2-2-2h-3.17L15 2H9zm3 15c-2.76 0-5-2.24-5-5s2.24-5 5-5 5 2.24 5 5-2.24 5-5 5zm0-8a3 3 0 1 0 0 6 3 3 0 0 0 0-6z",
  image: "M21 19V5c0-1.1-.9-2-2-2H5c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h14c1.1 0 2-.9 2-2zM8.5 13.5l2.5 3.01L14.5 12l4.5 6H5l3.5-4.5z",
  calendar: "M19 4h-1V2h-2v2H8V2H6v2H5c-1.11 0-2 .9-2 2v14a2 2 0 0 0 2 2h14c1.1 0 2-.9 2-2V6c0-1.1-.9-2-2-2zm0 16H5V9h14v11zM7 11h5v5H7z",
  link: "M3.9 12c0-1.71 1.39-3.1 3.1-3.1h4V7H7c-2.76 0-5 2.24-5 5s2.24 5 5 5h4v-1.9H7c-1.71 0-3.1-1.39-3.1-3.1zM8 13h8v-2H8v2zm9-6h-4v1.9h4c1.71 0 3.1 1.39 3.1 3.1s-1.39 3.1-3.1 3.1h-4V17h4c2.76 0 5-2.24 5-5s-2.24-5-5-5z",
};

function svgIcon(name, className) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", className || "icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function image(src, alt, className) {
  const img = el("img", className);
  img.src = safeSrc(src);
  img.alt = alt || "";
  img.decoding = "async";
  return img;
}

// Text with URLs made into links; the rest stays plain text nodes.
function linkified(text) {
  const fragment = document.createDocumentFragment();
  const pattern = /https?:\/\/[\x21-\x7e]+/g;
  let last = 0;
  for (const match of String(text).matchAll(pattern)) {
    let url = match[0];
    const trailing = /[.,;:!?)\]}'"]+$/.exec(url); // punctuation after a URL is not part of it
    if (trailing) url = url.slice(0, -trailing[0].length);
    const href = safeHref(url);
    if (!href) continue;
    fragment.append(document.createTextNode(text.slice(last, match.index)));
    const link = el("a", "link", url);
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    if (liffUrl(href)) {
      // As in LINE, a LIFF URL in a message opens in the in-app web view.
      link.addEventListener("click", (event) => {
        event.preventDefault();
        openLiff(href);
      });
    }
    fragment.append(link);
    last = match.index + url.length;
  }
  fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}

/* ------------------------------------------------------------------ linesim control API */

async function control(method, path, body, { quiet = [] } = {}) {
  try {
    const response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok && !quiet.includes(response.status)) {
      setStatus(`linesim: ${response.status} ${(data && data.message) || ""}`.trim());
    }
    return { ok: response.ok, status: response.status, data };
  } catch {
    setStatus("linesim に接続できません");
    return { ok: false, status: 0, data: null };
  }
}

const userPath = (suffix) => `/_sim/users/${encodeURIComponent(userId)}${suffix || ""}`;

// Sends one webhook event as this user; the answer carries the bot's HTTP status.
async function sendEvent(event) {
  if (channel) event.channel = channel;
  const answer = await control("POST", userPath("/send"), event);
  if (answer.ok && answer.data && answer.data.status !== undefined) {
    const status = answer.data.status;
    if (!status) setStatus("ボットに届きませんでした (webhook に接続できません)");
    else setStatus(status >= 200 && status < 300 ? "" : `ボットの応答: ${status}`);
  }
  poll();
  setTimeout(poll, 250); // bots often answer just after acknowledging the webhook
  return answer;
}

/* ------------------------------------------------------------------ chat rows */

function atBottom() {
  const chat = $("chat");
  return chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
}

function scrollToEnd() {
  const chat = $("chat");
  chat.scrollTop = chat.scrollHeight;
  stickToBottom = true;
}

// One row in the chat: avatar (bot side), the content, and the time.
function appendRow(side, content, { at, sender, follow } = {}) {
  const chat = $("chat");
  const stick = follow || stickToBottom;
  $("chat-empty").hidden = true;
  const row = el("div", `row ${side}`);
  if (side === "bot") {
    const avatar = el("div", "avatar");
    avatar.setAttribute("aria-hidden", "true");
    const icon = sender && safeSrc(sender.iconUrl);
    if (icon) avatar.append(image(icon, ""));
    row.append(avatar);
    if (lastSide === "bot" && !sender) row.classList.add("cont");
  }
  const stack = el("div", "stack");
  if (side === "bot" && sender && sender.name) stack.append(el("div", "sender", sender.name));
  const line = el("div", "line");
  line.append(content, el("time", "time", timeLabel(at)));
  stack.append(line);
  row.append(stack);
  chat.append(row);
  lastSide = side;
  if (stick) scrollToEnd();
  return row;
}

function showUserBubble(content) {
  const bubble = el("div", "bubble user-bubble");
  bubble.dataset.testid = "user-message";
  if (typeof content === "string") bubble.textContent = content;
  else bubble.append(content);
  appendRow("user", bubble, { follow: true });
  return bubble;
}

function showNote(text) {
  const note = el("p", "note", text);
  $("chat").append(note);
  scrollToEnd();
  lastSide = null;
}

/* ------------------------------------------------------------------ bot message renderers */

function textBubble(text) {
  const bubble = el("div", "bubble bot-bubble");
  bubble.append(linkified(text));
  return bubble;
}

// textV2 puts {key} placeholders in the text; show mentions and emojis as readable stand-ins.
function substituted(message) {
  const substitution = message.substitution || {};
  return String(message.text || "").replace(/\{([A-Za-z0-9_]{1,20})\}/g, (whole, key) => {
    const item = substitution[key];
    if (!item) return whole;
    if (item.type === "mention") {
      return item.mentionee && item.mentionee.type === "all" ? "@All" : `@${item.mentionee?.userId || "user"}`;
    }
    return "[絵文字]";
  });
}

const renderers = {
  text: (m) => textBubble(m.text || ""),
  textV2: (m) => textBubble(substituted(m)),
  sticker: (m) => el("div", "bubble bot-bubble sticker", `[スタンプ ${m.packageId}/${m.stickerId}]`),
  image: (m) => {
    const link = el("a", "media");
    const href = safeHref(m.originalContentUrl);
    if (href) {
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    link.append(image(m.previewImageUrl || m.originalContentUrl, "画像"));
    return link;
  },
  video: (m) => {
    const video = el("video", "media");
    video.controls = true;
    video.preload = "none";
    video.src = safeSrc(m.originalContentUrl) || "";
    video.poster = safeSrc(m.previewImageUrl);
    video.setAttribute("aria-label", "動画");
    return video;
  },
  audio: (m) => {
    const audio = el("audio", "audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = safeSrc(m.originalContentUrl) || "";
    audio.setAttribute("aria-label", "音声");
    return audio;
  },
  location: (m) => locationCard(m),
  imagemap: (m) => renderImagemap(m),
  template: (m) => renderTemplate(m.template || {}),
  flex: (m) => renderFlexContainer(m.contents || {}),
};

function renderBotMessage(message) {
  let content;
  try {
    const render = renderers[message.type];
    content = render ? render(message) : null;
  } catch (error) {
    console.warn("linesim phone: could not render", message, error); // fall back to altText
    content = null;
  }
  if (!content) content = textBubble(message.altText || `[${message.type}]`);
  const wrapper = el("div", "content");
  wrapper.dataset.testid = "bot-message";
  wrapper.dataset.type = String(message.type);
  if (message.altText) {
    wrapper.setAttribute("role", "group");
    wrapper.setAttribute("aria-label", message.altText);
  }
  wrapper.append(content);
  return wrapper;
}

function locationCard(m) {
  const card = el("div", "bubble bot-bubble location");
  const title = el("div", "location-title");
  title.append(svgIcon("pin"), document.createTextNode(m.title || "位置情報"));
  card.append(title);
  if (m.address) card.append(el("div", "location-address", m.address));
  const lat = Number(m.latitude);
  const lng = Number(m.longitude);
  if (Number.isFinite(lat) && Number.isFinite(lng)) {
    const link = el("a", "link", `${lat.toFixed(5)}, ${lng.toFixed(5)}`);
    link.href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lng}#map=17/${lat}/${lng}`;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    card.append(link);
  }
  return card;
}

// Transparent buttons laid over an image; percentages keep them aligned at any displayed size.
function overlayButtons(container, size, areas) {
  const width = Number(size && size.width) || 1;
  const height = Number(size && size.height) || 1;
  for (const { bounds, action } of areas) {
    if (!bounds || !action) continue;
    const button = el("button", "area");
    button.type = "button";
    Object.assign(button.style, {
      left: `${(bounds.x / width) * 100}%`,
      top: `${(bounds.y / height) * 100}%`,
      width: `${(bounds.width / width) * 100}%`,
      height: `${(bounds.height / height) * 100}%`,
    });
    const label = actionLabel(action);
    button.setAttribute("aria-label", label);
    button.title = label;
    button.addEventListener("click", () => performAction(action));
    container.append(button);
  }
}

function renderImagemap(m) {
  const box = el("div", "imagemap");
  const base = m.baseSize || { width: 1040, height: 1040 };
  box.style.aspectRatio = `${base.width} / ${base.height}`;
  box.append(image(`${m.baseUrl}/1040`, ""));
  const overlay = el("div", "overlay");
  // Imagemap actions use their own field names; map them onto ordinary actions.
  const areas = (m.actions || []).map((a) => ({
    bounds: a.area,
    action:
      a.type === "uri"
        ? { type: "uri", uri: a.linkUri, label: a.label }
        : a.type === "message"
          ? { type: "message", text: a.text, label: a.label }
          : a,
  }));
  overlayButtons(overlay, base, areas);
  box.append(overlay);
  return box;
}

/* ---------------------------------------------------------------- templates */

function actionLabel(action) {
  if (!action) return "";
  return String(
    action.label || action.displayText || action.text || action.data || action.uri || action.clipboardText || action.type
  );
}

function actionButton(action, className) {
  const button = el("button", className || "", actionLabel(action));
  button.type = "button";
  button.addEventListener("click", () => performAction(action));
  return button;
}

// A defaultAction makes an image or card tappable as a whole.
function makeTappable(node, action) {
  if (!action) return;
  node.classList.add("tappable");
  node.tabIndex = 0;
  node.setAttribute("role", "button");
  node.setAttribute("aria-label", actionLabel(action));
  node.addEventListener("click", (event) => {
    // Only the innermost tappable thing acts: a button inside a tappable card wins.
    if (event.target.closest("button, a, .tappable") !== node) return;
    performAction(action);
  });
  node.addEventListener("keydown", (event) => {
    if ((event.key === "Enter" || event.key === " ") && event.target === node) {
      event.preventDefault();
      performAction(action);
    }
  });
}

function templateThumbnail(url, template, background) {
  const frame = el("div", "thumb");
  frame.classList.add(template.imageAspectRatio === "square" ? "square" : "rectangle");
  if (template.imageSize === "contain") frame.classList.add("contain");
  const color = safeColor(background);
  if (color) frame.style.backgroundColor = color;
  frame.append(image(url, ""));
  return frame;
}

function templateCard(column, template) {
  const card = el("div", "card");
  if (column.thumbnailImageUrl) {
    const thumb = templateThumbnail(column.thumbnailImageUrl, template, column.imageBackgroundColor);
    makeTappable(thumb, column.defaultAction);
    card.append(thumb);
  }
  const body = el("div", "card-body");
  if (column.title) body.append(el("div", "card-title", column.title));
  if (column.text) body.append(el("div", "card-text", column.text));
  card.append(body);
  const actions = el("div", "card-actions");
  for (const action of column.actions || []) actions.append(actionButton(action, "card-action"));
  card.append(actions);
  return card;
}

function renderTemplate(template) {
  switch (template.type) {
    case "buttons":
      return templateCard(template, template);
    case "confirm": {
      const card = el("div", "card confirm");
      card.append(el("div", "card-body card-text", template.text || ""));
      const actions = el("div", "card-actions side-by-side");
      for (const action of template.actions || []) actions.append(actionButton(action, "card-action"));
      card.append(actions);
      return card;
    }
    case "carousel": {
      const row = el("div", "carousel");
      row.setAttribute("role", "list");
      for (const column of template.columns || []) {
        const card = templateCard(column, template);
        card.setAttribute("role", "listitem");
        row.append(card);
      }
      return row;
    }
    case "image_carousel": {
      const row = el("div", "carousel");
      for (const column of template.columns || []) {
        const tile = el("div", "image-tile");
        tile.append(image(column.imageUrl, ""));
        if (column.action && column.action.label) tile.append(el("span", "image-tile-label", column.action.label));
        makeTappable(tile, column.action);
        row.append(tile);
      }
      return row;
    }
    default:
      return null;
  }
}

/* ---------------------------------------------------------------- Flex messages */

const FLEX_SPACING = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
const FLEX_TEXT = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };
const FLEX_IMAGE = { xxs: 40, xs: 60, sm: 80, md: 100, lg: 120, xl: 140, xxl: 160, "3xl": 180, "4xl": 200, "5xl": 220 };
const FLEX_BORDER = { none: 0, light: 0.5, normal: 1, medium: 2, "semi-bold": 3, bold: 4 };
const FLEX_RADIUS = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
const BUBBLE_WIDTH = { nano: 120, micro: 160, deca: 220, hecto: 241, kilo: 260, mega: 300, giga: 386 };
const JUSTIFY = {
  "flex-start": "flex-start", center: "center", "flex-end": "flex-end",
  "space-between": "space-between", "space-around": "space-around", "space-evenly": "space-evenly",
};
const GRAVITY = { top: "flex-start", center: "center", bottom: "flex-end" };

// A LINE size keyword or an explicit "12px"/"50%": anything else is ignored.
function size(value, table) {
  if (value === undefined || value === null) return null;
  if (table && Object.hasOwn(table, value)) return `${table[value]}px`;
  return /^\d+(\.\d+)?(px|%)$/.test(String(value)) ? String(value) : null;
}

function ratio(value) {
  const match = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(String(value || ""));
  return match ? `${match[1]} / ${match[2]}` : null;
}

// What every component shares: flex share, margin, gravity, offsets.
function applyCommon(node, c, parent) {
  const style = node.style;
  const horizontal = parent === "horizontal" || parent === "baseline";
  const share = Number.isInteger(c.flex) ? c.flex : horizontal ? 1 : 0;
  // In a column the basis stays auto: a zero basis would collapse content-sized boxes.
  if (share <= 0) style.flex = "0 0 auto";
  else style.flex = horizontal ? `${share} 1 0` : `${share} 1 auto`;
  const margin = size(c.margin, FLEX_SPACING);
  if (margin) style[horizontal ? "marginInlineStart" : "marginTop"] = margin;
  if (horizontal && GRAVITY[c.gravity] && parent !== "baseline") style.alignSelf = GRAVITY[c.gravity];
  if (c.position === "absolute") {
    style.position = "absolute";
    for (const [key, css] of [["offsetTop", "top"], ["offsetBottom", "bottom"], ["offsetStart", "left"], ["offsetEnd", "right"]]) {
      const value = size(c[key], FLEX_SPACING);
      if (value) style[css] = value;
    }
  } else {
    style.position = "relative";
    if (size(c.offsetTop, FLEX_SPACING)) style.top = size(c.offsetTop, FLEX_SPACING);
    if (size(c.offsetStart, FLEX_SPACING)) style.left = size(c.offsetStart, FLEX_SPACING);
  }
}

function renderFlexComponent(c, parent) {
  if (!c || typeof c !== "object") return null;
  const render = flexRenderers[c.type];
  if (!render) return null; // unknown component: skip it; the bubble still shows the rest
  const node = render(c);
  if (node) applyCommon(node, c, parent);
  return node;
}

const flexRenderers = {
  box(c) {
    const layout = ["horizontal", "baseline"].includes(c.layout) ? c.layout : "vertical";
    const box = el("div", `fx-box fx-${layout}`);
    const gap = size(c.spacing, FLEX_SPACING);
    if (gap) box.style.gap = gap;
    const s = box.style;
    const pad = (key) => size(c[key], FLEX_SPACING);
    if (pad("paddingAll")) s.padding = pad("paddingAll");
    if (pad("paddingTop")) s.paddingTop = pad("paddingTop");
    if (pad("paddingBottom")) s.paddingBottom = pad("paddingBottom");
    if (pad("paddingStart")) s.paddingInlineStart = pad("paddingStart");
    if (pad("paddingEnd")) s.paddingInlineEnd = pad("paddingEnd");
    if (safeColor(c.backgroundColor)) s.backgroundColor = safeColor(c.backgroundColor);
    if (size(c.borderWidth, FLEX_BORDER)) {
      s.borderStyle = "solid";
      s.borderWidth = size(c.borderWidth, FLEX_BORDER);
      s.borderColor = safeColor(c.borderColor) || "#000000";
    }
    if (size(c.cornerRadius, FLEX_RADIUS)) s.borderRadius = size(c.cornerRadius, FLEX_RADIUS);
    if (size(c.width)) s.width = size(c.width);
    if (size(c.maxWidth)) s.maxWidth = size(c.maxWidth);
    if (size(c.height)) s.height = size(c.height);
    if (size(c.maxHeight)) s.maxHeight = size(c.maxHeight);
    if (JUSTIFY[c.justifyContent]) s.justifyContent = JUSTIFY[c.justifyContent];
    if (JUSTIFY[c.alignItems] || c.alignItems === "stretch") s.alignItems = JUSTIFY[c.alignItems] || "stretch";
    const bg = c.background;
    if (bg && bg.type === "linearGradient" && safeColor(bg.startColor) && safeColor(bg.endColor)) {
      const angle = /^-?\d+(\.\d+)?deg$/.test(String(bg.angle)) ? bg.angle : "0deg";
      const center = safeColor(bg.centerColor);
      const position = /^\d+(\.\d+)?%$/.test(String(bg.centerPosition)) ? ` ${bg.centerPosition}` : "";
      // LINE's 0deg runs bottom to top, as CSS's does.
      s.backgroundImage = center
        ? `linear-gradient(${angle}, ${bg.startColor}, ${center}${position}, ${bg.endColor})`
        : `linear-gradient(${angle}, ${bg.startColor}, ${bg.endColor})`;
    }
    for (const child of c.contents || []) {
      const node = renderFlexComponent(child, layout);
      if (node) box.append(node);
    }
    makeTappable(box, c.action);
    return box;
  },

  text(c) {
    const text = el("p", "fx-text");
    if (Array.isArray(c.contents) && c.contents.length) {
      for (const span of c.contents) {
        if (!span || span.type !== "span") continue;
        const node = el("span", "", span.text || "");
        styleText(node, span);
        text.append(node);
      }
    } else {
      text.append(linkified(String(c.text ?? "")));
    }
    styleText(text, c);
    if (c.wrap) text.classList.add("wrap");
    if (Number.isInteger(c.maxLines) && c.maxLines > 0) {
      text.classList.add("clamp");
      text.style.webkitLineClamp = String(c.maxLines);
    }
    if (["start", "end", "center"].includes(c.align)) text.style.textAlign = c.align;
    if (size(c.lineSpacing)) text.style.lineHeight = `calc(1.4em + ${size(c.lineSpacing)})`;
    makeTappable(text, c.action);
    return text;
  },

  button(c) {
    const style = ["primary", "secondary", "link"].includes(c.style) ? c.style : "link";
    const button = actionButton(c.action || {}, `fx-button fx-${style} ${c.height === "sm" ? "sm" : "md"}`);
    const color = safeColor(c.color);
    if (color) {
      if (style === "link") button.style.color = color;
      else button.style.backgroundColor = color;
    }
    return button;
  },

  image(c) {
    const frame = el("div", "fx-image");
    const full = c.size === "full";
    frame.style.width = full ? "100%" : size(c.size, FLEX_IMAGE) || "100px";
    frame.style.maxWidth = "100%";
    frame.style.aspectRatio = ratio(c.aspectRatio) || "1 / 1";
    if (c.aspectMode === "cover") frame.classList.add("cover");
    if (safeColor(c.backgroundColor)) frame.style.backgroundColor = safeColor(c.backgroundColor);
    const align = { start: "flex-start", end: "flex-end" }[c.align] || "center";
    frame.style.alignSelf = align;
    frame.append(image(c.url, ""));
    makeTappable(frame, c.action);
    return frame;
  },

  icon(c) {
    const icon = image(c.url, "", "fx-icon");
    const height = size(c.size, FLEX_TEXT) || "16px";
    icon.style.height = height;
    const r = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(String(c.aspectRatio || ""));
    icon.style.width = r ? `calc(${height} * ${Number(r[1]) / Number(r[2])})` : height;
    return icon;
  },

  separator(c) {
    const line = el("div", "fx-separator");
    line.setAttribute("role", "separator");
    if (safeColor(c.color)) line.style.borderColor = safeColor(c.color);
    return line;
  },

  filler() {
    return el("div", "fx-filler");
  },

  spacer(c) {
    const spacer = el("div", "fx-filler");
    spacer.style.minHeight = size(c.size, FLEX_SPACING) || "8px";
    return spacer;
  },

  video(c) {
    // A hero video: show its preview, as LINE does before playback (altContent stands in).
    const frame = el("div", "fx-image cover");
    frame.style.width = "100%";
    frame.style.aspectRatio = ratio(c.aspectRatio) || "16 / 9";
    const video = el("video");
    video.controls = true;
    video.preload = "none";
    video.src = safeSrc(c.url) || "";
    video.poster = safeSrc(c.previewUrl);
    frame.append(video);
    return frame;
  },
};

function styleText(node, c) {
  const s = node.style;
  const fontSize = size(c.size, FLEX_TEXT);
  if (fontSize) s.fontSize = fontSize;
  if (c.weight === "bold") s.fontWeight = "700";
  if (c.style === "italic") s.fontStyle = "italic";
  if (["underline", "line-through"].includes(c.decoration)) s.textDecoration = c.decoration;
  if (safeColor(c.color)) s.color = safeColor(c.color);
}

function renderBubble(bubble) {
  const card = el("div", "fx-bubble");
  card.style.width = `${BUBBLE_WIDTH[bubble.size] || BUBBLE_WIDTH.mega}px`;
  if (bubble.direction === "rtl") card.dir = "rtl";
  const styles = bubble.styles || {};
  let first = true;
  for (const part of ["header", "hero", "body", "footer"]) {
    const block = bubble[part];
    if (!block) continue;
    const section = el("div", `fx-section fx-${part}`);
    const blockStyle = styles[part] || {};
    if (safeColor(blockStyle.backgroundColor)) section.style.backgroundColor = safeColor(blockStyle.backgroundColor);
    if (blockStyle.separator && !first) {
      section.style.borderTop = `1px solid ${safeColor(blockStyle.separatorColor) || "#e5e5e5"}`;
    }
    const node = renderFlexComponent(block, "vertical");
    if (node) section.append(node);
    card.append(section);
    first = false;
  }
  makeTappable(card, bubble.action);
  return card;
}

function renderFlexContainer(contents) {
  if (contents.type === "carousel") {
    const row = el("div", "carousel");
    row.setAttribute("role", "list");
    for (const bubble of contents.contents || []) {
      const card = renderBubble(bubble);
      card.setAttribute("role", "listitem");
      row.append(card);
    }
    return row;
  }
  if (contents.type === "bubble") return renderBubble(contents);
  return null;
}

/* ------------------------------------------------------------------ actions */

// What a tap does, wherever the action came from (quick reply, template, Flex, rich menu, imagemap).
async function performAction(action) {
  if (!action || typeof action !== "object") return;
  switch (action.type) {
    case "message":
      sendText(String(action.text || action.label || ""));
      break;
    case "postback": {
      hideQuickReplies();
      const shown = action.displayText || action.text;
      if (shown) showUserBubble(String(shown));
      await sendEvent({ type: "postback", postback: { data: String(action.data || "") } });
      applyInputOption(action);
      break;
    }
    case "uri": {
      const href = safeHref(action.uri);
      if (href && liffUrl(href)) openLiff(href);
      else if (href) window.open(href, "_blank", "noopener");
      else setStatus(`開けない URI です: ${action.uri}`);
      break;
    }
    case "datetimepicker":
      openPicker(action);
      break;
    case "location":
      openLocation();
      break;
    case "camera":
    case "cameraRoll":
      $("photo").click();
      break;
    case "richmenuswitch":
      hideQuickReplies();
      await sendEvent({
        type: "postback",
        postback: {
          data: String(action.data || ""),
          params: { newRichMenuAliasId: action.richMenuAliasId, status: "SUCCESS" },
        },
      });
      richMenuKey = null;
      loadRichMenu();
      break;
    case "clipboard":
      copyText(String(action.clipboardText || ""));
      break;
    default:
      setStatus(`未対応のアクション: ${action.type}`);
  }
}

// A postback may ask LINE to open the keyboard (optionally prefilled) or the rich menu.
function applyInputOption(action) {
  if (action.inputOption === "openKeyboard") {
    if (action.fillInText) $("composer").value = String(action.fillInText);
    $("composer").focus();
  } else if (action.inputOption === "openRichMenu") {
    setRichMenuOpen(true);
  } else if (action.inputOption === "closeRichMenu") {
    setRichMenuOpen(false);
  }
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Older browsers or a denied permission: the textarea trick still works.
    const area = el("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  setStatus("コピーしました", "info");
}

function sendText(text) {
  if (!text.trim()) return;
  hideQuickReplies();
  const bubble = showUserBubble(text);
  sendEvent({ type: "message", message: { type: "text", text } }).then((answer) => {
    if (!answer.ok) bubble.classList.add("failed");
  });
}

/* ------------------------------------------------------------------ quick replies */

const QUICK_ICONS = { camera: "camera", cameraRoll: "image", location: "pin", datetimepicker: "calendar", uri: "link" };

function showQuickReplies(quickReply) {
  const row = $("quick-replies");
  row.replaceChildren();
  const items = (quickReply && Array.isArray(quickReply.items) && quickReply.items) || [];
  for (const item of items) {
    if (!item || !item.action) continue;
    const chip = el("button", "chip");
    chip.type = "button";
    chip.dataset.testid = "quick-reply";
    const icon = safeSrc(item.imageUrl);
    if (icon) chip.append(image(icon, "", "chip-icon"));
    else if (QUICK_ICONS[item.action.type]) chip.append(svgIcon(QUICK_ICONS[item.action.type]));
    chip.append(el("span", "", actionLabel(item.action)));
    chip.addEventListener("click", () => {
      hideQuickReplies(); // LINE removes the chips as soon as one is tapped
      performAction(item.action);
    });
    row.append(chip);
  }
  row.hidden = row.childElementCount === 0;
}

function hideQuickReplies() {
  $("quick-replies").replaceChildren();
  $("quick-replies").hidden = true;
}

/* ------------------------------------------------------------------ polling */

async function poll() {
  if (polling || !userId) return;
  polling = true;
  const mine = generation;
  try {
    // seen=1: what the page shows counts as opened in LINE's insight figures.
    const answer = await control("GET", userPath("/messages?seen=1"));
    if (mine !== generation || !answer.ok || !Array.isArray(answer.data)) return;
    const messages = answer.data;
    if (messages.length < seen) resetChat(); // linesim was reset
    const fresh = messages.slice(seen);
    seen = messages.length;
    for (const message of fresh) {
      appendRow("bot", renderBotMessage(message), { at: message.at, sender: message.sender });
    }
    if (fresh.length) showQuickReplies(fresh[fresh.length - 1].quickReply);
  } finally {
    polling = false;
  }
}

function resetChat() {
  seen = 0;
  stickToBottom = true;
  lastSide = null;
  const empty = $("chat-empty");
  $("chat").replaceChildren(empty);
  empty.hidden = false;
  hideQuickReplies();
}

/* ------------------------------------------------------------------ rich menu */

async function loadRichMenu() {
  if (!userId) return;
  const mine = generation;
  const answer = await control("GET", userPath("/richmenu"), undefined, { quiet: [404] });
  if (mine !== generation) return;
  const section = $("richmenu");
  if (!answer.ok || !answer.data) {
    if (answer.status === 404) {
      section.hidden = true;
      richMenuKey = null;
    }
    return;
  }
  const menu = answer.data;
  const key = JSON.stringify(menu);
  if (key === richMenuKey) return;
  const firstShow = richMenuKey === null;
  richMenuKey = key;
  $("richmenu-label").textContent = menu.chatBarText || "メニュー";
  const img = $("richmenu-image");
  img.src = safeSrc(menu.imageUrl) || "";
  img.alt = menu.name ? `リッチメニュー: ${menu.name}` : "リッチメニュー";
  const body = $("richmenu-body");
  const width = Number(menu.size && menu.size.width) || 2500;
  const height = Number(menu.size && menu.size.height) || 1686;
  body.style.aspectRatio = `${width} / ${height}`;
  const areas = $("richmenu-areas");
  areas.replaceChildren();
  overlayButtons(areas, { width, height }, menu.areas || []);
  section.hidden = false;
  if (firstShow) setRichMenuOpen(menu.selected !== false);
}

function setRichMenuOpen(open) {
  if ($("richmenu").hidden) return;
  $("richmenu-body").hidden = !open;
  $("richmenu-toggle").setAttribute("aria-expanded", String(open));
}

/* ------------------------------------------------------------------ dialogs: location, date/time */

function openLocation() {
  $("location-dialog").showModal();
  $("lat").focus();
}

function sendLocation() {
  const latitude = Number($("lat").value);
  const longitude = Number($("lng").value);
  if (!Number.isFinite(latitude) || Math.abs(latitude) > 90 || !Number.isFinite(longitude) || Math.abs(longitude) > 180) {
    setStatus("緯度・経度を数字で入れてください");
    return false;
  }
  const address = $("address").value.trim();
  const message = { type: "location", title: "位置情報", latitude, longitude };
  if (address) message.address = address;
  hideQuickReplies();
  const card = el("div", "sent-location");
  const title = el("div", "location-title");
  title.append(svgIcon("pin"), document.createTextNode(address || "位置情報"));
  card.append(title);
  card.append(el("div", "location-coords", `${latitude.toFixed(5)}, ${longitude.toFixed(5)}`));
  showUserBubble(card);
  sendEvent({ type: "message", message });
  return true;
}

const PICKER = {
  date: { input: "date", key: "date", label: "日付", title: "日付を選ぶ" },
  time: { input: "time", key: "time", label: "時刻", title: "時刻を選ぶ" },
  datetime: { input: "datetime-local", key: "datetime", label: "日時", title: "日時を選ぶ" },
};
let pickerAction = null;

function openPicker(action) {
  const mode = PICKER[action.mode] || PICKER.datetime;
  pickerAction = action;
  const input = $("picker-input");
  input.type = mode.input;
  // LINE accepts a lower-case "t" in datetimes; the native input wants "T".
  const normal = (value) => (typeof value === "string" ? value.replace(/^(\d{4}-\d\d-\d\d)t/, "$1T") : "");
  input.min = normal(action.min);
  input.max = normal(action.max);
  input.value = normal(action.initial);
  $("picker-label").textContent = mode.label;
  $("picker-title").textContent = action.label ? `${action.label}: ${mode.title}` : mode.title;
  $("picker-dialog").showModal();
  input.focus();
}

function sendPicked() {
  const action = pickerAction;
  const mode = PICKER[action.mode] || PICKER.datetime;
  const value = $("picker-input").value;
  if (!value) return false;
  hideQuickReplies();
  showNote(`${mode.label} ${value.replace("T", " ")} を選びました`);
  sendEvent({ type: "postback", postback: { data: String(action.data || ""), params: { [mode.key]: value } } });
  return true;
}

/* ------------------------------------------------------------------ photo */

function sendPhoto(file) {
  if (!file) return;
  if (file.size > 14_000_000) {
    setStatus("写真が大きすぎます (14MB まで)");
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    const dataUrl = String(reader.result);
    hideQuickReplies();
    const bubble = showUserBubble(image(dataUrl, "送った写真", "sent-photo"));
    bubble.classList.add("photo");
    sendEvent({ type: "message", message: { type: "image" }, content: dataUrl.split(",", 2)[1] || "" });
  };
  reader.onerror = () => setStatus("写真を読み込めませんでした");
  reader.readAsDataURL(file);
}

/* ------------------------------------------------------------------ LIFF web view */

// A LIFF URL (https://liff.line.me/{liffId}/path?query) opens the app registered in linesim
// (`POST /_sim/liff/apps`) over the chat. Its page loads linesim's /liff/sdk.js in place of LINE's
// SDK; `liff.init()` there asks this page (postMessage) for the context and an ID token of the
// resident being played. The token goes only to the origin of the app's registered endpoint.
let liffApp = null; // the app open in the web view

function liffUrl(href) {
  try {
    const url = new URL(href);
    const match = url.origin === "https://liff.line.me" && /^\/([A-Za-z0-9-]{1,64})(\/.*)?$/.exec(url.pathname);
    return match ? { liffId: match[1], path: (match[2] || "") + url.search } : null;
  } catch {
    return null;
  }
}

async function openLiff(href) {
  const target = liffUrl(href);
  if (!target) return;
  const answer = await control("GET", `/_sim/liff/apps/${encodeURIComponent(target.liffId)}`, undefined, { quiet: [404] });
  if (!answer.ok || !answer.data) {
    setStatus(`linesim に登録されていない LIFF アプリです: ${target.liffId}`);
    return;
  }
  const app = answer.data;
  const endpoint = safeHref(app.endpointUrl);
  if (!endpoint || !endpoint.startsWith("http")) {
    setStatus(`LIFF アプリのエンドポイントが不正です: ${app.endpointUrl}`);
    return;
  }
  // As LINE does: the endpoint URL, with the rest of the LIFF URL in liff.state.
  const url = new URL(endpoint);
  if (target.path && target.path !== "/") url.searchParams.set("liff.state", target.path);
  liffApp = { ...app, origin: url.origin };
  $("liff").dataset.viewType = app.viewType || "full";
  $("liff-title").textContent = url.host;
  $("liff-frame").src = url.href;
  $("liff").hidden = false;
  $("liff-close").focus();
}

function closeLiff() {
  liffApp = null;
  $("liff").hidden = true;
  $("liff-frame").src = "about:blank";
  poll();
}

function toLiffPage(event, message) {
  event.source.postMessage({ linesimLiff: 1, ...message }, event.origin);
}

async function answerLiff(event) {
  const data = event.data;
  const frame = $("liff-frame");
  if (!liffApp || event.source !== frame.contentWindow || !data || data.linesimLiff !== 1) return;
  if (event.origin !== liffApp.origin) return; // another site inside the web view gets nothing
  if (data.type === "init") {
    if (data.liffId !== liffApp.liffId) {
      toLiffPage(event, { id: data.id, type: "error", code: "INIT_FAILED", message: "liffId does not match the app opened" });
      return;
    }
    const token = await control("POST", userPath("/id-token"), { clientId: liffApp.channelId });
    if (!token.ok) {
      toLiffPage(event, { id: data.id, type: "error", code: "INIT_FAILED", message: "no ID token" });
      return;
    }
    const name = $("display-name").value.trim();
    toLiffPage(event, {
      id: data.id,
      type: "context",
      idToken: token.data.idToken,
      decoded: { iss: "https://access.line.me", sub: userId, aud: liffApp.channelId, name },
      context: { type: "utou", userId, liffId: liffApp.liffId, viewType: liffApp.viewType, endpointUrl: liffApp.endpointUrl },
      language: navigator.language || "ja",
    });
  } else if (data.type === "close") {
    closeLiff();
  } else if (data.type === "sendMessages") {
    const texts = (Array.isArray(data.messages) ? data.messages : []).filter((m) => m && m.type === "text");
    for (const message of texts.slice(0, 5)) sendText(String(message.text || ""));
    toLiffPage(event, { id: data.id, type: "sent" });
  } else if (data.type === "openWindow") {
    const href = safeHref(data.url);
    if (href && liffUrl(href) && !data.external) openLiff(href);
    else if (href) window.open(href, "_blank", "noopener");
  }
}

/* ------------------------------------------------------------------ user and wiring */

// The header names the resident being played: display name, else a short user id.
function showWho() {
  const name = $("display-name").value.trim();
  $("who").textContent = name || `${userId.slice(0, 9)}…`;
}

function setSettingsOpen(open) {
  $("settings").hidden = !open;
  $("settings-toggle").setAttribute("aria-expanded", String(open));
}

function useUser(id) {
  if (liffApp) closeLiff();
  userId = id;
  generation += 1;
  localStorage.setItem("linesim-user", id);
  $("user-id").value = id;
  const url = new URL(location.href);
  url.searchParams.set("user", id); // a reload keeps playing the same resident
  history.replaceState(null, "", url);
  showWho();
  resetChat();
  richMenuKey = null;
  $("richmenu").hidden = true;
  poll();
  loadRichMenu();
}

function wire() {
  $("composer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("composer").value;
    if (!text.trim()) return;
    $("composer").value = "";
    sendText(text);
  });
  $("follow").addEventListener("click", async () => {
    await sendEvent({ type: "follow" });
    richMenuKey = null;
    loadRichMenu();
  });
  $("unfollow").addEventListener("click", () => {
    hideQuickReplies();
    sendEvent({ type: "unfollow" });
  });
  $("user-id").addEventListener("change", () => {
    const value = $("user-id").value.trim();
    if (!validUserId(value)) {
      setStatus("ユーザー ID は英数字 64 文字までです");
      $("user-id").value = userId;
      return;
    }
    setStatus("");
    useUser(value);
  });
  $("display-name").addEventListener("change", async () => {
    const answer = await control("PUT", userPath(), { displayName: $("display-name").value.trim() });
    if (answer.ok) setStatus("表示名を変えました", "info");
    showWho();
  });

  // Images arrive after their rows: keep the newest message in view while following the chat.
  $("chat").addEventListener("scroll", () => { stickToBottom = atBottom(); }, { passive: true });
  $("chat").addEventListener("load", () => { if (stickToBottom) scrollToEnd(); }, true);
  $("settings-toggle").addEventListener("click", () => setSettingsOpen($("settings").hidden));
  $("attach-location").addEventListener("click", openLocation);
  $("attach-photo").addEventListener("click", () => $("photo").click());
  $("photo").addEventListener("change", () => {
    sendPhoto($("photo").files[0]);
    $("photo").value = ""; // the same photo can be sent twice
  });

  $("location-form").addEventListener("submit", (event) => {
    if (!sendLocation()) event.preventDefault();
  });
  $("location-cancel").addEventListener("click", () => $("location-dialog").close());
  $("picker-form").addEventListener("submit", (event) => {
    if (!sendPicked()) event.preventDefault();
  });
  $("picker-cancel").addEventListener("click", () => $("picker-dialog").close());

  $("richmenu-toggle").addEventListener("click", () => setRichMenuOpen($("richmenu-body").hidden));
  $("liff-close").addEventListener("click", closeLiff);
  window.addEventListener("message", answerLiff);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("liff").hidden) closeLiff();
  });
}

function start() {
  wire();
  const fromQuery = params.get("user");
  const stored = localStorage.getItem("linesim-user");
  const initial = [fromQuery, stored].find((v) => v && validUserId(v)) || randomUserId();
  useUser(initial);
  setSettingsOpen(!fromQuery && !stored); // a first visit starts with the resident's settings open
  setInterval(poll, POLL_MS);
  setInterval(loadRichMenu, RICHMENU_MS);
}

start();

// linesim's stand-in for LINE's LIFF SDK (https://static.line-scdn.net/liff/edge/2/sdk.js).
//
// A LIFF page loads this instead of LINE's SDK when it runs against linesim. Inside the web view
// of linesim's phone page it plays the LINE app's part: `liff.init()` asks the phone (the parent
// window, by postMessage) for the context and an ID token of the resident being played, which
// LINE Login's `POST /oauth2/v2.1/verify` on linesim accepts. Opened anywhere else, `liff.init()`
// resolves logged out, as LINE's SDK does in an outside browser. Only the part of LIFF v2 that
// forms need is here: init, ready, getIDToken, getDecodedIDToken, getContext, isInClient,
// isLoggedIn, login, logout, getOS, getLanguage, getVersion, closeWindow, sendMessages (text),
// openWindow. The protocol is in docs/linesim.md ("LIFF / LINE Login").
(function () {
  "use strict";

  const script = document.currentScript;
  // The phone page is served by the linesim that served this file: only it may answer.
  const PHONE_ORIGIN = script ? new URL(script.src, location.href).origin : "";
  const INIT_TIMEOUT_MS = 5000;

  class LiffError extends Error {
    constructor(code, message) {
      super(message);
      this.name = "LiffError";
      this.code = code;
    }
  }

  let context = null; // what the phone told us: {idToken, decoded, context, language}
  let initialized = false;
  let resolveReady;
  const ready = new Promise((resolve) => { resolveReady = resolve; });
  const pending = new Map(); // request id → {resolve, reject}
  let nextId = 1;

  const inWebView = window.parent !== window && PHONE_ORIGIN !== "";

  function toPhone(message) {
    window.parent.postMessage({ linesimLiff: 1, ...message }, PHONE_ORIGIN);
  }

  function ask(message) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      toPhone({ ...message, id });
      setTimeout(() => {
        if (pending.delete(id)) reject(new LiffError("TIMEOUT", "linesim's phone page did not answer"));
      }, INIT_TIMEOUT_MS);
    });
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || event.origin !== PHONE_ORIGIN) return;
    const data = event.data;
    if (!data || data.linesimLiff !== 1 || !pending.has(data.id)) return;
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    if (data.type === "error") reject(new LiffError(data.code || "INIT_FAILED", data.message || "LIFF error"));
    else resolve(data);
  });

  function requireInit() {
    if (!initialized) throw new LiffError("INIT_FAILED", "call liff.init() first");
  }

  const liff = {
    id: null,
    ready,
    async init(config) {
      if (!config || typeof config.liffId !== "string" || !config.liffId) {
        throw new LiffError("INVALID_ARGUMENT", "liffId is required");
      }
      liff.id = config.liffId;
      if (inWebView) {
        const answer = await ask({ type: "init", liffId: config.liffId });
        context = {
          idToken: answer.idToken,
          decoded: answer.decoded || null,
          context: answer.context || null,
          language: answer.language || "ja",
        };
      }
      initialized = true;
      resolveReady();
    },
    getVersion: () => "2.x (linesim)",
    getOS: () => "web",
    getLanguage: () => (context && context.language) || navigator.language || "ja",
    isInClient: () => inWebView,
    isLoggedIn: () => Boolean(context && context.idToken),
    login() {
      // LINE's SDK sends an outside browser to LINE Login; linesim has no such page.
      throw new LiffError("FORBIDDEN", "linesim: open this page from linesim's phone page");
    },
    logout() {
      context = null;
    },
    getIDToken() {
      requireInit();
      return context ? context.idToken : null;
    },
    getDecodedIDToken() {
      requireInit();
      return context ? context.decoded : null;
    },
    getContext() {
      return context ? context.context : null;
    },
    getAccessToken: () => null,
    closeWindow() {
      if (inWebView) toPhone({ type: "close" });
    },
    async sendMessages(messages) {
      requireInit();
      if (!inWebView) throw new LiffError("FORBIDDEN", "sendMessages works only inside LINE");
      await ask({ type: "sendMessages", messages });
    },
    openWindow(params) {
      if (!params || typeof params.url !== "string") throw new LiffError("INVALID_ARGUMENT", "url is required");
      if (inWebView) toPhone({ type: "openWindow", url: params.url, external: Boolean(params.external) });
      else window.open(params.url, "_blank", "noopener");
    },
  };

  window.liff = liff;
})();

// Embeddable chat widget: <script src="https://HOST/widget.js" data-title="Ask" async></script>
// Adds a floating button that opens the chat page of HOST in a panel (an iframe, inside a shadow root so the
// host page's styles and the widget's cannot clash). Options (data- attributes on the script tag):
//   data-title      the button's label (default "Clinical assistant")
//   data-position   "right" (default) or "left"
//   data-open       "true" to start open
//   data-api-key    an API key, when the server needs one (handed to the panel in the URL fragment, never sent)
//   data-token-url  instead of a key: a URL on this page's own origin that answers GET (with the page's cookies)
//                   with JSON {"token": "...", "expires_in": SECONDS}, e.g. from your server's call to
//                   POST HOST/v1/widget/tokens with your real key. The widget fetches a token before the panel
//                   opens, again shortly before it expires and whenever the panel gets a 401, and hands each
//                   one to the panel (the first in the URL fragment, as data-api-key; later ones by postMessage
//                   to HOST's origin only).
// Keyboard: opening moves focus into the panel (its question box), Escape (also inside the panel) and Close
// close it and return focus to the button.
"use strict";

(() => {
  const script = document.currentScript;
  if (!script || window.ClinicalAssistantWidget) return;
  const origin = new URL(script.src, location.href).origin;
  const opt = (name, fallback) => script.getAttribute("data-" + name) || fallback;
  const side = opt("position", "right") === "left" ? "left" : "right";
  const key = opt("api-key", "");
  let tokenUrl = opt("token-url", "");
  if (tokenUrl && new URL(tokenUrl, location.href).origin !== location.origin) {
    console.warn("clinical assistant widget: data-token-url must be on this page's origin; ignored");
    tokenUrl = "";
  }

  const host = document.createElement("div");
  host.id = "clinical-assistant-widget";
  const root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = `
    :host { all: initial; }
    .launcher { position: fixed; ${side}: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 999px;
      background: #1f5fbf; color: #fff; padding: 12px 18px; font: 600 15px system-ui, sans-serif; cursor: pointer;
      box-shadow: 0 6px 18px rgba(20, 30, 50, 0.25); }
    .launcher:focus-visible, .close:focus-visible { outline: 3px solid #9cc0f5; outline-offset: 2px; }
    .panel { position: fixed; ${side}: 20px; bottom: 80px; z-index: 2147483000; width: 400px; height: min(640px, calc(100vh - 110px));
      border-radius: 14px; overflow: hidden; background: #fff; box-shadow: 0 12px 40px rgba(20, 30, 50, 0.3);
      display: flex; flex-direction: column; }
    .panel[hidden] { display: none; }
    .head { display: flex; justify-content: space-between; align-items: center; padding: 6px 10px;
      background: #1f5fbf; color: #fff; font: 600 14px system-ui, sans-serif; }
    .close { border: 0; background: transparent; color: #fff; font: 600 14px system-ui, sans-serif; cursor: pointer; }
    iframe { border: 0; width: 100%; flex: 1; }
    @media (max-width: 480px) { .panel { left: 0; right: 0; bottom: 0; width: 100%; height: 100%; border-radius: 0; } }
  `;
  const launcher = document.createElement("button");
  launcher.className = "launcher";
  launcher.type = "button";
  launcher.textContent = opt("title", "Clinical assistant");
  launcher.setAttribute("aria-expanded", "false");
  const panel = document.createElement("div");
  panel.className = "panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", launcher.textContent);
  const head = document.createElement("div");
  head.className = "head";
  const title = document.createElement("span");
  title.textContent = launcher.textContent;
  const close = document.createElement("button");
  close.className = "close";
  close.type = "button";
  close.textContent = "Close";
  head.append(title, close);
  panel.append(head);
  root.append(style, panel, launcher);

  // ---------------------------------------------------------------- short-lived tokens (data-token-url)
  const tokens = { token: "", expires: 0, timer: 0, pending: null };

  function fetchToken() {
    if (tokens.pending) return tokens.pending;
    tokens.pending = (async () => {
      try {
        const response = await fetch(tokenUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(response.status + " " + response.statusText);
        const body = await response.json();
        const life = Number(body.expires_in);
        if (typeof body.token !== "string" || !body.token || !(life > 0)) throw new Error("no token in the answer");
        tokens.token = body.token;
        tokens.expires = Date.now() + life * 1000;
        clearTimeout(tokens.timer);  // renew shortly before it expires: a fifth of its life early, at most a minute
        tokens.timer = setTimeout(renew, Math.max(1, life - Math.min(60, life / 5)) * 1000);
        return tokens.token;
      } catch (err) {
        console.warn("clinical assistant widget: could not fetch a token from data-token-url:", err.message);
        return null;
      } finally {
        tokens.pending = null;
      }
    })();
    return tokens.pending;
  }

  function toPanel(message) {
    if (frame && frame.contentWindow) frame.contentWindow.postMessage({ source: "clinical-assistant-widget", ...message }, origin);
  }

  async function renew() {
    const token = await fetchToken();
    toPanel({ type: "token", token });
  }

  // ---------------------------------------------------------------- the panel
  let frame = null;
  let loaded = false;
  let wantFocus = false;  // focus goes into the panel's question box once its page has loaded

  function focusPanel() {
    wantFocus = !frame || !loaded;
    if (wantFocus) return close.focus();
    frame.focus();
    toPanel({ type: "focus" });
  }

  function addFrame(credential) {
    frame = document.createElement("iframe");
    frame.title = launcher.textContent;
    const fragment = credential ? "#key=" + encodeURIComponent(credential) + (tokenUrl ? "&renew=1" : "") : "";
    frame.src = origin + "/?embed=1" + fragment;
    frame.addEventListener("load", () => {
      loaded = true;
      if (wantFocus && !panel.hidden && root.activeElement === close) focusPanel();
    });
    panel.append(frame);
  }

  let starting = null;
  function open(focus = true) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (!frame && !starting) {
      if (!tokenUrl) addFrame(key);
      else starting = fetchToken().then((token) => { starting = null; addFrame(token || ""); });
    } else if (frame && tokenUrl && Date.now() > tokens.expires - 5000) {
      renew();  // it went stale while the page sat in the background
    }
    if (focus) focusPanel();
  }
  function hide() {
    if (panel.hidden) return;
    const inside = document.activeElement === host;  // focus in the widget (its iframe included) goes back to the button
    panel.hidden = true;
    wantFocus = false;
    launcher.setAttribute("aria-expanded", "false");
    if (inside) launcher.focus();
  }
  launcher.addEventListener("click", () => (panel.hidden ? open() : hide()));
  close.addEventListener("click", hide);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") hide(); });
  // the panel's page: Escape inside it closes the panel; a 401 asks for a fresh token
  window.addEventListener("message", (e) => {
    const m = e.data;
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin || !m || m.source !== "clinical-assistant") return;
    if (m.type === "close") hide();
    if (m.type === "token-needed" && tokenUrl) renew();
  });

  (document.body || document.documentElement).append(host);
  window.ClinicalAssistantWidget = { open: () => open(), close: hide, toggle: () => (panel.hidden ? open() : hide()) };
  if (opt("open", "") === "true") open(false);  // open on arrival, but not taking focus from the host page
})();

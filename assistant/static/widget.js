// Embeddable chat widget: <script src="https://HOST/widget.js" data-title="Ask" async></script>
// Adds a floating button that opens the chat page of HOST in a panel (an iframe, inside a shadow root so the
// host page's styles and the widget's cannot clash). Options (data- attributes on the script tag):
//   data-title     the button's label (default "Clinical assistant")
//   data-position  "right" (default) or "left"
//   data-open      "true" to start open
//   data-api-key   an API key, when the server needs one (handed to the panel in the URL fragment, never sent)
"use strict";

(() => {
  const script = document.currentScript;
  if (!script || window.ClinicalAssistantWidget) return;
  const origin = new URL(script.src, location.href).origin;
  const opt = (name, fallback) => script.getAttribute("data-" + name) || fallback;
  const side = opt("position", "right") === "left" ? "left" : "right";
  const key = opt("api-key", "");

  const host = document.createElement("div");
  host.id = "clinical-assistant-widget";
  const root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = `
    :host { all: initial; }
    .launcher { position: fixed; ${side}: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 999px;
      background: #1f5fbf; color: #fff; padding: 12px 18px; font: 600 15px system-ui, sans-serif; cursor: pointer;
      box-shadow: 0 6px 18px rgba(20, 30, 50, 0.25); }
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

  let frame = null;
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = launcher.textContent;
      frame.src = origin + "/?embed=1" + (key ? "#key=" + encodeURIComponent(key) : "");
      panel.append(frame);
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
  }
  function hide() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
  }
  launcher.addEventListener("click", () => (panel.hidden ? open() : hide()));
  close.addEventListener("click", hide);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") hide(); });

  (document.body || document.documentElement).append(host);
  window.ClinicalAssistantWidget = { open, close: hide, toggle: () => (panel.hidden ? open() : hide()) };
  if (opt("open", "") === "true") open();
})();

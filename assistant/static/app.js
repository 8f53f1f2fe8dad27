// The chat page: asks /v1/ask/stream, renders the streamed answer, opens cited passages from /v1/sources/
// (sources.js). Every piece of text from the server is inserted with textContent, never as HTML.
//
// Announcements: only the answer being written is a live region (its sentences, one turn at a time); a
// per-turn status (role=status) says "Searching…" or what went wrong; references, follow-ups and older turns
// are not live. A question typed while an answer is being written is kept in the box and sent when it finishes.
// Embedded by widget.js (?embed=1) the page talks to its host with postMessage: Escape closes the panel,
// the host moves focus in, and a host that renews short-lived tokens (#key=TOKEN&renew=1) is asked for a fresh
// one after a 401.
import { $, BADGES, api, auth, el, errorOf, remember, state } from "./dom.js";
import { closeSource, placeSheet, referenceItem, showSource, sourceOpen, wireSources } from "./sources.js";

const welcome = $("welcome").cloneNode(true);
let turns = 0;

function scrollToEnd() {
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  window.scrollTo({ top: document.body.scrollHeight, behavior: still ? "auto" : "smooth" });
}

// ------------------------------------------------------------------ filters and audience
function filters() {
  const types = [...document.querySelectorAll("input[name=source_type]:checked")].map((i) => i.value);
  const f = {};
  if (types.length) f.source_types = types;
  const min = parseInt($("year-min").value, 10), max = parseInt($("year-max").value, 10);
  if (min >= 1800 && min <= 2200) f.year_min = min;
  if (max >= 1800 && max <= 2200) f.year_max = max;
  return Object.keys(f).length ? f : null;
}

function describeFilters() {
  const f = filters();
  const parts = [];
  if (f && f.source_types) parts.push(f.source_types.map((t) => BADGES[t] || t).join(", "));
  if (f && (f.year_min || f.year_max)) parts.push((f.year_min || "…") + "–" + (f.year_max || "…"));
  const crossed = f && f.year_min && f.year_max && f.year_min > f.year_max;
  $("filter-summary").textContent = crossed
    ? "The 'from' year is after the 'to' year: no source can match. Swap them."
    : parts.length ? "Only: " + parts.join("; ") : "No filters: all sources.";
  $("filter-summary").className = crossed ? "error" : "muted";
  $("toggle-filters").textContent = parts.length ? "Filters (" + parts.length + ")" : "Filters";
}

function chooseAudience(value) {
  state.audience = value === "patient" ? "patient" : "clinician";
  remember(localStorage, "assistant-audience", state.audience);
}

// ------------------------------------------------------------------ server-sent events over fetch
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      yield { name, data: data ? JSON.parse(data) : null };
    }
  }
}

// ------------------------------------------------------------------ one turn
class Turn {
  constructor(question) {
    this.question = question;
    this.node = el("article", "turn");
    this.node.append(el("h2", "bubble user", question));  // each turn is headed by its question
    this.answer = el("div", "answer");
    this.status = el("p", "status muted", "Searching the sources…");
    this.status.setAttribute("role", "status");
    this.body = el("div", "answer-text");
    this.body.setAttribute("aria-live", "polite");  // the answer being written, and nothing else, is announced
    this.answer.append(this.status, this.body);
    this.node.append(this.answer);
    this.references = new Map();
    this.section = null;
    this.list = null;
  }

  meta(data) {
    if (data.conversation_id) state.conversationId = data.conversation_id;
    this.status.textContent = "";
    this.status.className = "status";
    const readAs = data.read_as || data.resolved_query;
    const notes = data.understood || [];
    if (!readAs && !notes.length) return;
    const toggle = el("button", "readas-toggle", "How this was read");
    const detail = el("div", "readas-detail");
    detail.id = "read-as-" + ++turns;
    detail.hidden = true;
    if (readAs) detail.append(el("p", "", "Read as: " + readAs));
    if (notes.length) detail.append(el("p", "", "Understood: " + notes.join("; ")));
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", detail.id);
    toggle.addEventListener("click", () => {
      detail.hidden = !detail.hidden;
      toggle.setAttribute("aria-expanded", String(!detail.hidden));
    });
    const row = el("div", "readas");
    row.append(toggle, detail);
    this.status.after(row);
  }

  abstained(data) {
    this.body.append(el("p", "abstained", data.text));
  }

  sentence(data) {
    const line = el(data.index === 0 ? "p" : "li", data.index === 0 ? "lead" : "");
    line.append(document.createTextNode(data.text + " "));
    for (const n of data.citations) line.append(this.citeButton(n, data.text));
    if (data.index === 0) {
      this.body.append(line);
      return;
    }
    if (data.section && data.section !== this.section) {
      this.section = data.section;
      this.body.append(el("h3", "", data.section));
      this.list = null;
    }
    if (!this.list) this.body.append((this.list = el("ul", "points")));
    this.list.append(line);
  }

  citeButton(n, sentence) {
    const b = el("button", "cite", n);
    b.type = "button";
    b.setAttribute("aria-label", "Show source " + n);
    b.addEventListener("click", () => showSource(this.references.get(n), sentence, b));
    return b;
  }

  referencesEvent(data) {
    if (!data.references.length) return;
    const box = el("section", "references");
    box.append(el("h3", "", "References"));
    const ol = el("ol");
    for (const r of data.references) {
      this.references.set(r.n, r);
      ol.append(referenceItem(r));
    }
    box.append(ol);
    if (data.last_updated) {
      const note = el("p", "dated", "Last updated: " + data.last_updated + " (the newest cited source)");
      if (data.outdated_sources && data.outdated_sources.length) {
        const which = data.outdated_sources.map((n) => "[" + n + "]").join(", ");
        note.append(el("span", "outdated", " · Older sources: " + which + ", check for a newer version"));
      }
      box.append(note);
    }
    this.answer.append(box);
  }

  followups(data) {
    if (!data.suggested_followups.length) return;
    const box = el("div", "followups");
    box.append(el("span", "muted", "Follow up:"));
    for (const q of data.suggested_followups) {
      const b = el("button", "followup", q);
      b.type = "button";
      b.addEventListener("click", () => ask(q));
      box.append(b);
    }
    this.answer.append(box);
  }

  disclaimer(data) {
    this.answer.append(el("p", "disclaimer", data.disclaimer));
  }

  finish() {
    this.body.removeAttribute("aria-live");
  }

  complete() {
    this.finish();
    this.node.dataset.complete = "true";
  }

  retryButton() {
    const b = el("button", "retry", "Try again");
    b.type = "button";
    b.addEventListener("click", () => {
      if (state.busy) return ask(this.question);  // queued behind the answer being written
      this.node.remove();
      ask(this.question);
    });
    return b;
  }

  // The stream ended (or broke) before its `done` event: what arrived is shown, marked as incomplete.
  cutOff() {
    this.finish();
    this.node.dataset.incomplete = "true";
    this.node.classList.add("incomplete");
    const notice = el("div", "notice");
    notice.setAttribute("role", "alert");
    notice.append(el("p", "", "The answer was cut off before it finished, so it may be incomplete. Please try again."),
      this.retryButton());
    this.answer.append(notice);
  }

  failed(message, retry) {
    this.finish();
    this.status.textContent = message;
    this.status.className = "status error";
    if (retry) this.status.after(this.retryButton());
  }
}

// ------------------------------------------------------------------ asking
function showQueued(on) {
  state.queued = on;
  $("queued").textContent = on ? "Your question will be sent when this answer finishes." : "";
}

// Asked while an answer is being written: the composer keeps the question and sends it when that finishes.
function queue(question) {
  const box = $("question");
  if (!box.value.trim()) box.value = question;
  else if (box.value.trim() !== question) return;  // the box holds the person's own words: never overwrite them
  showQueued(true);
}

function sendQueued(authFailed) {
  if (!state.queued) return;
  showQueued(false);
  const box = $("question");
  if (authFailed || !box.value.trim()) return;  // it stays in the box, to send once there is a key
  const q = box.value;
  box.value = "";
  ask(q);
}

async function ask(question) {
  question = question.trim();
  if (!question) return;
  if (state.busy) return queue(question);
  state.busy = true;
  const shown = $("welcome");
  if (shown) shown.remove();
  const turn = new Turn(question);
  $("log").append(turn.node);
  scrollToEnd();
  const payload = { question, audience: state.audience };
  if (state.conversationId) payload.conversation_id = state.conversationId;
  const f = filters();
  if (f) payload.filters = f;
  let authFailed = false;
  try {
    const response = await api("/v1/ask/stream", { method: "POST", body: JSON.stringify(payload) });
    if (!response.ok) {
      authFailed = response.status === 401;
      if (authFailed && !state.hostTokens) showKeyPanel();
      if (response.status === 404 && state.conversationId) state.conversationId = null;
      turn.failed(await errorOf(response), response.status >= 500 || response.status === 429);
      return;
    }
    const handlers = { meta: "meta", abstained: "abstained", sentence: "sentence", references: "referencesEvent",
      followups: "followups", disclaimer: "disclaimer" };
    let done = false;
    try {
      for await (const e of events(response)) {
        if (e.name === "done") done = true;
        else if (handlers[e.name]) turn[handlers[e.name]](e.data);
      }
    } catch (_) {
      done = false;  // the connection broke mid-answer: shown as cut off, below
    }
    if (done) turn.complete();
    else turn.cutOff();
  } catch (err) {
    turn.failed("The request failed: " + err.message, true);
  } finally {
    state.busy = false;
    scrollToEnd();
    sendQueued(authFailed);
  }
}

function showKeyPanel() {
  $("key-panel").hidden = false;
  $("api-key").focus();
}

// ------------------------------------------------------------------ about these sources
async function showAbout() {
  const panel = $("about");
  panel.hidden = !panel.hidden;
  $("toggle-about").setAttribute("aria-expanded", String(!panel.hidden));
  placeSheet();
  if (panel.hidden || panel.dataset.loaded) return;
  try {
    const response = await api("/v1/library/coverage");
    if (!response.ok) throw new Error(await errorOf(response));
    const c = await response.json();
    const kinds = Object.entries(c.source_types).map(([k, n]) => n + " " + (BADGES[k] || k).toLowerCase()).join(", ");
    const years = c.years ? ", published " + c.years.min + "–" + c.years.max : "";
    $("about-summary").textContent = c.documents + " sources (" + kinds + ") on " + c.topics.length + " topics" + years +
      (c.last_updated ? "; newest " + c.last_updated : "") + ".";
    const rows = c.topics.map((t) => {
      const tr = el("tr");
      tr.append(el("td", "", t.topic), el("td", "", t.documents),
        el("td", "", t.source_types.map((k) => BADGES[k] || k).join(", ")), el("td", "", t.newest || ""));
      return tr;
    });
    $("about-topics").tBodies[0].replaceChildren(...rows);
    panel.dataset.loaded = "1";
    placeSheet();
  } catch (err) {
    $("about-summary").textContent = "Could not load what the sources cover: " + err.message;
  }
}

function newConversation() {
  state.conversationId = null;
  $("log").replaceChildren(welcome.cloneNode(true));
  closeSource();
  $("question").focus();
}

// ------------------------------------------------------------------ inside the widget's panel
function wireEmbed() {
  const toHost = (type) => window.parent.postMessage({ source: "clinical-assistant", type }, "*");
  let waiting = [];
  const settle = (token) => {
    const them = waiting;
    waiting = [];
    them.forEach((resolve) => resolve(token));
  };
  window.addEventListener("message", (e) => {
    const m = e.data;
    if (e.source !== window.parent || !m || m.source !== "clinical-assistant-widget") return;
    if (m.type === "focus") $("question").focus();
    if (m.type === "token") {
      if (typeof m.token === "string" && m.token) {
        state.key = m.token;
        remember(sessionStorage, "assistant-key", m.token);
      }
      settle(typeof m.token === "string" && m.token ? m.token : null);
    }
  });
  if (state.hostTokens) {
    auth.renew = () => new Promise((resolve) => {
      waiting.push(resolve);
      setTimeout(() => resolve(null), 10000);  // the host did not answer: the 401 stands
      toHost("token-needed");
    });
  }
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !e.defaultPrevented && !sourceOpen()) toHost("close");
  });
}

function wire() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("key")) {
    state.key = hash.get("key");
    state.hostTokens = hash.get("renew") === "1";
    remember(sessionStorage, "assistant-key", state.key);
    history.replaceState(null, "", location.pathname + location.search);
  }
  if (new URLSearchParams(location.search).get("embed") === "1") {
    document.body.classList.add("embed");
    if (window.parent !== window) wireEmbed();
  }
  const box = $("question");
  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!box.value.trim()) return;
    if (state.busy) return showQueued(true);  // kept in the box; sent when the answer being written finishes
    const q = box.value;
    box.value = "";
    ask(q);
  });
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  box.addEventListener("input", () => { if (state.queued && !box.value.trim()) showQueued(false); });
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.key = $("api-key").value.trim();
    remember(sessionStorage, "assistant-key", state.key);
    $("key-panel").hidden = true;
    placeSheet();
  });
  $("toggle-filters").addEventListener("click", () => {
    const panel = $("filters");
    panel.hidden = !panel.hidden;
    $("toggle-filters").setAttribute("aria-expanded", String(!panel.hidden));
    placeSheet();
  });
  $("toggle-about").addEventListener("click", showAbout);
  for (const radio of document.querySelectorAll("input[name=audience]")) {
    radio.checked = radio.value === state.audience;
    radio.addEventListener("change", () => { if (radio.checked) chooseAudience(radio.value); });
  }
  $("filters").addEventListener("change", describeFilters);
  $("filters").addEventListener("input", describeFilters);  // the summary follows typing, not only blur
  $("new-conversation").addEventListener("click", newConversation);
  wireSources();
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && closeSource()) e.preventDefault();  // the sheet first; then (embedded) the panel
  });
  describeFilters();
  document.body.dataset.ready = "true";  // handlers bound: typing now reaches them (tests wait for it)
}

wire();

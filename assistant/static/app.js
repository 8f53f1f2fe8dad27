// The chat page: asks /v1/ask/stream, renders the streamed answer, opens cited passages from /v1/sources/.
// Every piece of text from the server is inserted with textContent, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = { conversationId: null, busy: false, key: sessionStorage.getItem("assistant-key") || "" };
  const welcome = $("welcome").cloneNode(true);
  const BADGES = { guideline: "Guideline", research: "Research", review: "Review", "patient-information": "Patient information" };
  const REVIEW = { approved: "Approved", under_review: "Under review", submitted: "Submitted", retired: "Retired" };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeLink(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  function headers() {
    const h = { "Content-Type": "application/json", Accept: "text/event-stream, application/json" };
    if (state.key) h.Authorization = "Bearer " + state.key;
    return h;
  }

  function scrollToEnd() {
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    window.scrollTo({ top: document.body.scrollHeight, behavior: still ? "auto" : "smooth" });
  }

  // ------------------------------------------------------------------ filters
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

  async function errorOf(response) {
    try {
      const body = await response.json();
      return body.detail || body.error || response.statusText;
    } catch (_) {
      return response.status + " " + response.statusText;
    }
  }

  // ------------------------------------------------------------------ one turn
  class Turn {
    constructor(question) {
      this.node = el("article", "turn");
      this.node.append(el("p", "bubble user", question));
      this.answer = el("div", "answer");
      this.status = el("p", "status muted", "Searching the sources…");
      this.answer.append(this.status);
      this.node.append(this.answer);
      this.references = new Map();
      this.section = null;
      this.list = null;
    }

    meta(data) {
      if (data.conversation_id) state.conversationId = data.conversation_id;
      const read = data.understood && data.understood.length ? " (read as: " + data.understood.join("; ") + ")" : "";
      this.status.textContent = "Searched for: " + data.resolved_query + read;
      this.status.className = "status searched";
    }

    abstained(data) {
      this.answer.append(el("p", "abstained", data.text));
    }

    sentence(data) {
      const line = el(data.index === 0 ? "p" : "li", data.index === 0 ? "lead" : "");
      line.append(document.createTextNode(data.text + " "));
      for (const n of data.citations) line.append(this.citeButton(n, data.text));
      if (data.index === 0) {
        this.answer.append(line);
        return;
      }
      if (data.section && data.section !== this.section) {
        this.section = data.section;
        this.answer.append(el("h3", "", data.section));
        this.list = null;
      }
      if (!this.list) this.answer.append((this.list = el("ul", "points")));
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

    failed(message) {
      this.status.textContent = message;
      this.status.className = "status error";
    }
  }

  function badge(sourceType) {
    const kind = BADGES[sourceType] ? sourceType : "other";
    return el("span", "badge " + kind, BADGES[sourceType] || "Other");
  }

  function referenceItem(r) {
    const li = el("li");
    li.value = r.n;
    li.append(badge(r.source_type), document.createTextNode(" "));
    const link = safeLink(r.url);
    const title = el(link ? "a" : "span", "ref-title", r.title);
    if (link) {
      title.href = link;
      title.target = "_blank";
      title.rel = "noopener noreferrer";
    }
    li.append(title);
    const where = [r.publisher, r.year].filter(Boolean).join(", ");
    if (where) li.append(el("span", "muted", " — " + where));
    if (r.page) li.append(el("span", "muted", ", p. " + r.page));
    if (r.last_updated) li.append(el("span", "muted", " · updated " + r.last_updated));
    if (r.review_status) {
      const label = REVIEW[r.review_status] || r.review_status;
      const chip = el("span", "review " + (REVIEW[r.review_status] ? r.review_status : "other"), label);
      if (r.reviewed_by) chip.title = "Reviewed by " + r.reviewed_by + (r.last_reviewed ? ", " + r.last_reviewed : "");
      li.append(document.createTextNode(" "), chip);
    }
    if (r.outdated) li.append(document.createTextNode(" "), el("span", "review outdated", "Older source"));
    return li;
  }

  // ------------------------------------------------------------------ the source panel
  async function fetchSource(passageId) {
    const response = await fetch("/v1/sources/" + encodeURIComponent(passageId), { headers: headers() });
    if (!response.ok) throw new Error(await errorOf(response));
    return response.json();
  }

  function highlighted(text, sentence) {
    const p = el("blockquote", "passage");
    const at = sentence ? text.indexOf(sentence) : -1;
    if (at < 0) {
      p.textContent = text;
      return p;
    }
    p.append(document.createTextNode(text.slice(0, at)), el("mark", "", sentence),
      document.createTextNode(text.slice(at + sentence.length)));
    return p;
  }

  async function showSource(ref, sentence, button) {
    const body = $("source-body");
    body.replaceChildren(el("p", "muted", "Loading the passage…"));
    $("source-title").textContent = ref ? "Source " + ref.n : "Source";
    $("source-panel").hidden = false;
    document.body.classList.add("with-source");
    document.querySelectorAll(".cite.active").forEach((b) => b.classList.remove("active"));
    if (button) button.classList.add("active");
    if (!ref) {
      body.replaceChildren(el("p", "error", "The reference list has not arrived yet."));
      return;
    }
    try {
      const ids = (ref.passage_ids && ref.passage_ids.length ? ref.passage_ids : [ref.passage_id]).slice(0, 4);
      const sources = await Promise.all(ids.map(fetchSource));
      const source = sources.find((s) => sentence && s.text.includes(sentence)) || sources[0];
      renderSource(body, source, sentence);
    } catch (err) {
      body.replaceChildren(el("p", "error", "Could not load the passage: " + err.message));
    }
  }

  function renderSource(body, source, sentence) {
    const doc = source.document;
    const head = el("div", "source-doc");
    head.append(badge(doc.source_type), document.createTextNode(" "), el("strong", "", doc.title));
    const where = [doc.publisher, doc.year].filter(Boolean).join(", ");
    const parts = [head];
    if (where) parts.push(el("p", "muted", where));
    if (source.section) parts.push(el("p", "section-name", source.section));
    parts.push(highlighted(source.text, sentence));
    const link = safeLink(doc.link);
    if (link) {
      const a = el("a", "open-source", "Open the original source");
      a.href = link;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      parts.push(a);
    }
    if (source.neighbours.length) {
      const more = el("details", "context");
      more.append(el("summary", "", "Surrounding passages"));
      for (const n of source.neighbours) more.append(el("p", "neighbour", (n.section ? n.section + ": " : "") + n.text));
      parts.push(more);
    }
    body.replaceChildren(...parts);
  }

  // ------------------------------------------------------------------ asking
  async function ask(question) {
    question = question.trim();
    if (!question || state.busy) return;
    state.busy = true;
    $("send").disabled = true;
    const shown = $("welcome");
    if (shown) shown.remove();
    const turn = new Turn(question);
    $("log").append(turn.node);
    scrollToEnd();
    const payload = { question };
    if (state.conversationId) payload.conversation_id = state.conversationId;
    const f = filters();
    if (f) payload.filters = f;
    try {
      const response = await fetch("/v1/ask/stream", { method: "POST", headers: headers(), body: JSON.stringify(payload) });
      if (!response.ok) {
        if (response.status === 401) showKeyPanel();
        if (response.status === 404 && state.conversationId) state.conversationId = null;
        turn.failed(await errorOf(response));
        return;
      }
      const handlers = { meta: "meta", abstained: "abstained", sentence: "sentence", references: "referencesEvent",
        followups: "followups", disclaimer: "disclaimer" };
      for await (const e of events(response)) {
        if (handlers[e.name]) turn[handlers[e.name]](e.data);
      }
      turn.node.dataset.complete = "true";
    } catch (err) {
      turn.failed("The request failed: " + err.message);
    } finally {
      state.busy = false;
      $("send").disabled = false;
      scrollToEnd();
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
    if (panel.hidden || panel.dataset.loaded) return;
    try {
      const response = await fetch("/v1/library/coverage", { headers: headers() });
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
    } catch (err) {
      $("about-summary").textContent = "Could not load what the sources cover: " + err.message;
    }
  }

  function closeSource() {
    $("source-panel").hidden = true;
    document.body.classList.remove("with-source");
  }

  function newConversation() {
    state.conversationId = null;
    $("log").replaceChildren(welcome.cloneNode(true));
    closeSource();
    $("question").focus();
  }

  function wire() {
    const hashKey = new URLSearchParams(location.hash.slice(1)).get("key");
    if (hashKey) {
      state.key = hashKey;
      sessionStorage.setItem("assistant-key", hashKey);
      history.replaceState(null, "", location.pathname + location.search);
    }
    if (new URLSearchParams(location.search).get("embed") === "1") document.body.classList.add("embed");
    $("ask-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const q = $("question").value;
      $("question").value = "";
      ask(q);
    });
    $("question").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        $("ask-form").requestSubmit();
      }
    });
    $("key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      state.key = $("api-key").value.trim();
      sessionStorage.setItem("assistant-key", state.key);
      $("key-panel").hidden = true;
    });
    $("toggle-filters").addEventListener("click", () => {
      const panel = $("filters");
      panel.hidden = !panel.hidden;
      $("toggle-filters").setAttribute("aria-expanded", String(!panel.hidden));
    });
    $("toggle-about").addEventListener("click", showAbout);
    $("filters").addEventListener("change", describeFilters);
    $("filters").addEventListener("input", describeFilters);  // the summary follows typing, not only blur
    $("new-conversation").addEventListener("click", newConversation);
    $("close-source").addEventListener("click", closeSource);
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeSource(); });
    describeFilters();
  }

  wire();
})();

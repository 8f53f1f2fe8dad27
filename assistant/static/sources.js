// The chat page's sources: the reference list of an answer, and the source sheet (a dialog) that shows a cited
// passage with the cited sentence highlighted. The sheet never covers the top bar or an open panel (filters,
// about): below 80rem it starts under them, and the highlighted sentence is scrolled into its visible part.
import { $, REVIEW, api, badge, el, errorOf, isPhone, safeLink } from "./dom.js";

export function referenceItem(r) {
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

async function fetchSource(passageId) {
  const response = await api("/v1/sources/" + encodeURIComponent(passageId));
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

let opener = null;  // what had focus when the sheet opened: it gets focus back when the sheet closes
let request = 0;  // the newest showSource call: an older one's late answer is not shown

export const sourceOpen = () => !$("source-panel").hidden;

export async function showSource(ref, sentence, button) {
  const sheet = $("source-panel"), body = $("source-body");
  const mine = ++request;
  if (sheet.hidden) opener = button || document.activeElement;
  body.replaceChildren(el("p", "muted", "Loading the passage…"));
  $("source-title").textContent = ref ? "Source " + ref.n : "Source";
  sheet.hidden = false;
  document.body.classList.add("with-source");
  placeSheet();
  $("source-title").focus({ preventScroll: true });
  document.querySelectorAll(".cite.active").forEach((b) => b.classList.remove("active"));
  if (button) button.classList.add("active");
  if (!ref) {
    body.replaceChildren(el("p", "error", "The reference list has not arrived yet."));
    return;
  }
  try {
    const ids = (ref.passage_ids && ref.passage_ids.length ? ref.passage_ids : [ref.passage_id]).slice(0, 4);
    const sources = await Promise.all(ids.map(fetchSource));
    if (mine !== request) return;
    const source = sources.find((s) => sentence && s.text.includes(sentence)) || sources[0];
    renderSource(body, source, sentence);
    revealMark();
  } catch (err) {
    if (mine === request) body.replaceChildren(el("p", "error", "Could not load the passage: " + err.message));
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

// The highlighted sentence in the middle of the sheet's visible part (under its sticky head), or its start at
// the top when it is longer than that part.
function revealMark() {
  const sheet = $("source-panel"), mark = sheet.querySelector("mark");
  if (!mark) return;
  const box = sheet.getBoundingClientRect(), m = mark.getBoundingClientRect();
  const top = box.top + sheet.querySelector(".sheet-head").offsetHeight;
  const room = sheet.clientHeight - (top - box.top);
  const offset = m.height >= room ? m.top - top : m.top - top - (room - m.height) / 2;
  sheet.scrollTop += offset;
}

// Below 80rem the sheet overlays the page: it starts under the top bar and under any open panel (filters, about,
// key) that is on screen, and ends above the composer, so those stay visible and usable.
export function placeSheet() {
  const sheet = $("source-panel");
  if (sheet.hidden || window.matchMedia("(min-width: 80rem)").matches) {
    sheet.style.top = sheet.style.bottom = sheet.style.maxHeight = "";
    return;
  }
  let top = 0;
  for (const node of [document.querySelector(".bar"), ...document.querySelectorAll(".panel:not([hidden])")]) {
    const r = node.getBoundingClientRect();
    if (r.bottom > 0 && r.top < window.innerHeight) top = Math.max(top, r.bottom);
  }
  const end = $("ask-form").getBoundingClientRect().top;
  const gap = 8, least = Math.min(160, end);
  // a phone's (and the widget's) sheet rises from the composer to 65% (70%) of the screen at most
  const cap = document.body.classList.contains("embed") ? 0.7 : isPhone() ? 0.65 : 1;
  top = Math.max(top + gap, end - gap - cap * window.innerHeight);
  top = Math.min(top, end - gap - least);  // a sliver of a sheet helps nobody: at least 160px of it
  sheet.style.top = Math.max(0, top) + "px";
  sheet.style.bottom = Math.max(0, window.innerHeight - end + gap) + "px";
  sheet.style.maxHeight = "none";
}

export function closeSource() {
  const sheet = $("source-panel");
  if (sheet.hidden) return false;
  request++;
  sheet.hidden = true;
  document.body.classList.remove("with-source");
  document.querySelectorAll(".cite.active").forEach((b) => b.classList.remove("active"));
  const back = opener && opener.isConnected ? opener : $("question");
  opener = null;
  back.focus({ preventScroll: true });
  return true;
}

export function wireSources() {
  let queued = false;
  const later = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; placeSheet(); });
  };
  window.addEventListener("scroll", later, { passive: true });
  window.addEventListener("resize", later);
  $("close-source").addEventListener("click", closeSource);
}

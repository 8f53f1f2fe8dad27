// Shared by the chat page's modules: the page's state, element helpers, request headers and error text.
// Every piece of text from the server is inserted with textContent, never as HTML.

export const $ = (id) => document.getElementById(id);

function stored(storage, name) {
  try {
    return storage.getItem(name) || "";
  } catch (_) {
    return "";  // storage can be refused (a sandboxed or privacy-restricted frame)
  }
}

export function remember(storage, name, value) {
  try {
    storage.setItem(name, value);
  } catch (_) {
    // not remembered; the page still works for this visit
  }
}

export const state = {
  conversationId: null,
  busy: false,
  queued: false,  // the composer's text is sent when the answer being written finishes
  key: stored(sessionStorage, "assistant-key"),
  hostTokens: false,  // embedded by a widget that renews short-lived tokens for us
  audience: stored(localStorage, "assistant-audience") === "patient" ? "patient" : "clinician",
};

export const BADGES = { guideline: "Guideline", research: "Research", review: "Review", "patient-information": "Patient information" };
export const REVIEW = { approved: "Approved", under_review: "Under review", submitted: "Submitted", retired: "Retired" };

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function safeLink(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

export function headers() {
  const h = { "Content-Type": "application/json", Accept: "text/event-stream, application/json" };
  if (state.key) h.Authorization = "Bearer " + state.key;
  return h;
}

// A request to the API with the page's key. When a widget hands this page short-lived tokens, a 401 asks it
// for a fresh token (auth.renew) and the request is made once more with that.
export const auth = { renew: null };

export async function api(url, init = {}) {
  const go = () => fetch(url, { ...init, headers: { ...headers(), ...(init.headers || {}) } });
  const response = await go();
  if (response.status === 401 && auth.renew && (await auth.renew())) return go();
  return response;
}

export async function errorOf(response) {
  try {
    const body = await response.json();
    return body.detail || body.error || response.statusText;
  } catch (_) {
    return response.status + " " + response.statusText;
  }
}

export function badge(sourceType) {
  const kind = BADGES[sourceType] ? sourceType : "other";
  return el("span", "badge " + kind, BADGES[sourceType] || "Other");
}

export const isPhone = () => window.matchMedia("(max-width: 40rem)").matches;

// hookhouse dashboard behaviour. Everything works without it; it only adds comfort.
"use strict";

// Copy buttons: <button data-copy-target="id">Copy</button> copies the text of #id.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copyTarget);
  if (!source) return;
  const text = source.textContent.trim();
  let copied = true;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (e.g. plain http on a non-localhost host): select the text instead.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    copied = document.execCommand("copy");
  }
  // Never "Copied" unless it was: the text is then selected, for the keyboard.
  const said = copied ? "Copied" : "Selected: press Ctrl+C (⌘C) to copy";
  const status = document.getElementById(button.dataset.copyStatus || "");
  if (status) {
    status.textContent = said;
    status.hidden = false;
  } else {
    button.textContent = copied ? "Copied" : "Selected";
  }
});

// Forms with data-confirm ask before submitting (e.g. Revoke).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Add Integration: show the schema name the integration name gives, as the user types.
// Mirrors store.SchemaName (fold accents, drop . ( ), spaces and - to _, lowercase, keep
// [a-z0-9_]); the server decides, this is only a preview.
function schemaName(display) {
  return display.trim().normalize("NFKD").replace(/\p{Mn}/gu, "").toLowerCase()
    .replace(/[.()]/g, "").replace(/[\s-]/g, "_").replace(/[^a-z0-9_]/g, "");
}

function schemaProblem(name) {
  if (name === "") return "Enter a name that gives a schema name, or use a different schema name.";
  if (name.length > 63) return "Schema names can be at most 63 characters; this one has " + name.length + ".";
  if (!/^[a-z0-9_]+$/.test(name)) return "Schema names may contain only lowercase letters, digits and _.";
  if (!/^[a-z]/.test(name)) return "Schema names must start with a letter (a-z).";
  return "";
}

for (const form of document.querySelectorAll("[data-schema-form]")) {
  const source = form.querySelector("[data-schema-source]");
  const custom = form.querySelector("[data-schema-custom]");
  const preview = form.querySelector("[data-schema-preview]");
  const problem = form.querySelector("[data-schema-problem]");
  const update = () => {
    const typed = custom ? custom.value.trim() : "";
    const name = typed !== "" ? typed : schemaName(source.value);
    preview.textContent = name;
    const msg = source.value.trim() === "" && typed === "" ? "" : schemaProblem(name);
    problem.textContent = msg;
    problem.hidden = msg === "";
  };
  source.addEventListener("input", update);
  if (custom) custom.addEventListener("input", update);
}

// Signature verification: the fields of one scheme (fieldset[data-for-scheme]) show only while
// it is chosen. The server renders them hidden or not for the saved choice; this follows changes.
document.addEventListener("change", (event) => {
  if (!event.target.matches("select[data-scheme-select]")) return;
  for (const fields of event.target.form.querySelectorAll("fieldset[data-for-scheme]")) {
    fields.hidden = fields.dataset.forScheme !== event.target.value;
  }
});

// Filters with data-autosubmit apply as soon as a choice is made (the button still works).
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});

// Live arrivals. A page with [data-live-stream] listens to that Server-Sent Events stream; on
// an "arrival" that says more than the page shows it fetches itself (through the session,
// like a reload) and swaps its [data-live] parts, or all of <main> when the parts differ (the
// first event ends "Waiting for first event"). A hidden tab closes its stream (browsers allow
// only a few connections per host); shown again, it reopens it from what it shows, and the
// stream announces at once what came meanwhile, so each arrival makes one fetch. A stream that
// cannot reopen (the session ended, the integration was deleted) makes the page fetch itself,
// and reload into what the server says.
(() => {
  const marker = document.querySelector("[data-live-stream]");
  if (!marker || !window.EventSource || !window.fetch) return;
  // Marks are "epoch.seq" (handlers' liveMark): shown is the mark of what the page shows (the
  // fetched page's after each swap), wanted the newest an arrival announced. Marks of two
  // epochs (nodes, restarts) cannot be compared: then the page fetches.
  let shown = marker.dataset.liveMark, wanted = shown;
  let source = null, busy = false, again = false;
  const newer = (mark) => {
    const [epoch, seq] = mark.split("."), [shownEpoch, shownSeq] = shown.split(".");
    return epoch !== shownEpoch || Number(seq) > Number(shownSeq);
  };
  const keys = (doc) => [...doc.querySelectorAll("main [data-live]")].map((e) => e.dataset.live).join(",");
  const swap = (doc) => {
    const main = document.querySelector("main"), fresh = doc.querySelector("main");
    if (!main || !fresh) return false;
    if (keys(document) !== keys(doc)) {
      main.replaceChildren(...fresh.childNodes);
      return true;
    }
    for (const part of main.querySelectorAll("[data-live]")) {
      const next = fresh.querySelector(`[data-live="${CSS.escape(part.dataset.live)}"]`);
      const open = [...part.querySelectorAll("details")].map((d) => d.open);
      next.querySelectorAll("details").forEach((d, i) => { if (open[i]) d.open = true; });
      part.replaceWith(next);
    }
    return true;
  };
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const resp = await fetch(location.href, { credentials: "same-origin", headers: { "X-Live-Refresh": "1" } });
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      const mark = doc.querySelector("[data-live-stream]");
      if (resp.redirected || !resp.ok || !swap(doc)) { location.reload(); return; }
      if (mark) shown = mark.dataset.liveMark;
      document.dispatchEvent(new Event("hookhouse:updated"));
    } catch {
      // Offline for a moment: shown is unchanged, so the next arrival, or the stream reopened, tries again.
    } finally {
      busy = false;
      // An arrival during the fetch: fetch again unless the page fetched already shows it.
      if (again) { again = false; if (newer(wanted)) refresh(); }
    }
  };
  const arrival = (event) => {
    if (!newer(event.data)) return;
    wanted = event.data;
    refresh();
  };
  const open = () => {
    if (source || document.hidden) return;
    // The browser reopens a stream that ended with this address, whose mark may be older than
    // what the page shows by then: the arrival announced at once says its mark, and is skipped.
    source = new EventSource(`${marker.dataset.liveStream}?since=${encodeURIComponent(shown)}`);
    source.addEventListener("arrival", arrival);
    source.addEventListener("error", () => {
      if (!source || source.readyState !== EventSource.CLOSED) return;
      // Refused (the session ended, the integration is gone, the node is draining): the fetch
      // reloads into a sign-in or error page; else the stream reopens from what is shown.
      source = null;
      refresh().then(() => setTimeout(open, 2000));
    });
  };
  const close = () => { if (source) { source.close(); source = null; } };
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) close();
    else open();
  });
  window.addEventListener("pagehide", close);
  open();
})();

// Wide tables: a table that overflows its box says so (a hint above it, a fade at the right
// edge until it is scrolled to the end).
function updateScrollCue(wrap) {
  const box = wrap.parentElement;
  const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
  box.classList.toggle("scrolls", scrolls);
  box.classList.toggle("at-end", wrap.scrollLeft + wrap.clientWidth >= wrap.scrollWidth - 1);
  const hint = box.previousElementSibling;
  if (hint && hint.matches("[data-scroll-hint]")) hint.hidden = !scrolls;
}
const updateScrollCues = () => document.querySelectorAll("[data-scroll-cue]").forEach(updateScrollCue);
document.addEventListener("scroll", (event) => {
  if (event.target instanceof Element && event.target.matches("[data-scroll-cue]")) updateScrollCue(event.target);
}, true);
window.addEventListener("resize", updateScrollCues);
document.addEventListener("hookhouse:updated", updateScrollCues);
updateScrollCues();

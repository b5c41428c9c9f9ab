// hookhouse dashboard behaviour. Everything works without it; it only adds comfort.
"use strict";

// Copy buttons: <button data-copy-target="id">Copy</button> copies the text of #id.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copyTarget);
  if (!source) return;
  const text = source.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (e.g. plain http on a non-localhost host): select the text instead.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
  }
  const status = document.getElementById(button.dataset.copyStatus || "");
  if (status) {
    status.textContent = "Copied";
    status.hidden = false;
  }
  button.textContent = "Copied";
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

// Filters with data-autosubmit apply as soon as a choice is made (the button still works).
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});

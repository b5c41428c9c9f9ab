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

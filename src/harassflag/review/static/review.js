// Keyboard shortcuts for the review queue: j/k move, c/d/e decide, x selects for a bulk decision.
// The page works without this script (every decision is a plain form button).
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content;
  const form = document.getElementById("queue-form");
  const announce = document.getElementById("announce");
  if (!csrf || !form) return;
  const KEYS = { c: "confirmed", d: "dismissed", e: "escalated" };
  const LABELS = { confirmed: "harassment", dismissed: "not harassment", escalated: "escalated" };
  let current = 0;
  let busy = false;

  const items = () => Array.from(document.querySelectorAll("article.item"));

  function select(index, focus = true) {
    const all = items();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((el, i) => {
      el.classList.toggle("current", i === current);
      if (i === current) el.setAttribute("aria-current", "true"); else el.removeAttribute("aria-current");
    });
    if (focus) { all[current].focus({ preventScroll: true }); all[current].scrollIntoView({ block: "nearest" }); }
  }

  function say(text) { if (announce) announce.textContent = text; }

  function updateCounts(counts) {
    for (const [status, n] of Object.entries(counts || {})) {
      document.querySelectorAll(`[data-count="${status}"]`).forEach((el) => { el.textContent = String(n); });
    }
    const matching = document.getElementById("matching");
    if (matching) matching.textContent = String(Math.max(0, Number(matching.textContent) - 1));
  }

  async function decide(article, decision) {
    if (busy || !article) return;
    busy = true;
    const base = form.getAttribute("action").replace(/\/review\/items\/bulk-decision$/, "");
    const body = new URLSearchParams({ decision, csrf_token: csrf });
    try {
      const response = await fetch(`${base}/review/items/${article.dataset.id}/decision`, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
      });
      if (!response.ok) { say(`Could not save the decision (${response.status}). Reload the page.`); return; }
      const data = await response.json();
      const index = items().indexOf(article);
      (article.closest("li") || article).remove();
      updateCounts(data.counts);
      say(`Item ${data.id} marked ${LABELS[data.status] || data.status}.`);
      if (items().length) select(index); else window.location.reload();
    } catch (err) {
      say("Network error: the decision was not saved.");
    } finally {
      busy = false;
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]")) return;
    const all = items();
    if (!all.length) return;
    const key = event.key.toLowerCase();
    if (key === "j") { select(current + 1); event.preventDefault(); }
    else if (key === "k") { select(current - 1); event.preventDefault(); }
    else if (key === "x") {
      const box = all[current].querySelector('input[type="checkbox"]');
      if (box) { box.checked = !box.checked; say(box.checked ? "Selected." : "Unselected."); }
      event.preventDefault();
    } else if (KEYS[key]) { decide(all[current], KEYS[key]); event.preventDefault(); }
  });

  // Clicking or tabbing into an item makes it the current one.
  form.addEventListener("focusin", (event) => {
    const article = event.target.closest && event.target.closest("article.item");
    if (article) select(items().indexOf(article), false);
  });
  select(0, false);
})();

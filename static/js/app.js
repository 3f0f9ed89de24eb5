// Progressive enhancements only: every page works without this file.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.value || source.textContent).then(() => {
      button.textContent = "Copied";
    });
  }
});

// A page that shows a secret once (a new API key or signing secret) is the answer to a POST.
// Turning its history entry into a GET of the same address makes a reload fetch the plain
// page (which cannot show the secret) instead of submitting the form again.
if (document.querySelector("[data-shown-once]")) {
  window.history.replaceState(null, "", window.location.href);
}

// Live run progress. Any element with data-progress-url (a run's detail page; on the runs
// list, the newest unfinished run's row) polls that JSON every second and updates its
// [data-field] children in place. Once the run has finished, the page's [data-refresh]
// sections are fetched again and swapped in (errors, stock changes), without a reload.
(() => {
  const COUNTS = ["fetched", "created", "updated", "unchanged", "deleted", "skipped", "failed"];
  const fetchOpts = { credentials: "same-origin", cache: "no-store" };

  const each = (root, name, fn) => {
    root.querySelectorAll(`[data-field="${name}"]`).forEach(fn);
  };
  const setText = (root, name, text) => each(root, name, (el) => { el.textContent = text; });

  function apply(root, p) {
    COUNTS.forEach((name) => setText(root, name, String(p[name])));
    each(root, "label", (el) => {
      el.textContent = p.label || p.status;
      el.className = el.className.replace(/\brun-status-\S+/, `run-status-${p.status}`);
    });
    const text = p.total == null ? `${p.done} records` : `${p.done} of ${p.total} records`;
    setText(root, "progress-text", text);
    each(root, "bar", (bar) => {
      bar.max = Math.max(p.total || 0, p.done, 1);
      bar.value = p.done;
      bar.textContent = text;
    });
    if (p.error) setText(root, "error", p.error);
  }

  async function refresh() {
    const res = await fetch(window.location.href, fetchOpts);
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    document.querySelectorAll("[data-refresh][id]").forEach((el) => {
      const fresh = doc.getElementById(el.id);
      if (!fresh) return;
      const copy = document.importNode(fresh, true);
      el.replaceWith(copy);
      copy.querySelectorAll("[data-progress-url]").forEach(watch);
      if (copy.matches("[data-progress-url]")) watch(copy);
    });
  }

  function watch(root) {
    const url = root.dataset.progressUrl;
    const tick = async () => {
      let p;
      try {
        const res = await fetch(url, { ...fetchOpts, headers: { Accept: "application/json" } });
        if (!res.ok) return; // gone or no longer ours: stop quietly
        p = await res.json();
      } catch (_) {
        window.setTimeout(tick, 1000);
        return;
      }
      apply(root, p);
      if (p.finished) {
        delete root.dataset.progressUrl;
        refresh().catch(() => {});
      } else {
        window.setTimeout(tick, 1000);
      }
    };
    window.setTimeout(tick, 1000);
  }

  document.querySelectorAll("[data-progress-url]").forEach(watch);
})();

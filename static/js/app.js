// Progressive enhancements only: every page works without this file.
"use strict";
document.documentElement.classList.add("js");

// Confirmations, and forms sent once: a form marked data-once ignores a second submit, and
// its button says what is happening ("Testing…") and is disabled until the answer comes.
// The pressed button's name and value are kept in a hidden field, since a disabled button
// is not sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (!form.matches("form[data-once]")) return;
  if (form.dataset.sending === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.sending = "1";
  const pressed = event.submitter;
  if (pressed && pressed.name) {
    const keep = document.createElement("input");
    keep.type = "hidden";
    keep.name = pressed.name;
    keep.value = pressed.value;
    form.appendChild(keep);
  }
  form.querySelectorAll("button[type=submit], button:not([type])").forEach((button) => {
    button.disabled = true;
    if (button === pressed) {
      button.setAttribute("aria-busy", "true");
      if (button.dataset.busyText) button.textContent = button.dataset.busyText;
    }
  });
});
// Coming back to the page (Back button, bfcache): the form can be sent again.
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-once]").forEach((form) => {
    delete form.dataset.sending;
    form.querySelectorAll("button[disabled]").forEach((b) => { b.disabled = false; b.removeAttribute("aria-busy"); });
  });
});

// The connection wizard shows only the chosen auth type's fields; "Create & Test" becomes
// "Create & Connect" for OAuth 2.0, which goes straight to BigCommerce's consent page.
document.querySelectorAll("[data-auth-switch]").forEach((switcher) => {
  const form = switcher.closest("form");
  const main = form && form.querySelector("#create-and-test");
  const original = main ? main.textContent : "";
  const update = () => {
    const chosen = switcher.querySelector("input[type=radio]:checked");
    const kind = chosen ? chosen.value : "";
    form.querySelectorAll("[data-auth-for]").forEach((part) => {
      part.hidden = kind !== "" && !part.dataset.authFor.split(" ").includes(kind);
    });
    if (main && original.startsWith("Create")) {
      main.textContent = kind === "oauth" ? "Create & Connect" : original;
      main.dataset.busyText = kind === "oauth" ? "Connecting…" : "Testing…";
    }
  };
  switcher.addEventListener("change", update);
  update();
});

// The viewer's time zone, the first time: pages show times in the zone chosen on the
// profile page; until one is chosen (<meta name="time-zone-unset">), the browser's zone is
// sent once, and the server keeps it only if still none is chosen. Without this script,
// times are shown in the company's zone, then UTC.
(() => {
  if (!document.querySelector('meta[name="time-zone-unset"]')) return;
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (_) {
    return;
  }
  const token = document.querySelector('meta[name="csrf-token"]');
  if (!zone || !token || window.sessionStorage.getItem("cartbridge-zone-sent") === zone) return;
  window.sessionStorage.setItem("cartbridge-zone-sent", zone);
  fetch("/account/time-zone/detected", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": token.content, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ time_zone: zone }),
  }).catch(() => {});
})();

// On the profile page, a zone not chosen yet is prefilled with the browser's.
document.querySelectorAll("input[data-browser-zone]").forEach((input) => {
  if (input.value) return;
  try {
    input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (_) { /* keep it empty */ }
});

// Stacked tables on narrow screens label each cell with its column's heading.
document.querySelectorAll("main table").forEach((table) => {
  const heads = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent.trim());
  if (!heads.length) return;
  table.querySelectorAll("tbody tr").forEach((tr) => {
    Array.from(tr.children).forEach((cell, i) => {
      if (!cell.dataset.label && heads[i]) cell.dataset.label = heads[i];
    });
  });
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

// A file input marked data-fill="ID" reads the chosen text file into the textarea #ID, so
// a CSV upload is sent as an ordinary (CSRF-checked) form; without this script, paste it.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!input.matches("input[type=file][data-fill]") || !input.files || !input.files[0]) return;
  const target = document.getElementById(input.dataset.fill);
  if (!target) return;
  input.files[0].text().then((text) => {
    target.value = text;
  });
});

// The Seeker's admin pages, enhanced: live numbers over server-sent events,
// relative times kept current, forms checked before they are sent, confirmations,
// actions sent without leaving the page, and a copy button. Every page works
// without this script; it only makes them better.
"use strict";

const SeekAdmin = (() => {
  // Numbers for people: the same rules as seeker/display.py.
  const DASH = "\u2014";
  const SPANS_S = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  // How long to wait before opening a refused live stream again (as its `retry:` says).
  const RECONNECT_MS = 2000;

  function roundHalfEven(x) {
    return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
  }

  function commas(text) {
    const [whole, fraction] = text.split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return fraction === undefined ? grouped : `${grouped}.${fraction}`;
  }

  const fmt = {
    count(n) {
      return commas(String(roundHalfEven(n)));
    },
    rate(keysPerS) {
      if (keysPerS === null || keysPerS === undefined) return DASH;
      const shown = keysPerS < 100 ? commas(keysPerS.toFixed(1)) : fmt.count(keysPerS);
      return `${shown.endsWith(".0") ? shown.slice(0, -2) : shown} keys/s`;
    },
    largest(seconds, most) {
      let left = roundHalfEven(seconds);
      const parts = [];
      for (const [unit, size] of SPANS_S) {
        const whole = Math.floor(left / size);
        left -= whole * size;
        if (whole || parts.length) parts.push([whole, unit]);
      }
      return parts.slice(0, most).filter(([n]) => n);
    },
    duration(seconds) {
      if (seconds === null || seconds === undefined) return DASH;
      const parts = fmt.largest(seconds, 2);
      return parts.length ? parts.map(([n, unit]) => `${n} ${unit}`).join(" ") : "under 1 s";
    },
    ago(at, now) {
      if (!at) return "never";
      const delta = now - at;
      const parts = fmt.largest(Math.abs(delta), 1);
      if (!parts.length) return "just now";
      const [[n, unit]] = parts;
      return delta > 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
    },
    stamp(at) {
      if (!at) return "";
      return `${new Date(at * 1000).toISOString().slice(0, 19).replace("T", " ")} UTC`;
    },
    percent(part, whole) {
      return whole <= 0 ? 100 : Math.floor((part * 100) / whole);
    },
  };

  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

  // Relative times --------------------------------------------------------------

  function refreshTimes() {
    const now = Date.now() / 1000;
    for (const el of document.querySelectorAll("time[data-at]")) {
      const text = fmt.ago(Number(el.dataset.at), now);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  function setTime(el, at) {
    let time = el.querySelector("time[data-at]");
    if (!time) {
      time = document.createElement("time");
      el.replaceChildren(time);
    }
    time.dataset.at = String(at);
    time.dateTime = new Date(at * 1000).toISOString().slice(0, 19) + "Z";
    time.title = fmt.stamp(at);
    time.textContent = fmt.ago(at, Date.now() / 1000);
  }

  // Live updates ----------------------------------------------------------------

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function formatted(el, value) {
    const how = el.dataset.format;
    if (how === "rate") return fmt.rate(value);
    if (how === "duration") return fmt.duration(value);
    return fmt.count(value);
  }

  function updateJob(root, job) {
    const badge = root.querySelector('[data-k="status"]');
    if (badge && badge.textContent !== job.status) {
      badge.textContent = job.status;
      badge.className = `badge badge-${job.status}`;
    }
    const pct = fmt.percent(job.done, job.total);
    const bar = root.querySelector('[data-k="bar"]');
    if (bar) {
      bar.setAttribute("aria-valuenow", String(pct));
      bar.setAttribute(
        "aria-valuetext",
        `${fmt.count(job.done)} of ${fmt.count(job.total)} keys done (${pct}%)`,
      );
      let x = 0;
      for (const part of ["done", "failed", "leased"]) {
        const width = job.total ? Math.round((10000 * job[part]) / job.total) / 10 : 0;
        const rect = bar.querySelector(`[data-seg="${part}"]`);
        rect.setAttribute("x", String(x));
        rect.setAttribute("width", String(width));
        x += width;
      }
    }
    setText(root.querySelector('[data-k="percent"]'), `${pct}%`);
    for (const part of ["done", "failed", "leased", "pending", "total"]) {
      setText(root.querySelector(`[data-k="${part}"]`), fmt.count(job[part]));
    }
    for (const el of root.querySelectorAll('[data-k="rate_keys_per_s"], [data-k="eta_s"]')) {
      setText(el, formatted(el, job[el.dataset.k]));
    }
    for (const form of root.querySelectorAll("form[data-show-when]")) {
      form.hidden = !form.dataset.showWhen.split(" ").includes(job.status);
    }
  }

  function addJobRow(body, job) {
    const template = document.querySelector("template[data-job-row]");
    if (!template) return;
    const row = template.content.firstElementChild.cloneNode(true);
    row.dataset.jobId = job.id;
    for (const el of row.querySelectorAll("[href], [action], [aria-label]")) {
      for (const name of ["href", "action", "aria-label"]) {
        const value = el.getAttribute(name);
        if (value && value.includes("__JOB__")) el.setAttribute(name, value.replace("__JOB__", job.id));
      }
    }
    setText(row.querySelector('[data-k="name"]'), job.name || job.id);
    setTime(row.querySelector("time[data-at]").parentElement, job.created_at);
    body.prepend(row);
    document.querySelector("[data-jobs-wrap]").hidden = false;
    document.querySelector("[data-jobs-empty]").hidden = true;
  }

  function updateGiver(root, giver) {
    const badge = root.querySelector('[data-k="online"]');
    const state = giver.online ? "online" : "offline";
    if (badge && badge.textContent !== state) {
      badge.textContent = state;
      badge.className = `badge badge-${state}`;
    }
    setText(root.querySelector('[data-k="leases"]'), fmt.count(giver.leases));
    const seen = root.querySelector('[data-k="last_seen"]');
    if (seen) setTime(seen, giver.last_seen);
  }

  // A value of the overview by its dotted path ("givers.online").
  const pick = (overview, path) => path.split(".").reduce((value, name) => value?.[name], overview);

  function apply(snapshot) {
    for (const el of document.querySelectorAll("[data-ov]")) {
      setText(el, formatted(el, pick(snapshot.overview, el.dataset.ov)));
    }
    for (const el of document.querySelectorAll("[data-ov-bad]")) {
      el.classList.toggle("stat-bad", pick(snapshot.overview, el.dataset.ovBad) > 0);
    }
    const body = document.querySelector("[data-jobs-body]");
    for (const job of snapshot.jobs) {
      const shown = document.querySelectorAll(`[data-job-id="${CSS.escape(job.id)}"]`);
      // New jobs show up on the first page of jobs only (older pages hold older jobs).
      if (!shown.length && body && body.hasAttribute("data-jobs-first")) addJobRow(body, job);
      for (const root of document.querySelectorAll(`[data-job-id="${CSS.escape(job.id)}"]`)) {
        updateJob(root, job);
      }
    }
    for (const giver of snapshot.givers) {
      for (const root of document.querySelectorAll(`[data-giver-id="${CSS.escape(giver.id)}"]`)) {
        updateGiver(root, giver);
      }
    }
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
  }

  function connect(url) {
    const state = document.querySelector("[data-live-state]");
    const show = (name, text) => {
      if (!state) return;
      state.dataset.state = name;
      setText(state, text);
    };
    const source = new EventSource(url);
    source.addEventListener("open", () => show("live", "Live"));
    source.addEventListener("error", () => {
      show("down", "Reconnecting…");
      // The browser gives up on a stream refused with an error status (503 while no
      // Seeker leads, during a failover): try again here, as it would have.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => connect(url), RECONNECT_MS);
      }
    });
    source.addEventListener("snapshot", (event) => {
      show("live", "Live");
      apply(JSON.parse(event.data));
    });
    window.addEventListener("pagehide", () => source.close());
  }

  // Forms -----------------------------------------------------------------------

  function fieldError(form, input) {
    return form.querySelector(`[data-error-for="${CSS.escape(input.name)}"]`);
  }

  function customValidity(input) {
    let message = "";
    const value = input.value.trim();
    if (value !== "" && input.type === "number" && !Number.isNaN(Number(value))) {
      const number = Number(value);
      if (input.dataset.above !== undefined && !(number > Number(input.dataset.above))) {
        message = `Must be above ${input.dataset.above}.`;
      } else if (input.dataset.below !== undefined && !(number < Number(input.dataset.below))) {
        message = `Must be below ${input.dataset.below}.`;
      }
    }
    const floor = input.dataset.notBelow && document.getElementById(input.dataset.notBelow);
    if (!message && floor && value !== "" && floor.value.trim() !== "" && Number(value) < Number(floor.value)) {
      message = "Must be at least the first key.";
    }
    input.setCustomValidity(message);
  }

  function showFieldState(form, input) {
    const error = fieldError(form, input);
    if (!error) return;
    if (input.validity.valid) {
      input.removeAttribute("aria-invalid");
      error.hidden = true;
      error.textContent = "";
    } else {
      input.setAttribute("aria-invalid", "true");
      error.hidden = false;
      error.textContent = input.validationMessage;
    }
  }

  // Radio groups that choose which part of a form applies: the job's keys (a
  // range or a list), a schedule's timing (every so often or cron).
  const CHOICES = ["source", "timing"];

  function toggleChoice(form, name) {
    const radios = [...form.querySelectorAll(`input[type="radio"][name="${name}"]`)];
    const chosen = radios.find((radio) => radio.checked);
    if (!chosen) return;
    const values = radios.map((radio) => radio.value);
    for (const part of form.querySelectorAll(`[data-${name}-part]`)) {
      part.hidden = part.getAttribute(`data-${name}-part`) !== chosen.value;
      // What is hidden is neither checked nor sent.
      for (const field of part.querySelectorAll("input, select, textarea")) {
        field.disabled = part.hidden;
      }
    }
    for (const input of form.querySelectorAll("[data-required-when]")) {
      if (values.includes(input.dataset.requiredWhen)) {
        input.required = input.dataset.requiredWhen === chosen.value;
      }
    }
  }

  function enhanceValidation(form) {
    form.noValidate = true;
    for (const name of CHOICES) toggleChoice(form, name);
    form.addEventListener("change", (event) => {
      if (CHOICES.includes(event.target.name)) toggleChoice(form, event.target.name);
    });
    const inputs = () => [...form.elements].filter((el) => el.willValidate);
    form.addEventListener("input", (event) => {
      const input = event.target;
      if (!input.willValidate) return;
      customValidity(input);
      if (input.getAttribute("aria-invalid") === "true") showFieldState(form, input);
    });
    form.addEventListener("focusout", (event) => {
      const input = event.target;
      if (input.willValidate && input.value !== "") {
        customValidity(input);
        showFieldState(form, input);
      }
    });
    form.addEventListener("submit", (event) => {
      const invalid = [];
      for (const input of inputs()) {
        customValidity(input);
        showFieldState(form, input);
        if (!input.validity.valid) invalid.push(input);
      }
      if (invalid.length) {
        event.preventDefault();
        event.stopImmediatePropagation();
        invalid[0].focus();
      }
    });
  }

  function flash(kind, text) {
    const area = document.querySelector("[data-flash-area]");
    if (!area) return;
    const p = document.createElement("p");
    p.className = `flash flash-${kind}`;
    p.setAttribute("role", kind === "error" ? "alert" : "status");
    p.textContent = text;
    area.replaceChildren(p);
  }

  async function sendInPlace(form) {
    const button = form.querySelector("button");
    button?.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
        credentials: "same-origin",
      });
      const answer = await response.json();
      flash(answer.kind, answer.message);
    } catch (error) {
      flash("error", `The Seeker did not answer: ${error.message}`);
    } finally {
      button?.removeAttribute("aria-busy");
    }
  }

  function enhanceActions() {
    document.addEventListener("submit", (event) => {
      const form = event.target;
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      if (form.hasAttribute("data-fetch") && !event.defaultPrevented) {
        event.preventDefault();
        sendInPlace(form);
      }
    });
  }

  function enhanceCopy() {
    for (const button of document.querySelectorAll("[data-copy]")) {
      button.addEventListener("click", async () => {
        const input = document.getElementById(button.dataset.copy);
        const state = document.querySelector("[data-copy-state]");
        input.select();
        try {
          await navigator.clipboard.writeText(input.value);
          setText(state, "Copied to the clipboard.");
        } catch {
          setText(state, "Selected: press Ctrl+C (or ⌘C) to copy.");
        }
      });
    }
  }

  // Parts of other pages, loaded in place ---------------------------------------

  async function fetchPage(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`the Seeker answered ${response.status}`);
    return new DOMParser().parseFromString(await response.text(), "text/html");
  }

  // The health panel: the checks run when the page has shown, and again on request.
  function enhanceHealth() {
    const form = document.querySelector("form[data-health-check]");
    const result = document.querySelector("[data-health] [data-health-result]");
    if (!form || !result) return;
    const check = async () => {
      const button = form.querySelector("button");
      button.setAttribute("aria-busy", "true");
      try {
        const fresh = (await fetchPage(form.action)).querySelector("[data-health-result]");
        result.replaceChildren(...fresh.childNodes);
        refreshTimes();
      } catch (error) {
        const p = document.createElement("p");
        p.className = "flash flash-error";
        p.textContent = `The checks did not run: ${error.message}`;
        result.replaceChildren(p);
      } finally {
        button.removeAttribute("aria-busy");
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      check();
    });
    check();
  }

  // "More" links: the next page's rows added below these, instead of leaving.
  function enhanceMore() {
    document.addEventListener("click", async (event) => {
      const link = event.target.closest("a[data-more]");
      if (!link) return;
      event.preventDefault();
      link.setAttribute("aria-busy", "true");
      try {
        const next = await fetchPage(link.href);
        const selector = link.dataset.more;
        document.querySelector(selector).append(...next.querySelector(selector).children);
        const following = next.querySelector(`a[data-more="${CSS.escape(selector)}"]`);
        if (following) link.setAttribute("href", following.getAttribute("href"));
        else link.remove();
        refreshTimes();
      } catch (error) {
        flash("error", `More could not be loaded: ${error.message}`);
      } finally {
        link.removeAttribute("aria-busy");
      }
    });
  }

  function start() {
    for (const form of document.querySelectorAll("form[data-validate]")) enhanceValidation(form);
    enhanceActions();
    enhanceCopy();
    enhanceHealth();
    enhanceMore();
    refreshTimes();
    window.setInterval(refreshTimes, 1000);
    const summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
    if (document.body.dataset.live) connect(document.body.dataset.live);
  }

  return { fmt, start };
})();

document.addEventListener("DOMContentLoaded", SeekAdmin.start);

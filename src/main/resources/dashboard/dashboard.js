"use strict";
(function () {
  const HISTORY = 300;
  const MASK_AFTER_MS = 5000;
  const RATE_LABELS = {"2xx": "2xx", "4xx": "4xx", "429_sluice": "429 from Sluice", "429_upstream": "429 from upstream",
    "5xx": "5xx"};
  const RATE_SERIES = [["2xx", "#2e9d5b"], ["4xx", "#8a6fd1"], ["429 from Sluice", "#d98e04"],
    ["429 from upstream", "#c83b3b"], ["5xx", "#5b6472"]];
  const DEPTH_SERIES = [["urgent", "#c83b3b"], ["high", "#d98e04"], ["normal", "#3778c2"], ["low", "#8f98a6"]];
  const WAIT_SERIES = [["mean ms", "#3778c2"], ["max ms", "#c83b3b"]];
  const BACKEND_SERIES = [["tokens", "#8f98a6"], ["effective rpm", "#3778c2"], ["configured rpm", "#2e9d5b"]];
  const TOTALS = [["dispatched", "dispatched"], ["passed_through_full", "passthrough (queue full)"],
    ["evicted", "evicted"], ["rejected_full", "rejected (queue full)"], ["timed_out", "timed out"],
    ["refused_at_limit", "refused at limit"], ["requeued_after_429", "requeued after 429"],
    ["spilled", "spilled to fallback"], ["sent_to_emergency", "sent to emergency"],
    ["no_backend", "no backend (503)"]];

  const $ = (id) => document.getElementById(id);
  let layout = "";
  let charts = [];
  let lastFrameAt = Date.now();
  let source = null;
  let reloadOnOpen = false;
  const seenEvents = new Map();
  // Labels and units of the backend cards' fields, by name: sent with the first load and whenever they change.
  let fieldDefs = new Map();
  let fieldsMissing = false;
  let reloadingFields = false;
  // Set once the admin API accepted the page's token ("Load settings"): the backend cards then offer their actions.
  let adminReady = false;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function fmt(v) {
    if (typeof v !== "number") return String(v);
    return Number.isInteger(v) ? String(v) : v.toFixed(2);
  }

  // ---- charts --------------------------------------------------------------------------------------------------
  function chart(parent, title, series, pick, width) {
    const box = el("div", { class: "chart" }, el("h3", {}, title));
    parent.append(box);
    const data = [[]].concat(series.map(() => []));
    const plot = new uPlot({
      width: width, height: 150, legend: { show: true, live: false },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      series: [{}].concat(series.map(([label, stroke]) => ({ label, stroke, width: 1.5 }))),
      axes: [{}, { size: 60 }],
    }, data, box);
    charts.push({ plot, data, pick });
  }

  function addPoint(point) {
    for (const c of charts) {
      const values = c.pick(point);
      if (!values) continue;
      c.data[0].push(point.t / 1000);
      values.forEach((v, i) => c.data[i + 1].push(v));
      if (c.data[0].length > HISTORY) c.data.forEach((a) => a.shift());
    }
  }

  function redraw() {
    for (const c of charts) c.plot.setData(c.data);
  }

  // ---- layout and state ----------------------------------------------------------------------------------------
  function layoutKey(state) {
    return JSON.stringify(state.pools.map((p) => [p.name, p.backends.map((b) => b.id)]));
  }

  function build(state) {
    for (const c of charts) c.plot.destroy();
    charts = [];
    const main = $("pools");
    main.replaceChildren();
    for (const pool of state.pools) {
      const name = pool.name;
      const section = el("section", { class: "pool", "data-pool": name });
      section.append(el("h2", {}, "Pool " + name));
      const stats = el("div", { class: "stats" });
      const stat = (key, label) => {
        const b = el("b", { "data-stat": key });
        stats.append(el("span", {}, label + " ", b));
      };
      for (const k of ["2xx", "4xx", "429_sluice", "429_upstream", "5xx"]) stat("rate-" + k, RATE_LABELS[k] + "/s");
      stat("queue", "queue");
      stat("wait", "wait mean/max ms");
      for (const [k, label] of TOTALS) stat("total-" + k, label);
      stat("retry-budget", "retries / first attempts (60 s)");
      section.append(stats);
      const row = el("div", { class: "charts" });
      section.append(row);
      chart(row, "Requests/s by status", RATE_SERIES, (p) => p.pools[name] && p.pools[name].r, 420);
      chart(row, "Queue depth per priority", DEPTH_SERIES, (p) => p.pools[name] && p.pools[name].d, 380);
      chart(row, "Queue wait (last second)", WAIT_SERIES, (p) => p.pools[name] && p.pools[name].w, 380);
      const backends = el("div", { class: "backends" });
      for (const b of pool.backends) {
        const card = el("div", { class: "backend", "data-backend": b.id });
        card.append(el("h3", {}, el("span", {}, b.id),
          el("span", { class: "badges" }, el("span", { class: "service" }), el("span", { class: "state" }))));
        card.append(actions(b.id));
        card.append(quotaBar());
        card.append(el("div", { class: "stats backend-rates" }));
        card.append(el("div", { class: "fields" }));
        backends.append(card);
        chart(card, "Rate and tokens", BACKEND_SERIES,
          (p) => p.pools[name] && p.pools[name].b[b.id] && p.pools[name].b[b.id].slice(0, 3), 340);
        card.append(el("ul", { class: "cuts" }));
      }
      section.append(backends);
      main.append(section);
    }
  }

  function render(state) {
    fieldsMissing = false;
    const key = layoutKey(state);
    if (key !== layout) {
      layout = key;
      build(state);
    }
    $("uptime").textContent = "up " + state.uptime_seconds + " s";
    const p = state.passthrough;
    const passthroughTotal = Object.values(p).reduce((a, b) => a + b, 0);
    $("passthrough").textContent = passthroughTotal > 0 ? "passthrough " + fmt(passthroughTotal) + "/s" : "";
    for (const pool of state.pools) {
      const section = document.querySelector('section.pool[data-pool="' + CSS.escape(pool.name) + '"]');
      const set = (k, v) => { section.querySelector('[data-stat="' + k + '"]').textContent = v; };
      for (const [k, v] of Object.entries(pool.rates)) set("rate-" + k, fmt(v));
      const q = pool.queue;
      set("queue", q.size + "/" + q.max_size + " (" + ["urgent", "high", "normal", "low"].map((l) => q.depth[l]).join(" · ")
        + ") " + q.full_policy);
      set("wait", fmt(q.wait_mean_ms) + " / " + fmt(q.wait_max_ms));
      for (const [k] of TOTALS) set("total-" + k, fmt(pool.totals[k]));
      set("retry-budget", pool.retry_budget.retries + " / " + pool.retry_budget.first_attempts);
      for (const b of pool.backends) {
        const card = section.querySelector('.backend[data-backend="' + CSS.escape(b.id) + '"]');
        const badge = card.querySelector(".state");
        badge.textContent = b.state;
        badge.className = "state " + b.state;
        const service = card.querySelector(".service");
        service.textContent = b.service === "cooling" ? "cooling " + Math.ceil(b.cooling_seconds) + " s"
          : b.service === "quota_exceeded" ? "quota exceeded" : b.service;
        service.className = "service " + b.service;
        showQuota(card, b.quota);
        showActions(card, b);
        card.querySelector(".backend-rates").replaceChildren(...Object.entries(b.rates).map(([k, v]) =>
          el("span", {}, (RATE_LABELS[k] || k) + "/s ", el("b", {}, fmt(v)))));
        card.querySelector(".fields").replaceChildren(...Object.entries(b.fields).map(([n, v]) => field(n, v)));
        card.querySelector(".cuts").replaceChildren(...b.cuts.map((e) =>
          el("li", {}, new Date(e.t).toLocaleTimeString() + " " + e.text)));
      }
    }
    mergeEvents(state.events);
    if (fieldsMissing && !reloadingFields) {
      // A field whose label was sent in a frame this page missed: fetch them all again.
      reloadingFields = true;
      load().catch(() => {}).finally(() => { reloadingFields = false; });
    }
  }

  function setFields(defs) {
    if (defs) fieldDefs = new Map(defs.map((f) => [f.name, f]));
  }

  // One entry per named value, [value], [value, max] or [value, max, note]; a value with a maximum is drawn as a
  // gauge, a note follows in brackets. Limiters added later show up here by adding an entry on the server.
  function field(name, [v, max, note]) {
    const def = fieldDefs.get(name);
    if (!def) fieldsMissing = true;
    const unit = def && def.unit;
    const text = fmt(v) + (max !== undefined ? " / " + fmt(max) : "") + (unit ? " " + unit : "")
      + (note !== undefined ? " (" + note + ")" : "");
    let value;
    if (max !== undefined && typeof v === "number") {
      const share = max > 0 ? Math.min(1, Math.max(0, v / max)) : 0;
      value = el("div", { class: "gauge" }, el("div", { class: "bar", style: "width:" + (share * 100).toFixed(1) + "%" }),
        el("span", { class: "text" }, text));
    } else {
      value = el("span", {}, text);
    }
    return el("div", { class: "field", "data-field": name }, el("span", { class: "label" }, def ? def.label : name),
      value);
  }

  // ---- quota bar ------------------------------------------------------------------------------------------------
  // Tokens used in the window against the budget, with a mark at the threshold; while exceeded, the state badge and
  // the time to the next probe. Only backends with a budget, or exceeded ones, have a quota in their state.
  function quotaBar() {
    return el("div", { class: "quota", "data-field": "quota", hidden: "" },
      el("div", { class: "field" }, el("span", { class: "label" }),
        el("div", { class: "gauge" }, el("div", { class: "bar" }), el("div", { class: "mark", title: "threshold" }),
          el("span", { class: "text" }))),
      el("div", { class: "quota-status" }, el("span", { class: "quota-state" }), el("span", { class: "usage" }),
        el("span", { class: "next-probe" })));
  }

  function tokens(n) {
    return Number(n).toLocaleString("en-US");
  }

  function duration(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return h > 0 ? h + " h " + m + " m" : m > 0 ? m + " m " + s + " s" : s + " s";
  }

  function showQuota(card, q) {
    const box = card.querySelector(".quota");
    box.hidden = !q;
    if (!q) return;
    const exceeded = q.state === "QUOTA_EXCEEDED";
    box.classList.toggle("exceeded", exceeded);
    box.querySelector(".label").textContent = "quota (" + q.hours + " h)";
    const share = q.budget > 0 ? Math.min(1, q.used / q.budget) : exceeded ? 1 : 0;
    box.querySelector(".bar").style.width = (share * 100).toFixed(1) + "%";
    const mark = box.querySelector(".mark");
    mark.hidden = !(q.budget > 0);
    mark.style.left = q.threshold + "%";
    box.querySelector(".text").textContent = q.budget > 0 ? tokens(q.used) + " / " + tokens(q.budget)
      : tokens(q.used) + " tokens";
    const badge = box.querySelector(".quota-state");
    badge.hidden = !exceeded;
    badge.textContent = q.state;
    box.querySelector(".usage").textContent = q.budget > 0
      ? (100 * q.used / q.budget).toFixed(1) + " % used, trips at " + q.threshold + " %" : "no budget";
    box.querySelector(".next-probe").textContent = !exceeded ? ""
      : (q.next_probe_seconds > 0 ? "next probe in " + duration(q.next_probe_seconds) : "probe due")
        + (q.cap_error ? " · " + q.cap_error : "");
  }

  // An event may come again with the same seq and a new text (a cooldown line counting the failures of its second).
  function mergeEvents(events) {
    let added = false;
    for (const e of events || []) {
      const seen = seenEvents.get(e.seq);
      if (!seen || seen.text !== e.text) {
        seenEvents.set(e.seq, e);
        added = true;
      }
    }
    if (!added) return;
    const newest = [...seenEvents.values()].sort((a, b) => b.seq - a.seq).slice(0, 100);
    seenEvents.clear();
    newest.forEach((e) => seenEvents.set(e.seq, e));
    $("events").replaceChildren(...newest.map((e) => el("li", { class: e.kind },
      el("time", {}, new Date(e.t).toLocaleTimeString()), e.text)));
  }

  // ---- backend actions (with the admin token) ------------------------------------------------------------------
  function actions(id) {
    const box = el("div", { class: "actions", hidden: "" });
    const toggle = el("button", { type: "button", class: "toggle" });
    const endCooldown = el("button", { type: "button", class: "end-cooldown" }, "End cooldown");
    const resetQuota = el("button", { type: "button", class: "reset-quota" }, "Reset quota");
    const message = el("span", { class: "message" });
    toggle.addEventListener("click", () => adminAction(message, "PATCH",
      "/api/admin/backends/" + encodeURIComponent(id), { enabled: toggle.dataset.enable === "true" }));
    endCooldown.addEventListener("click", () => adminAction(message, "DELETE",
      "/api/admin/cooldowns/" + encodeURIComponent(id)));
    resetQuota.addEventListener("click", () => adminAction(message, "POST",
      "/api/admin/quota/" + encodeURIComponent(id) + "/reset", {}));
    box.append(toggle, endCooldown, resetQuota, message);
    return box;
  }

  function showActions(card, b) {
    const box = card.querySelector(".actions");
    box.hidden = !adminReady;
    const toggle = box.querySelector(".toggle");
    const enable = b.service === "dead" || b.service === "disabled";
    toggle.dataset.enable = String(enable);
    toggle.textContent = enable ? "Enable" : "Disable";
    box.querySelector(".end-cooldown").hidden = b.service !== "cooling";
    box.querySelector(".reset-quota").hidden = !b.quota;
  }

  function adminAction(message, method, url, body) {
    message.textContent = "…";
    message.classList.remove("error");
    const headers = Object.assign(body ? { "Content-Type": "application/json" } : {}, authHeaders());
    fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined }).then((r) =>
      r.json().catch(() => null).then((answer) => {
        message.textContent = r.ok ? "done" : errorText(answer, r.status);
        message.classList.toggle("error", !r.ok);
      })).catch((e) => {
      message.textContent = String(e);
      message.classList.add("error");
    });
  }

  // ---- live feed -----------------------------------------------------------------------------------------------
  function load() {
    return fetch("/api/dashboard", { cache: "no-store" }).then((r) => r.json()).then((d) => {
      layout = "";
      setFields(d.fields);
      render(d.state);
      for (const point of d.history) addPoint(point);
      redraw();
      mergeEvents(d.events);
      lastFrameAt = Date.now();
    });
  }

  function connect() {
    if (source) source.close();
    source = new EventSource("/api/dashboard/stream");
    source.onopen = () => {
      if (reloadOnOpen) {
        reloadOnOpen = false;
        load().catch(() => { reloadOnOpen = true; });
      }
    };
    source.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      lastFrameAt = Date.now();
      setFields(frame.fields);
      render(frame.state);
      addPoint(frame.point);
      redraw();
      showLive(true);
    };
    source.onerror = () => { reloadOnOpen = true; };
  }

  function showLive(live) {
    $("mask").hidden = live;
    const badge = $("live");
    badge.textContent = live ? "live" : "reconnecting…";
    badge.classList.toggle("down", !live);
  }

  setInterval(() => {
    if (Date.now() - lastFrameAt > MASK_AFTER_MS) {
      showLive(false);
      // The browser retries after "retry: 3000" by itself, but gives up on some failures (an HTTP error answer);
      // then start over.
      if (source && source.readyState === EventSource.CLOSED) {
        reloadOnOpen = true;
        connect();
      }
    }
  }, 500);

  // ---- settings ------------------------------------------------------------------------------------------------
  const TOKEN_KEY = "sluice.adminToken";
  const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
  const POLICIES = ["passthrough", "reject", "drop_lowest"];
  let inputs = [];

  function settingsMessage(text, error) {
    const m = $("settings-message");
    m.textContent = text;
    m.classList.toggle("error", !!error);
  }

  function authHeaders() {
    return { Authorization: "Bearer " + $("token").value };
  }

  function errorText(body, status) {
    return body && body.error && body.error.message ? body.error.message : "HTTP " + status;
  }

  function loadSettings() {
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    settingsMessage("loading…");
    fetch("/api/admin/config", { headers: authHeaders(), cache: "no-store" }).then((r) =>
      r.json().catch(() => null).then((body) => {
        if (!r.ok) {
          adminReady = false;
          $("settings-form").hidden = true;
          settingsMessage(errorText(body, r.status), true);
          return;
        }
        settingsMessage("");
        adminReady = true;
        showSettings(body);
      })).catch((e) => settingsMessage(String(e), true));
  }

  // target: where the value goes in a partial body: {pool, backend, key} or {section, key}
  function input(container, label, value, target, options) {
    const id = "setting-" + inputs.length;
    const control = options ? el("select", { id }) : el("input", { id, type: "text", inputmode: "numeric", size: "8" });
    if (options) for (const o of options) control.append(el("option", { value: o }, o));
    control.value = String(value);
    const error = el("span", { class: "field-error" });
    container.append(el("div", { class: "setting" }, el("label", { for: id }, label), control, error));
    const entry = { control, error, original: String(value), target };
    control.dataset.setting = [target.pool, target.backend, target.section, target.key].filter((x) => x).join(".");
    inputs.push(entry);
  }

  function showSettings(config) {
    inputs = [];
    const fields = $("settings-fields");
    fields.replaceChildren();
    input(fields, "log level", config.log_level, { key: "log_level" }, LOG_LEVELS);
    const d = config.defaults || {};
    input(fields, "request timeout (s)", d.timeout_seconds, { section: "defaults", key: "timeout_seconds" });
    input(fields, "low priority timeout (s)", d.low_priority_timeout_seconds,
      { section: "defaults", key: "low_priority_timeout_seconds" });
    for (const pool of config.pools || []) {
      fields.append(el("div", { class: "setting-group" }, "Pool " + pool.name));
      input(fields, "queue max size", pool.queue_max_size, { pool: pool.name, key: "queue_max_size" });
      input(fields, "full policy", pool.full_policy, { pool: pool.name, key: "full_policy" }, POLICIES);
      for (const b of pool.backends || []) {
        input(fields, "backend " + b.id + " rate (rpm)", b.rate_rpm, { pool: pool.name, backend: b.id, key: "rate_rpm" });
        input(fields, "backend " + b.id + " capacity", b.capacity, { pool: pool.name, backend: b.id, key: "capacity" });
      }
    }
    $("settings-form").hidden = false;
  }

  function value(text, target) {
    if (target.key === "log_level" || target.key === "full_policy") return text;
    const n = Number(text.trim());
    return text.trim() !== "" && Number.isFinite(n) ? n : text;
  }

  // Only the changed settings, in the admin API's partial shape; each input remembers the path it has in the body,
  // which is what a validation error's "param" names.
  function partialBody() {
    const body = {};
    const byParam = new Map();
    for (const entry of inputs) {
      entry.error.textContent = "";
      if (entry.control.value === entry.original) continue;
      const t = entry.target;
      const v = value(entry.control.value, t);
      if (!t.pool) {
        if (t.section) {
          body[t.section] = body[t.section] || {};
          body[t.section][t.key] = v;
          byParam.set(t.section + "." + t.key, entry);
        } else {
          body[t.key] = v;
          byParam.set(t.key, entry);
        }
        continue;
      }
      body.pools = body.pools || [];
      let pi = body.pools.findIndex((p) => p.name === t.pool);
      if (pi < 0) pi = body.pools.push({ name: t.pool }) - 1;
      const pool = body.pools[pi];
      if (!t.backend) {
        pool[t.key] = v;
        byParam.set("pools[" + pi + "]." + t.key, entry);
        continue;
      }
      pool.backends = pool.backends || [];
      let bi = pool.backends.findIndex((b) => b.id === t.backend);
      if (bi < 0) bi = pool.backends.push({ id: t.backend }) - 1;
      pool.backends[bi][t.key] = v;
      byParam.set("pools[" + pi + "].backends[" + bi + "]." + t.key, entry);
    }
    return { body, byParam };
  }

  function applySettings(event) {
    event.preventDefault();
    const { body, byParam } = partialBody();
    if (byParam.size === 0) {
      settingsMessage("nothing changed");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    settingsMessage("saving…");
    fetch("/api/admin/config", {
      method: "POST", headers: Object.assign({ "Content-Type": "application/json" }, authHeaders()),
      body: JSON.stringify(body),
    }).then((r) => r.json().catch(() => null).then((answer) => {
      if (r.ok) {
        const changed = (answer.changed || []).map((c) => c.key + ": " + c.old + " → " + c.new).join(", ");
        showSettings(answer.config);
        settingsMessage("applied" + (changed ? ": " + changed : ""));
        return;
      }
      const param = answer && answer.error && answer.error.param;
      const entry = param && byParam.get(param);
      if (entry) {
        entry.error.textContent = errorText(answer, r.status);
        settingsMessage("not applied", true);
      } else {
        settingsMessage(errorText(answer, r.status), true);
      }
    })).catch((e) => settingsMessage(String(e), true));
  }

  $("token").value = sessionStorage.getItem(TOKEN_KEY) || "";
  $("load-settings").addEventListener("click", loadSettings);
  $("settings-form").addEventListener("submit", applySettings);

  load().catch(() => { reloadOnOpen = true; }).finally(connect);
})();

// The console's live parts: one EventSource for the state, fetch() with JSON for the actions.
"use strict";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function say(text, ok) {
  const m = $("#message");
  m.textContent = text;
  m.className = ok ? "ok" : "error";
}

async function post(path, body) {
  say("…", true);
  const resp = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body ?? {}),
  });
  let data = {};
  try { data = await resp.json(); } catch (e) { data = { error: `${resp.status} ${resp.statusText}` }; }
  if (!resp.ok) {
    const fields = (data.fields || []).map(f => `${f.field}: ${f.message}`).join("; ");
    say(`refused (${resp.status}): ${data.error}${fields ? " — " + fields : ""}`, false);
    return null;
  }
  say(data.message || "done", true);
  return data;
}

// Turn a form into JSON: numbers stay numbers, comma lists become arrays, empty optional fields are dropped.
function formJson(form, lists = []) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (lists.includes(el.name)) out[el.name] = el.value.split(",").map(s => s.trim()).filter(Boolean);
    else if (el.type === "number") out[el.name] = el.value === "" ? undefined : Number(el.value);
    else out[el.name] = el.value;
  }
  return out;
}

function fmtPct(x) { return x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`; }

function fmtS(s) { return s === null || s === undefined ? "–" : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`; }

function renderEdges(state) {
  for (const e of state.edges) {
    const g = $(`#graph g.edge[data-edge="${e.edge}"]`);
    if (g) {
      g.dataset.state = e.state;
      const amp = e.amplification === null ? "" : ` ×${e.amplification}`;
      const p95 = e.p95_s === null ? "" : ` · p95 ${fmtS(e.p95_s)}`;
      $(".label", g).textContent = `${e.rps.toFixed(1)}/s${amp}${p95}`;
    }
    const row = $(`#edges tr[data-edge="${e.edge}"]`);
    if (!row) continue;
    row.dataset.state = e.state;
    $(".rps", row).textContent = e.rps.toFixed(1);
    $(".err", row).textContent = fmtPct(e.error_ratio);
    $(".amp", row).textContent = e.amplification ?? "–";
    $(".p95", row).textContent = fmtS(e.p95_s);
    $(".brk", row).textContent = e.breaker ?? "–";
    const faults = e.toxics.map(t => t.type);
    if (!e.enabled) faults.push("down");
    $(".tox", row).textContent = faults.join(", ") || "–";
    $(".jaeger", row).hidden = !state.links.jaeger;
    $(".prom", row).hidden = !state.links.prometheus;
  }
  for (const [service, profile] of Object.entries(state.profiles || {})) {
    const node = $(`#graph g.node[data-service="${service}"] .profile`);
    if (node) node.textContent = profile;
  }
}

function faultItem(text, remove, ttl) {
  const li = document.createElement("li");
  li.className = "fault";
  li.textContent = text + (ttl !== undefined ? ` (expires in ${ttl} s)` : "") + " ";
  const b = document.createElement("button");
  b.textContent = "remove";
  b.addEventListener("click", () => post("/api/faults/remove", remove));
  li.appendChild(b);
  return li;
}

function renderFaults(state) {
  const ttl = {};
  for (const l of state.leases) ttl[l.key] = l.ttl_left_s;
  const items = [];
  for (const e of state.edges) {
    for (const t of e.toxics) {
      const attrs = Object.entries(t.attributes).map(([k, v]) => `${k}=${v}`).join(" ");
      items.push(faultItem(`${e.caller} → ${e.callee}: ${t.type} ${attrs}`,
        { kind: "toxic", target: e.edge, name: t.name }, ttl[`toxic:${e.edge}:${t.name}`]));
    }
    if (!e.enabled) items.push(faultItem(`${e.caller} → ${e.callee}: down`, { kind: "down", target: e.edge }, ttl[`down:${e.edge}`]));
  }
  for (const [service, rules] of Object.entries(state.app_faults || {})) {
    const text = rules.map(r => `${r.method || "any"} ${r.route} error_rate=${r.error_rate} latency_ms=${r.latency_ms}`).join("; ");
    items.push(faultItem(`${service} app fault: ${text}`, { kind: "app", target: service }, ttl[`app:${service}`]));
  }
  const list = $("#fault-list");
  list.replaceChildren(...(items.length ? items : [Object.assign(document.createElement("li"), { className: "none", textContent: "no active fault" })]));
}

function renderLoad(load) {
  $("#load-state").textContent = load.running ? `running at ${load.rate_per_s}/s` : "stopped";
  $("#load-state").dataset.running = load.running ? "yes" : "no";
  const pts = load.points || [];
  const top = Math.max(1, ...pts.map(p => p.success + p.degraded + p.failure));
  const span = Math.max(pts.length, 30) - 1;  // the first half minute fills the strip, then it scrolls
  for (const outcome of ["success", "degraded", "failure"]) {
    const line = pts.map((p, i) => `${(i * 300 / span).toFixed(1)},${(78 - p[outcome] * 76 / top).toFixed(1)}`).join(" ");
    $(`#strip .${outcome}`).setAttribute("points", line);
  }
}

function renderLab(check) {
  const box = $("#lab-result");
  if (!check || !check.lab) { box.textContent = ""; return; }
  box.dataset.state = check.running ? "running" : (check.passed ? "passed" : "failed");
  if (check.running) { box.textContent = `checking lab ${check.lab}…`; return; }
  const rows = (check.results || []).map(r => `<li class="${r.met ? "met" : "unmet"}">${r.met ? "✔" : "✘"} </li>`);
  box.innerHTML = `<strong>lab ${check.lab}: ${check.passed ? "PASS" : "FAIL"}</strong><ul>${rows.join("")}</ul>`;
  // the labels come from lab files: set them as text, never as HTML
  $$("li", box).forEach((li, i) => li.append(`${check.results[i].label}: ${check.results[i].value ?? "–"} (target ${check.results[i].target})`));
  for (const p of check.problems || []) box.append(Object.assign(document.createElement("p"), { textContent: p }));
}

async function showCurrentLab() {
  const data = await (await fetch("/api/labs/current")).json();
  const box = $("#current-lab");
  if (!data.lab) { box.textContent = "no lab started (shoplab lab start NN)"; return; }
  box.replaceChildren(Object.assign(document.createElement("h3"), { textContent: `lab ${data.lab}: ${data.title}` }),
    Object.assign(document.createElement("p"), { textContent: data.task }));
  $("#lab-form select[name=number]").value = data.lab;
}

function connect() {
  const source = new EventSource("/events");
  source.onopen = () => { $("#conn").textContent = "live"; $("#conn").className = "conn live"; };
  source.onerror = () => { $("#conn").textContent = "reconnecting…"; $("#conn").className = "conn lost"; };
  source.onmessage = (msg) => {
    const state = JSON.parse(msg.data);
    document.body.dataset.seq = state.seq;
    renderEdges(state);
    renderFaults(state);
    renderLoad(state.load);
    renderLab(state.lab_check);
  };
}

function wire() {
  $("#login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await post("/login", { token: $("#token").value })) {
      document.body.dataset.authorised = "yes"; $("#mode").textContent = "actions enabled";
    }
    $("#token").value = "";
  });
  $("#logout").addEventListener("click", async () => {
    await post("/logout"); document.body.dataset.authorised = "no"; $("#mode").textContent = "read-only";
  });
  $("#fault-form").addEventListener("submit", (ev) => { ev.preventDefault(); post("/api/faults", formJson(ev.target)); });
  $("#app-fault-form").addEventListener("submit", (ev) => { ev.preventDefault(); post("/api/app-faults", formJson(ev.target)); });
  $("#profile-form").addEventListener("submit", (ev) => {
    ev.preventDefault(); post("/api/profile", formJson(ev.target, ["services", "overrides"]));
  });
  $("#load-form").addEventListener("submit", (ev) => { ev.preventDefault(); post("/api/load/start", formJson(ev.target)); });
  $("#load-stop").addEventListener("click", () => post("/api/load/stop"));
  $("#lab-form").addEventListener("submit", (ev) => { ev.preventDefault(); post("/api/labs/check", formJson(ev.target)); });
  for (const a of $$("a.pick")) {
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      $("#fault-form select[name=edge]").value = a.dataset.edge;
      $$("#graph g.edge").forEach(g => g.classList.toggle("selected", g.dataset.edge === a.dataset.edge));
    });
  }
  for (const g of $$("#graph g.edge")) {
    g.addEventListener("click", () => {
      $("#fault-form select[name=edge]").value = g.dataset.edge;
      $$("#graph g.edge").forEach(x => x.classList.toggle("selected", x === g));
    });
  }
}

wire();
connect();
showCurrentLab();

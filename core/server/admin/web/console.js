// ferryd's console: logs in, then follows /api/v1/events (Server-Sent Events) and draws the
// server, its sessions, the last events and the bans. Every string from the server goes
// into the page as text (textContent), never as markup: names come from FTP clients.
"use strict";

const $ = (id) => document.getElementById(id);
let csrf = "";
let stream = null;
const maxEvents = 100;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function bytes(n) {
  if (n === null || n === undefined) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
}

function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return seconds + " s";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  const h = Math.floor(seconds / 3600);
  if (h < 48) return h + " h " + Math.floor((seconds % 3600) / 60) + " min";
  return Math.floor(h / 24) + " d " + (h % 24) + " h";
}

function clock(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleTimeString([], { hour12: false });
}

async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { /* no JSON */ }
  if (response.status === 401 && csrf && path !== "/api/v1/login") showLogin("Your login has expired: log in again.");
  return { status: response.status, ok: response.ok, data };
}

function showLogin(message) {
  if (stream) { stream.close(); stream = null; }
  $("console-view").hidden = true;
  $("who").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message || "";
  $("login-password").value = "";
  csrf = "";
}

function showConsole(user) {
  $("login-view").hidden = true;
  $("console-view").hidden = false;
  $("who").hidden = false;
  $("operator").textContent = user;
  follow();
}

function follow() {
  if (stream) stream.close();
  $("events").replaceChildren();
  stream = new EventSource("/api/v1/events");
  stream.addEventListener("open", () => { $("live").textContent = "live"; $("live").classList.add("on"); });
  stream.addEventListener("error", async () => {
    $("live").textContent = "reconnecting…";
    $("live").classList.remove("on");
    const me = await api("GET", "/api/v1/me");  // an expired login shows the login form
    if (!me.ok && stream) { stream.close(); stream = null; }
  });
  stream.addEventListener("state", (e) => render(JSON.parse(e.data)));
  stream.addEventListener("event", (e) => addEvent(JSON.parse(e.data)));
}

function render(state) {
  const s = state.status;
  $("stat-sessions").textContent = s.sessions.active;
  $("stat-limit").textContent = "of " + s.sessions.limit + " allowed";
  $("stat-out").textContent = bytes(s.bytes.out);
  $("stat-in").textContent = bytes(s.bytes.in);
  $("stat-uptime").textContent = duration(s.uptime_seconds);
  $("stat-version").textContent = "ferryd " + s.version;
  $("info-listen").textContent = s.listen.map((l) => l.address + (l.implicit_tls ? " (FTPS)" : "")).join(", ") +
    (s.tls ? " · FTPS available" : "");
  $("info-plugins").textContent = s.plugins.map((p) => p.name + " " + p.version).join(", ");
  $("info-config").textContent = s.config.file + " · generation " + s.config.generation + ", loaded " + clock(s.config.loaded);
  renderSessions(state.sessions);
  renderBans(state.bans.bans);
}

function transferCell(t) {
  const cell = el("div", "transfer");
  const what = el("div", "what");
  what.append(el("span", "dir", t.direction === "upload" ? "↑ " + t.verb : "↓ " + t.verb), el("span", "path", t.path));
  const bar = el("div", "bar");
  const fill = el("div", "fill");
  bar.append(fill);
  let pct = null;
  if (t.size !== null && t.size > 0) pct = Math.min(100, (100 * t.bytes) / t.size);
  if (pct === null) bar.classList.add("unknown"); else fill.style.width = pct.toFixed(1) + "%";
  bar.dataset.bytes = t.bytes;
  const nums = el("div", "nums");
  nums.append(el("span", "", bytes(t.bytes) + (t.size !== null ? " of " + bytes(t.size) : "") +
                             (pct !== null ? " (" + pct.toFixed(0) + "%)" : "")),
              el("span", "", bytes(t.rate) + "/s" + (t.eta_seconds !== null ? " · " + duration(t.eta_seconds) + " left" : "")));
  cell.append(what, bar, nums);
  return cell;
}

function renderSessions(data) {
  const body = $("sessions").tBodies[0];
  const rows = [];
  for (const s of data.sessions) {
    const tr = el("tr");
    tr.dataset.session = s.id;
    tr.append(el("td", "", s.id), el("td", "user", s.user || "–"), el("td", "", s.peer),
              el("td", "", clock(s.connected)), el("td", "", duration(s.idle_ms / 1000)),
              el("td", "command", s.command || "–"), el("td", "cwd", s.cwd));
    const tls = el("td");
    tls.append(el("span", s.tls ? "tag on" : "tag", s.tls ? "TLS" : "plain"));
    const transfer = el("td");
    if (s.transfer) transfer.append(transferCell(s.transfer));
    const cell = el("td");
    const actions = el("div", "row actions");
    cell.append(actions);
    if (s.transfer) {
      const abort = el("button", "small danger abort", "Abort transfer");
      abort.addEventListener("click", () => act("DELETE", "/api/v1/sessions/" + s.id + "/transfer"));
      actions.append(abort);
    }
    const kick = el("button", "small danger kick", "Disconnect");
    kick.addEventListener("click", () => act("DELETE", "/api/v1/sessions/" + s.id));
    actions.append(kick);
    tr.append(tls, transfer, cell);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  $("sessions-empty").hidden = rows.length > 0;
  $("sessions-note").textContent = data.total > data.sessions.length ? "first " + data.sessions.length + " of " + data.total : "";
}

function renderBans(bans) {
  const body = $("bans").tBodies[0];
  const rows = bans.map((b) => {
    const tr = el("tr");
    tr.dataset.address = b.address;
    const lift = el("button", "small danger unban", "Unban");
    lift.addEventListener("click", () => act("DELETE", "/api/v1/bans/" + encodeURIComponent(b.address)));
    const cell = el("td");
    cell.append(lift);
    tr.append(el("td", "", b.address), el("td", "", clock(b.until) + " (" + duration(b.seconds_left) + ")"),
              el("td", "", b.reason), cell);
    return tr;
  });
  body.replaceChildren(...rows);
  $("bans-empty").hidden = rows.length > 0;
}

function addEvent(e) {
  const li = el("li", e.level);
  if (e.event === "transfer" || e.event === "login") li.classList.add(e.result === "failed" ? "error" : "ok");
  li.dataset.event = e.event;
  li.append(el("time", "", clock(e.time)), el("span", "kind", e.event), el("span", "msg",
            (e.session ? "#" + e.session + " " : "") + e.message));
  const list = $("events");
  list.prepend(li);
  while (list.children.length > maxEvents) list.lastChild.remove();
}

async function act(method, path, body) {
  const r = await api(method, path, body);
  if (!r.ok && r.status !== 401) alert(r.data.error || ("failed: HTTP " + r.status));
  return r;
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-submit").disabled = true;
  $("login-error").textContent = "";
  const r = await api("POST", "/api/v1/login", { user: $("login-user").value, password: $("login-password").value });
  $("login-submit").disabled = false;
  if (r.ok) {
    csrf = r.data.csrf;
    $("login-password").value = "";
    showConsole(r.data.user);
  } else {
    $("login-error").textContent = r.data.error || ("login failed: HTTP " + r.status);
  }
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/api/v1/logout");
  csrf = "";
  showLogin("Logged out.");
});

$("reload").addEventListener("click", async () => {
  const out = $("reload-result");
  out.className = "note";
  out.textContent = "reloading…";
  const r = await api("POST", "/api/v1/reload");
  out.className = r.ok ? "note ok" : "note bad";
  out.textContent = r.ok ? "reloaded: generation " + r.data.generation : "refused: " + (r.data.error || "HTTP " + r.status);
});

$("ban-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = { address: $("ban-address").value.trim() };
  const seconds = parseInt($("ban-seconds").value, 10);
  if (seconds > 0) body.seconds = seconds;
  const r = await api("POST", "/api/v1/bans", body);
  const out = $("ban-result");
  out.className = r.ok ? "note ok" : "note bad";
  out.textContent = r.ok ? "banned " + r.data.address : (r.data.error || "HTTP " + r.status);
  if (r.ok) $("ban-address").value = "";
});

(async () => {
  const me = await api("GET", "/api/v1/me");
  if (me.ok) { csrf = me.data.csrf; showConsole(me.data.user); } else { showLogin(""); }
})();

// The beehive dashboard: polls /api/state every second and draws it. Data goes into the page
// through textContent only, never as markup (dead-letter reasons are anybody's text).
"use strict";

const POLL_MS = 1000;
let token = "";

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function num(value) {
  return value === null || value === undefined ? "–" : String(value);
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "unknown";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds >= size) return Math.floor(seconds / size) + unit;
  }
  return Math.floor(seconds) + "s";
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function actorRows(actors) {
  return actors.map((a) => {
    const row = el("tr");
    row.dataset.name = a.name;
    const name = el("td");
    name.append(el("div", a.actor), el("div", a.queue, "muted"));
    name.title = a.name;
    row.append(
      name,
      el("td", a.received, "n received"),
      el("td", a.succeeded, "n succeeded"),
      el("td", a.retried, "n retried"),
      el("td", a.dead_lettered, "n dead" + (a.dead_lettered ? " bad" : "")),
      el("td", a.in_flight, "n in-flight"),
      el("td", a.rate.toFixed(1), "n rate"),
      el("td", a.failure_rate.toFixed(1), "n failure-rate"),
    );
    return row;
  });
}

function queueRows(queues) {
  return queues.map((q) => {
    const row = el("tr");
    row.dataset.name = q.name;
    const name = el("td", q.name);
    if (q.error) name.append(el("div", q.error, "muted"));
    row.append(
      name,
      el("td", num(q.active), "n active"),
      el("td", num(q.leased), "n leased"),
      el("td", num(q.dead_lettered), "n dead" + (q.dead_lettered ? " bad" : "")),
    );
    return row;
  });
}

function deadLetterRows(letters, replayable) {
  return letters.map((d) => {
    const row = el("tr");
    row.dataset.id = d.id;
    row.dataset.queue = d.queue;
    const button = el("button", "Replay", "replay");
    button.type = "button";
    button.disabled = !replayable;
    button.title = replayable ? "Move it back into " + d.queue : "Replay is off";
    button.addEventListener("click", () => replay(d.queue, d.id, button));
    const id = el("td");
    id.append(el("code", d.id.slice(0, 8)));
    id.title = d.id;
    const reason = el("td", d.reason, "reason");
    if (d.actor) reason.title = d.actor;
    row.append(
      el("td", age(d.age_seconds)),
      el("td", d.queue),
      el("td", d.event_type),
      id,
      reason,
      el("td", d.delivery_count, "n"),
      el("td").appendChild(button).parentNode,
    );
    return row;
  });
}

function annotateNetwork(actors) {
  const byClass = new Map();
  for (const a of actors) {
    const sum = byClass.get(a.actor) || { succeeded: 0, dead: 0, rate: 0, busy: 0 };
    sum.succeeded += a.succeeded;
    sum.dead += a.dead_lettered;
    sum.rate += a.rate;
    sum.busy += a.in_flight;
    byClass.set(a.actor, sum);
  }
  for (const node of document.querySelectorAll("#network g.actor")) {
    const sum = byClass.get(node.dataset.actor);
    if (!sum) continue;
    const stat = node.querySelector("text.stat");
    stat.textContent = `✓ ${sum.succeeded}  ✗ ${sum.dead}  ${sum.rate.toFixed(1)}/s`;
    node.classList.toggle("failing", sum.dead > 0);
    node.classList.toggle("busy", sum.busy > 0);
  }
}

function render(state) {
  const running = document.getElementById("running");
  running.textContent = state.running ? "running" : "stopped";
  running.className = "badge " + (state.running ? "ok" : "bad");
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  fill(document.querySelector("#actors tbody"), actorRows(state.actors));
  fill(document.querySelector("#queues tbody"), queueRows(state.queues));
  fill(document.querySelector("#dead-letters tbody"), deadLetterRows(state.dead_letters, state.replay));
  document.getElementById("no-dead-letters").hidden = state.dead_letters.length > 0;
  document.getElementById("read-only").hidden = state.replay;
  document.getElementById("token-label").hidden = !state.replay;
  document.getElementById("send-form").hidden = !state.replay;
  document.getElementById("send-read-only").hidden = state.replay;
  const types = document.getElementById("event-types");
  if (types.children.length !== state.event_types.length) {
    types.replaceChildren(...state.event_types.map((t) => { const o = el("option"); o.value = t; return o; }));
  }
  annotateNetwork(state.actors);
  document.body.dataset.journal = state.journal ? "on" : "off";
}

async function poll() {
  try {
    const answer = await fetch("api/state", { cache: "no-store" });
    if (!answer.ok) throw new Error(answer.status + " " + answer.statusText);
    render(await answer.json());
  } catch (error) {
    const running = document.getElementById("running");
    running.textContent = "unreachable";
    running.className = "badge bad";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

async function replay(queue, id, button) {
  const status = document.getElementById("replay-status");
  button.disabled = true;
  status.className = "";
  status.textContent = "replaying " + id.slice(0, 8) + "…";
  try {
    const answer = await fetch("api/replay", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: JSON.stringify({ queue, id }),
    });
    const result = await answer.json();
    if (!answer.ok) throw new Error(result.error || answer.statusText);
    status.className = "ok";
    status.textContent = `replayed ${id.slice(0, 8)} into ${queue}`;
  } catch (error) {
    status.className = "bad";
    status.textContent = "replay failed: " + error.message;
    button.disabled = false;
  }
}

async function searchJourney(event) {
  event.preventDefault();
  const result = document.getElementById("journey-result");
  const id = document.getElementById("correlation-id").value.trim();
  if (!id) return;
  const answer = await fetch("api/journey?correlation_id=" + encodeURIComponent(id));
  const journey = await answer.json();
  if (!journey.configured) {
    result.replaceChildren(el("p", "Journal not configured: the host keeps no event journal."));
    return;
  }
  if (!journey.entries.length) {
    result.replaceChildren(el("p", "Nothing recorded for " + id + "."));
    return;
  }
  const preferred = ["timestamp", "event_type", "actor", "outcome", "seconds", "event_id"];
  const keys = [...new Set([...preferred.filter((k) => k in journey.entries[0]),
    ...journey.entries.flatMap((e) => Object.keys(e))])];
  const table = el("table");
  const head = el("tr");
  head.append(...keys.map((k) => el("th", k.replace(/_/g, " "))));
  table.append(el("thead").appendChild(head).parentNode);
  const body = el("tbody");
  for (const entry of journey.entries) {
    const row = el("tr");
    row.append(...keys.map((k) => el("td", typeof entry[k] === "object" && entry[k] !== null
      ? JSON.stringify(entry[k]) : entry[k])));
    body.append(row);
  }
  table.append(body);
  result.replaceChildren(table);
}

async function sendEvent(event) {
  event.preventDefault();
  const status = document.getElementById("send-status");
  const eventType = document.getElementById("send-type").value.trim();
  let body;
  try {
    body = JSON.parse(document.getElementById("send-body").value || "{}");
  } catch (error) {
    status.className = "bad";
    status.textContent = "the body is not JSON: " + error.message;
    return;
  }
  const count = Number(document.getElementById("send-count").value || 1);
  status.className = "";
  status.textContent = "sending…";
  try {
    const answer = await fetch("api/send", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: JSON.stringify({ event_type: eventType, body, count }),
    });
    const result = await answer.json();
    if (!answer.ok) throw new Error(result.error || answer.statusText);
    status.className = "ok";
    const readers = result.readers.length ? "" : " (no actor here reads it)";
    status.textContent = `sent ${result.sent} ${eventType}${readers}: ${result.ids[0].slice(0, 8)}`;
  } catch (error) {
    status.className = "bad";
    status.textContent = "send failed: " + error.message;
  }
}

async function loadNetwork() {
  const answer = await fetch("api/graph.svg");
  // Server-made markup from the actors' own names, escaped there: the one innerHTML here.
  document.getElementById("network").innerHTML = await answer.text();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("token").addEventListener("input", (e) => { token = e.target.value; });
  document.getElementById("journey-form").addEventListener("submit", searchJourney);
  document.getElementById("send-form").addEventListener("submit", sendEvent);
  loadNetwork().finally(poll);
});

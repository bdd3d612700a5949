// Fleet overview: server cards and model rankings updated in place from the fleet socket.
import { actionFeed } from "./actions.js";
import { combine, combineRows, duration, rate, readPage } from "./format.js";
import { Freshness, connect } from "./live.js";
import { updateMemory } from "./memory.js";

const page = readPage();
const LIMIT = 5;
const cards = new Map([...document.querySelectorAll(".server-card")].map((el) => [Number(el.dataset.serverId), el]));
const names = new Map(page.servers.map((s) => [s.id, s.name]));
// (server, model) -> load now; replaced for a server at each of its frames.
const loads = new Map();
let rankingsLive = false;
let reloadSoon = null;

function modelLoads(frame) {
  const byModel = new Map();
  for (const v of frame.values) {
    if (!v.model) continue;
    if (!byModel.has(v.model)) byModel.set(v.model, []);
    byModel.get(v.model).push(v);
  }
  return [...byModel].map(([model, rows]) => ({
    serverId: frame.server_id,
    model,
    inferences: combineRows(rows, "inferences_per_s", page.metrics) ?? 0,
    pending: combineRows(rows, "pending_requests", page.metrics) ?? 0,
    queue: combineRows(rows, "queue_us_per_request", page.metrics),
  }));
}

function cell(text, numeric = false) {
  const td = document.createElement("td");
  td.textContent = text;
  if (numeric) td.className = "num";
  return td;
}

function modelCell(load) {
  const td = document.createElement("td");
  const a = document.createElement("a");
  a.href = `/servers/${load.serverId}/models/${encodeURIComponent(load.model)}/`;
  a.textContent = load.model;
  td.append(a);
  return td;
}

function renderRanking(tbody, items, columns, emptyText) {
  const rows = items.slice(0, LIMIT).map((load) => {
    const tr = document.createElement("tr");
    tr.append(modelCell(load), cell(names.get(load.serverId) ?? `server ${load.serverId}`), ...columns(load));
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const td = cell(emptyText);
    td.colSpan = 2 + columns({}).length;
    tr.append(td);
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
}

function renderRankings() {
  const all = [...loads.values()].flat();
  renderRanking(
    document.querySelector("#busiest tbody"),
    all.filter((m) => m.inferences > 0).sort((a, b) => b.inferences - a.inferences),
    (m) => [cell(rate(m.inferences), true)],
    "no traffic now",
  );
  renderRanking(
    document.querySelector("#queued tbody"),
    all.filter((m) => m.pending > 0 || m.queue > 0).sort((a, b) => b.pending - a.pending || b.queue - a.queue),
    (m) => [cell(String(Math.round(m.pending ?? 0)), true), cell(duration(m.queue ?? null), true)],
    "nothing queued now",
  );
  document.getElementById("fleet-inferences").textContent = rate(all.reduce((a, m) => a + m.inferences, 0));
}

function onFrame(frame) {
  freshness.frame(frame);
  const card = cards.get(frame.server_id);
  if (!card) {
    // A server registered after the page loaded: its card is rendered by the server, so
    // reload once (a few seconds later, so a burst of new servers costs one reload).
    reloadSoon ??= setTimeout(() => location.reload(), 3000);
    return;
  }
  card.querySelector("[data-error]").textContent = frame.error;
  if (frame.status === "up") {
    const inferences = frame.values.filter((v) => v.metric === "inferences_per_s").map((v) => v.value);
    card.querySelector("[data-inferences]").textContent = rate(combine(inferences, "sum"));
    updateMemory(card.querySelector("[data-memory]"), frame);
    loads.set(frame.server_id, modelLoads(frame));
  } else {
    card.querySelector("[data-inferences]").textContent = rate(null);
    loads.set(frame.server_id, []);
  }
  // The server-rendered rankings stand until every server has sent a frame, so a
  // half-filled list does not replace a complete one.
  rankingsLive ||= [...cards.keys()].every((id) => loads.has(id));
  if (rankingsLive) renderRankings();
}

const freshness = new Freshness(page, page.servers);
const feed = actionFeed(page);
connect(page.ws, { onFrame, onAction: (action) => feed.update(action) });

// Fleet overview: server cards and model rankings updated in place from the fleet socket.
import { actionFeed } from "./actions.js";
import { combineRows, duration, rank, rate, readPage } from "./format.js";
import { Freshness, connect } from "./live.js";
import { updateMemory } from "./memory.js";
import { sparklines } from "./sparkline.js";

const page = readPage();
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
  // The metrics the rankings order by (page.rankings, the same rule as the server's).
  const ranked = [...new Set(Object.values(page.rankings).flat())];
  return [...byModel].map(([model, rows]) => ({
    serverId: frame.server_id,
    model,
    values: Object.fromEntries(ranked.map((metric) => [metric, combineRows(rows, metric, page.metrics)])),
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
  const rows = items.map((load) => {
    const tr = document.createElement("tr");
    tr.append(modelCell(load), cell(names.get(load.serverId) ?? `server ${load.serverId}`), ...columns(load));
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const td = cell(emptyText);
    td.colSpan = 2 + columns({ values: {} }).length;
    tr.append(td);
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
}

function renderRankings() {
  const all = [...loads.values()].flat();
  renderRanking(
    document.querySelector("#busiest tbody"),
    rank(all, page.rankings.busiest, page.rank_limit),
    (m) => [cell(rate(m.values.inferences_per_s ?? 0), true)],
    "no traffic now",
  );
  renderRanking(
    document.querySelector("#queued tbody"),
    rank(all, page.rankings.most_queued, page.rank_limit),
    (m) => [cell(String(Math.round(m.values.pending_requests ?? 0)), true), cell(duration(m.values.queue_us_per_request ?? null), true)],
    "nothing queued now",
  );
  document.getElementById("fleet-inferences").textContent = rate(all.reduce((a, m) => a + (m.values.inferences_per_s ?? 0), 0));
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
  const total = frame.status === "up" ? combineRows(frame.values, "inferences_per_s", page.metrics) : null;
  sparks.frame(frame.server_id, frame.at, total);
  if (frame.status === "up") {
    card.querySelector("[data-inferences]").textContent = rate(combineRows(frame.values, "inferences_per_s", page.metrics));
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
const sparks = sparklines(page);
const feed = actionFeed(page);
connect(page.ws, { onFrame, onAction: (action) => feed.update(action) });

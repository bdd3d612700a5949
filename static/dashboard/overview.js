// Fleet overview: server cards and model rankings updated in place from the fleet socket,
// which carries one summary per server per scrape (fleet.frames.ServerSummary; the page
// seed's `servers` are the same objects).
import { actionFeed } from "./actions.js";
import { duration, rank, rate, readPage } from "./format.js";
import { Freshness, connect } from "./live.js";
import { updateBars } from "./memory.js";
import { sparklines } from "./sparkline.js";

const page = readPage();
const cards = new Map([...document.querySelectorAll(".server-card")].map((el) => [Number(el.dataset.serverId), el]));
const names = new Map(page.servers.map((s) => [s.server_id, s.name]));
// server id -> its summary's entries per ranking ({busiest: [...], most_queued: [...]}).
const loads = new Map();
let rankingsLive = false;
let reloadSoon = null;

// A server's own top models per ranking, as the fleet's rankings take them.
function entries(summary) {
  const up = summary.status === "up";
  return Object.fromEntries(
    Object.keys(page.rankings).map((name) => [name, up ? summary[name].map((e) => ({ ...e, serverId: summary.server_id })) : []]),
  );
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
  const all = (name) => [...loads.values()].flatMap((e) => e[name]);
  renderRanking(
    document.querySelector("#busiest tbody"),
    rank(all("busiest"), page.rankings.busiest, page.rank_limit),
    (m) => [cell(rate(m.values.inferences_per_s ?? 0), true)],
    "no traffic now",
  );
  renderRanking(
    document.querySelector("#queued tbody"),
    rank(all("most_queued"), page.rankings.most_queued, page.rank_limit),
    (m) => [cell(String(Math.round(m.values.pending_requests ?? 0)), true), cell(duration(m.values.queue_us_per_request ?? null), true)],
    "nothing queued now",
  );
  const fleet = [...inferences.values()].reduce((a, v) => a + (v ?? 0), 0);
  document.getElementById("fleet-inferences").textContent = rate(fleet);
}

// server id -> inferences/s now (null when down).
const inferences = new Map();

function onSummary(summary) {
  freshness.frame(summary);
  const card = cards.get(summary.server_id);
  if (!card) {
    // A server registered after the page loaded: its card is rendered by the server, so
    // reload once (a few seconds later, so a burst of new servers costs one reload).
    reloadSoon ??= setTimeout(() => location.reload(), 3000);
    return;
  }
  const up = summary.status === "up";
  names.set(summary.server_id, summary.name);
  card.querySelector("[data-error]").textContent = summary.error;
  card.querySelector("[data-ready]").textContent = `${summary.ready} / ${summary.total}`;
  card.querySelector("[data-inferences]").textContent = rate(up ? summary.inferences_per_s : null);
  sparks.frame(summary.server_id, summary.at, up ? summary.inferences_per_s : null);
  if (up) updateBars(card.querySelector("[data-memory]"), summary.memory);
  inferences.set(summary.server_id, up ? summary.inferences_per_s : null);
  loads.set(summary.server_id, entries(summary));
  // The server-rendered rankings stand until every server has sent a summary, so a
  // half-filled list does not replace a complete one.
  rankingsLive ||= [...cards.keys()].every((id) => loads.has(id));
  if (rankingsLive) renderRankings();
}

const freshness = new Freshness(page, page.servers.map((s) => ({ ...s, id: s.server_id })));
const sparks = sparklines(page);
const feed = actionFeed(page);
connect(page.ws, {
  onSummary,
  onAction: (action) => feed.update(action),
  // What the socket missed: each server's next summary replaces its card; the sparklines
  // read their history again.
  onOpen: (reconnected) => reconnected && sparks.reload(),
});

// Model page: per-version charts of one model, live from its server's socket.
import { actionFeed } from "./actions.js";
import { chartsFor, startCharts } from "./charts.js";
import { DASH, combineRows, metricValue, readPage } from "./format.js";
import { Freshness, connect } from "./live.js";

const page = readPage();
const model = page.model;
const versions = page.versions.length ? page.versions : [null];
const perVersion = (metric) =>
  versions.map((version) => ({ name: version === null ? model : `v${version}`, metric, model, version }));
const byId = (id) => document.getElementById(id);
// Triton's statistics API has memory usage mainly for TensorRT and ONNX Runtime models.
const noMemory = page.backend
  ? `Triton reports no memory usage for the ${page.backend} backend`
  : "Triton reports no memory usage for this model";

const charts = chartsFor(page, [
  { el: byId("chart-throughput"), title: "Throughput", traces: perVersion("inferences_per_s") },
  { el: byId("chart-queue"), title: "Queue time per request", traces: perVersion("queue_us_per_request") },
  {
    el: byId("chart-latency"),
    title: "Latency breakdown per request (stacked)",
    stacked: true,
    traces: [
      ["queue", "queue_us_per_request"],
      ["compute input", "compute_input_us_per_request"],
      ["compute infer", "compute_infer_us_per_request"],
      ["compute output", "compute_output_us_per_request"],
    ].map(([name, metric]) => ({ name, metric, model, version: null })),
  },
  { el: byId("chart-batch"), title: "Average batch size", traces: perVersion("avg_batch_size") },
  { el: byId("chart-pending"), title: "Pending requests", traces: perVersion("pending_requests") },
  {
    el: byId("chart-failures"),
    title: "Failures by reason",
    traces: (page.reasons.length ? page.reasons : [null]).map((label) => ({
      name: label ?? "all reasons", metric: "failures_per_s", model, version: null, label,
    })),
  },
  { el: byId("chart-memory"), title: "Memory usage (statistics API)", empty: noMemory, traces: perVersion("memory_usage_bytes") },
].map((spec) => ({ ...spec, events: page.events })));

// "This model now" and "every server now" follow the model's socket: per scrape, a frame
// from each server that has the model, with this model's values only.
const compare = new Map([...document.querySelectorAll("#compare tr[data-metric]")].map((tr) => [tr.dataset.metric, tr]));
const fleetValues = new Map(); // server id -> the model's values in that server's latest frame
function show(cell, metric, rows) {
  cell.textContent = metricValue(combineRows(rows, metric, page.metrics), page.metrics[metric]);
}
function updateComparison(frame) {
  const rows = frame.status === "up" ? frame.values.filter((v) => v.model === model) : [];
  fleetValues.set(frame.server_id, rows.map((v) => ({ ...v, server_id: frame.server_id })));
  const all = [...fleetValues.values()].flat();
  for (const [metric, tr] of compare) {
    if (frame.server_id === page.server.id) show(tr.querySelector("[data-now]"), metric, rows);
    // Until every server that had the model at render has sent a frame, the server-rendered
    // value stands.
    if (page.fleet_servers.every((id) => fleetValues.has(id))) {
      show(tr.querySelector("[data-fleet]"), metric, all);
    }
  }
}

// After a load, unload or promotion, the versions table follows Triton's repository index.
async function refreshVersions() {
  const response = await fetch(`/api/servers/${page.server.id}/models/`, { credentials: "same-origin" });
  if (!response.ok) return;
  const rows = (await response.json()).filter((row) => row.name === model);
  const body = document.querySelector("#versions tbody");
  const memory = new Map([...body.querySelectorAll("tr[data-version]")].map((tr) => [tr.dataset.version, tr.lastElementChild.textContent]));
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.version = row.version;
      const state = document.createElement("span");
      state.className = `state state-${row.state.toLowerCase()}`;
      state.textContent = row.state;
      const cells = [row.version || DASH, state, row.reason, memory.get(row.version) ?? DASH];
      for (const [i, content] of cells.entries()) {
        const td = document.createElement("td");
        if (i === 2) td.className = "reason";
        if (i === 3) td.className = "num";
        td.append(content);
        tr.append(td);
      }
      return tr;
    }),
  );
}

const live = startCharts(charts);
const freshness = new Freshness(page, [page.server]);
const feed = actionFeed(page, (action) => action.server === page.server.id && action.model === model);
connect(page.ws, {
  onAction: (action) => {
    feed.update(action);
    if (action.server === page.server.id && action.model === model && ["succeeded", "failed"].includes(action.state)) {
      refreshVersions().catch(() => {});
    }
  },
  onFrame: (frame) => {
    updateComparison(frame);
    if (frame.server_id !== page.server.id) return;
    freshness.frame(frame);
    live.frame(frame);
  },
  onOpen: (reconnected) => reconnected && live.reconnected(),
});

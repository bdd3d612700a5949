// Server page: models table updated in place; charts of its models' throughput and queue
// time, GPU and CPU; live from the socket.
import { actionFeed } from "./actions.js";
import { chartsFor, startCharts } from "./charts.js";
import { combine, combineRows, metricNumber, rate, readPage } from "./format.js";
import { Freshness, connect } from "./live.js";
import { updateMemory } from "./memory.js";

const page = readPage();
const byId = (id) => document.getElementById(id);
const gpuName = (i) => `GPU ${i}`;

// Models' lines: the server's busiest models (page.chart_models), all versions combined.
const perModel = (metric) => page.chart_models.map((model) => ({ name: model, metric, model, version: null }));

const charts = chartsFor(page, [
  {
    el: byId("chart-model-throughput"),
    title: "Throughput by model (stacked)",
    metric: "inferences_per_s",
    stacked: true,
    traces: perModel("inferences_per_s"),
  },
  {
    el: byId("chart-model-queue"),
    title: "Queue time per request by model",
    metric: "queue_us_per_request",
    traces: perModel("queue_us_per_request"),
  },
  {
    el: byId("chart-gpu-memory"),
    title: "GPU memory used",
    traces: page.gpus.flatMap((label, i) => [
      { name: `${gpuName(i)} used`, metric: "gpu_memory_used_bytes", model: "", label },
      { name: `${gpuName(i)} total`, metric: "gpu_memory_total_bytes", model: "", label, dash: "dot" },
    ]),
  },
  {
    el: byId("chart-gpu-util"),
    title: "GPU utilization",
    traces: page.gpus.map((label, i) => ({ name: gpuName(i), metric: "gpu_utilization", model: "", label })),
  },
  {
    el: byId("chart-cpu-memory"),
    title: "CPU memory used",
    traces: [
      { name: "used", metric: "cpu_memory_used_bytes", model: "", label: null },
      { name: "total", metric: "cpu_memory_total_bytes", model: "", label: null, dash: "dot" },
    ],
  },
]);

// Rows by (model, version), compared as data: never a selector built from a model name.
const rows = new Map(
  [...document.querySelectorAll("#models tbody tr[data-model]")].map((tr) => [`${tr.dataset.model}\u0000${tr.dataset.version}`, tr]),
);

function updateTable(frame) {
  const grouped = new Map();
  if (frame.status === "up") {
    for (const v of frame.values) {
      if (!v.model) continue;
      const key = `${v.model}\u0000${v.version}`;
      if (!grouped.has(key)) grouped.set(key, {});
      (grouped.get(key)[v.metric] ??= []).push(v.value);
    }
  }
  for (const [key, tr] of rows) {
    const metrics = grouped.get(key) ?? {};
    for (const cell of tr.querySelectorAll("td[data-metric]")) {
      const metric = cell.dataset.metric;
      const values = metrics[metric];
      const info = page.metrics[metric];
      cell.textContent = metricNumber(values ? combine(values, info.aggregate) : null, info);
    }
  }
}

const live = startCharts(charts);
const freshness = new Freshness(page, [page.server]);
const feed = actionFeed(page, (action) => action.server === page.server.id);
connect(page.ws, {
  onAction: (action) => feed.update(action),
  onFrame: (frame) => {
    freshness.frame(frame);
    live.frame(frame);
    updateTable(frame);
    document.querySelector("[data-inferences]").textContent = rate(combineRows(frame.values, "inferences_per_s", page.metrics));
    if (frame.status === "up") updateMemory(document.querySelector("[data-memory]"), frame);
    document.querySelector("[data-error]").textContent = frame.error;
  },
  onOpen: (reconnected) => reconnected && live.reconnected(),
});

// Model page: the ensemble's pipeline, the batching view and tuner, and debug sessions.
// Reads the inside-a-server API (one wire format: fleet/inside's records); names are text.
import { drawDag } from "./dag.js";
import { DASH, duration, rate } from "./format.js";
import { readPage } from "./format.js";
import { connect } from "./live.js";

const root = document.getElementById("inside");
const page = readPage();
const base = `/api/servers/${root.dataset.server}/models/${encodeURIComponent(root.dataset.model)}`;
const csrf = root.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
const modelUrl = (name) => `/servers/${root.dataset.server}/models/${encodeURIComponent(name)}/`;
const every = Math.max(page.interval ?? 5, 2) * 1000;

async function call(path, method = "GET", body = undefined) {
  const response = await fetch(base + path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, data };
}

function row(cells, tag = "td") {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement(tag);
    td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

// --- pipeline
const dag = document.getElementById("pipeline-dag");
async function refreshPipeline() {
  const { ok, data } = await call("/pipeline/");
  if (!ok) {
    document.getElementById("pipeline-note").textContent = data.detail ?? "pipeline unavailable";
    return;
  }
  drawDag(dag, data, modelUrl);
  dag.dataset.at = data.at ?? "";
  document.getElementById("pipeline-note").textContent = data.at ? `figures from the scrape at ${new Date(data.at * 1000).toLocaleTimeString()}` : "no scrape with figures yet";
}
// Each scrape of this server sends the model's socket a frame: the steps' figures are new.
if (dag) refreshPipeline();

// --- batching
const batching = document.getElementById("batching-panel");
function histogram(table, rows) {
  const body = table.querySelector("tbody");
  const most = Math.max(1, ...rows.map((r) => r.executions));
  body.replaceChildren(...rows.map((r) => {
    const tr = row([String(r.size), String(r.executions)]);
    tr.dataset.size = r.size;
    const bar = document.createElement("td");
    const fill = document.createElement("span");
    fill.className = "bar";
    fill.style.width = `${(100 * r.executions / most).toFixed(0)}%`;
    bar.append(fill);
    tr.append(bar);
    return tr;
  }));
  if (!rows.length) body.append(row(["no batches formed in this window"]));
}
const fixed = (v, digits = 2) => (v === null || v === undefined ? DASH : v.toFixed(digits));
async function refreshBatching() {
  const since = document.getElementById("batching-since").value;
  const { ok, data } = await call(`/batching/?since=${since}`);
  const message = document.getElementById("batching-message");
  if (!ok) { message.textContent = data.detail ?? "batching unavailable"; return; }
  const s = data.settings, w = data.window;
  const settings = document.getElementById("batching-settings");
  settings.replaceChildren();
  for (const [term, value] of [
    ["max batch size", String(s.max_batch_size)],
    ["max queue delay", s.dynamic_batching ? duration(s.max_queue_delay_microseconds) : "no dynamic batching"],
    ["preferred batch sizes", s.preferred_batch_size.join(", ") || DASH],
    ["mean formed batch", fixed(w.mean_batch_size)],
    ["inferences per execution", fixed(w.inferences_per_execution)],
    ["queue per request", duration(w.queue_us_per_request)],
  ]) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = term; dd.textContent = value;
    settings.append(dt, dd);
  }
  histogram(document.getElementById("batching-histogram"), w.histogram);
  const change = data.change;
  document.getElementById("batching-compare").hidden = !change?.compare;
  if (change) {
    message.textContent = `change #${change.action} (${JSON.stringify(change.asked)}): ${change.state}${change.error ? ` — ${change.error}` : ""}`;
  }
  if (change?.compare) {
    const { before, after } = change.compare;
    const body = document.querySelector("#batching-compare-table tbody");
    body.replaceChildren(
      row(["window", `${fixed(before.seconds, 0)} s`, `${fixed(after.seconds, 0)} s`]),
      row(["mean formed batch", fixed(before.mean_batch_size), fixed(after.mean_batch_size)]),
      row(["inferences/s", rate(before.inferences_per_s), rate(after.inferences_per_s)]),
      row(["queue per request", duration(before.queue_us_per_request), duration(after.queue_us_per_request)]),
    );
    histogram(document.getElementById("batching-before"), before.histogram);
    histogram(document.getElementById("batching-after"), after.histogram);
  }
}
if (batching) {
  refreshBatching();
  setInterval(refreshBatching, Math.max(every, 10000));
  document.getElementById("batching-since").addEventListener("change", refreshBatching);
  const say = (text) => { document.getElementById("batching-message").textContent = text; };
  document.getElementById("batching-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = {};
    if (form.get("max_queue_delay_microseconds")) body.max_queue_delay_microseconds = Number(form.get("max_queue_delay_microseconds"));
    const sizes = String(form.get("preferred_batch_size") ?? "").split(",").map((x) => x.trim()).filter(Boolean);
    if (sizes.length) body.preferred_batch_size = sizes.map(Number);
    const { ok, data } = await call("/batching/change/", "POST", body);
    say(ok ? `change #${data.id} queued` : data.detail ?? JSON.stringify(data));
  });
  document.getElementById("batching-revert").addEventListener("click", async () => {
    const { ok, data } = await call("/batching/change/", "POST", { revert: true });
    say(ok ? `revert #${data.id} queued` : data.detail ?? JSON.stringify(data));
  });
}

// --- debug sessions
async function refreshDebug() {
  const { ok, data } = await call("/debug/sessions/");
  if (!ok) return;
  document.querySelector("#debug-sessions tbody").replaceChildren(...data.map((s) => {
    const tr = row([`#${s.id}`, s.state, s.requested_by ?? DASH, new Date(s.ends_at).toLocaleTimeString(), JSON.stringify(s.applied), s.notes || s.revert_error || ""]);
    tr.dataset.session = s.id;
    return tr;
  }));
}
const say = (text) => { document.getElementById("debug-message").textContent = text; };
document.getElementById("debug-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { ok, data } = await call("/debug/", "POST", { minutes: Number(new FormData(event.target).get("minutes")) });
  say(ok ? `debug session #${data.id} until ${new Date(data.ends_at).toLocaleTimeString()}${data.notes ? ` (${data.notes})` : ""}` : data.detail ?? JSON.stringify(data));
  refreshDebug();
});
document.getElementById("debug-revert").addEventListener("click", async () => {
  const { ok, data } = await call("/debug/", "DELETE");
  say(ok ? `debug session #${data.id} ${data.state}` : data.detail ?? JSON.stringify(data));
  refreshDebug();
});
refreshDebug();
setInterval(refreshDebug, Math.max(every, 10000));

// The model's socket (a second connection next to model.js's): a scrape's frame redraws the
// pipeline; the end of an action on this model (a batching change) refreshes the batching view.
connect(page.ws, {
  onFrame: (frame) => {
    if (dag && frame.server_id === Number(root.dataset.server)) refreshPipeline();
  },
  onAction: (action) => {
    if (batching && action.server === Number(root.dataset.server) && !["queued", "running"].includes(action.state)) refreshBatching();
  },
});

// The rollout page: waves, their servers and each gate's evidence, the timeline, and the
// pause/resume/abort buttons; from the page seed (fleet.deploy.record.serialize_rollout, the
// API's shape), then live from ws/rollouts/<id>/. Text only (textContent).
import { DASH } from "./format.js";
import { connect, setStatus } from "./live.js";

const page = JSON.parse(document.getElementById("rollout-data").textContent);
const ENDED = new Set(["succeeded", "rolled_back", "aborted", "failed"]);

function el(tag, text, className = "") {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function versions(v) {
  return Array.isArray(v) ? `[${v.join(", ")}]` : String(v);
}

function serverName(id) {
  return page.server_names[String(id)] ?? `server ${id}`;
}

// The evidence of a gate, one short line: what the smoke answered, the bake's figures.
function evidence(gate) {
  const d = gate.detail;
  if (gate.kind === "smoke") {
    if (d.error) return `v${d.version}: ${d.error}`;
    if (d.mismatches?.length) return d.mismatches.map((m) => `${m.output}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.got)}`).join("; ");
    return `v${d.version} answered ${JSON.stringify(d.outputs)}${d.golden ? " (golden)" : ""}`;
  }
  if (gate.kind === "metrics") {
    const queue = d.queue_us_per_request === null ? DASH : `${d.queue_us_per_request} µs`;
    const before = d.baseline_queue_us_per_request === null ? DASH : `${d.baseline_queue_us_per_request} µs`;
    return `${d.requests} requests in ${d.bake_s} s, ${d.failures_per_s} failures/s, queue ${queue} (before ${before})${d.reasons.length ? ": " + d.reasons.join("; ") : ""}`;
  }
  return d.error || d.result || DASH;
}

function renderWave(wave, index, current) {
  const li = el("li", undefined, `wave wave-${wave.state}${index === current ? " wave-current" : ""}`);
  li.dataset.wave = index;
  li.dataset.state = wave.state;
  li.append(el("strong", `Wave ${index + 1}${index === 0 ? " (canary)" : ""}: `), el("span", wave.state, "wave-state"));
  const list = el("ul", undefined, "wave-servers");
  for (const id of wave.servers) list.append(el("li", serverName(id), "wave-server"));
  li.append(list);
  if (wave.gates.length) {
    const table = el("table", undefined, "gates");
    for (const gate of wave.gates) {
      const tr = el("tr", undefined, `gate gate-${gate.passed ? "passed" : "failed"}`);
      tr.dataset.kind = gate.kind;
      tr.append(el("td", gate.kind), el("td", gate.server_name ?? serverName(gate.server_id)), el("td", gate.passed ? "passed" : "failed"), el("td", evidence(gate), "gate-evidence"));
      table.append(tr);
    }
    li.append(table);
  }
  return li;
}

function render(r) {
  document.getElementById("deployment-name").textContent = r.deployment_name;
  setStatus(document.getElementById("rollout-state"), r.rolling_back && !ENDED.has(r.state) ? "rolling back" : r.state);
  document.getElementById("rollout-state").dataset.state = r.state;
  document.getElementById("rollout-versions").textContent = `${r.model}: ${versions(r.from_versions)} → ${versions(r.to_versions)}`;
  document.getElementById("rollout-by").textContent = r.requested_by ?? DASH;
  const error = document.getElementById("rollout-error");
  error.textContent = r.error;
  error.hidden = !r.error;
  document.getElementById("waves").replaceChildren(...r.waves.map((w, i) => renderWave(w, i, r.wave)));
  document.getElementById("rollout-timeline").replaceChildren(
    ...r.timeline.map((e) => el("li", `${new Date(e.at).toLocaleTimeString()}  ${e.text}`)),
  );
  const controls = document.getElementById("rollout-controls");
  if (controls) {
    for (const button of controls.querySelectorAll("button")) {
      const verb = button.dataset.verb;
      button.disabled = ENDED.has(r.state) || (verb === "pause" && r.state !== "running") || (verb === "resume" && r.state !== "paused") || (verb === "abort" && r.rolling_back);
    }
  }
}

async function send(verb) {
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
  const answer = await fetch(`/api/rollouts/${page.rollout.id}/${verb}/`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
  });
  const body = await answer.json();
  document.getElementById("rollout-answer").textContent = answer.ok ? `${verb}: done` : body.detail;
  if (answer.ok) render(body);
}

for (const button of document.querySelectorAll("#rollout-controls button")) {
  button.addEventListener("click", () => send(button.dataset.verb));
}
render(page.rollout);
connect(page.ws, {
  onRollout: render,
  onOpen: async (reconnected) => {
    if (!reconnected) return;
    const answer = await fetch(`/api/rollouts/${page.rollout.id}/`, { credentials: "same-origin" });
    if (answer.ok) render(await answer.json());
  },
});

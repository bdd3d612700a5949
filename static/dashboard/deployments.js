// The deployments page: each deployment with its servers' reconcile states, and the recent
// rollouts, from the page seed (fleet.deploy.record, the API's shape), then live from the
// ws/deployments/ socket. Text only (textContent): names come from people and servers.
import { DASH } from "./format.js";
import { connect } from "./live.js";

const page = JSON.parse(document.getElementById("deployments-data").textContent);
const body = document.querySelector("#deployments tbody");
const rows = new Map(); // deployment id -> <tr>

function cell(content, className = "") {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? DASH;
  if (className) td.className = className;
  return td;
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function versions(v) {
  return Array.isArray(v) ? v.join(", ") : String(v);
}

function target(d) {
  const pairs = Object.entries(d.selector).map(([k, v]) => `${k}=${v}`);
  return pairs.length ? pairs.join(", ") : `servers ${d.server_ids.join(", ")}`;
}

function servers(d) {
  const list = document.createElement("ul");
  list.className = "targets";
  for (const s of d.servers) {
    const li = document.createElement("li");
    li.dataset.serverId = s.server_id;
    li.className = `target state-${s.state}`;
    li.append(link(`/servers/${s.server_id}/models/${encodeURIComponent(d.model)}/`, s.server_name));
    const state = document.createElement("span");
    state.className = "target-state";
    state.textContent = ` ${s.state}`;
    li.append(state);
    li.title = [s.detail, s.error].filter(Boolean).join("\n");
    list.append(li);
  }
  return list;
}

function render(d) {
  const tr = document.createElement("tr");
  tr.dataset.deploymentId = d.id;
  tr.append(
    cell(d.name, "deployment-name"),
    cell(d.model),
    cell(target(d)),
    cell(`${versions(d.versions)}${d.pinned ? " (pinned)" : ""}${d.paused ? " (paused)" : ""}`),
    cell(servers(d)),
    cell(d.rollout ? link(`/rollouts/${d.rollout}/`, `#${d.rollout}`) : DASH),
  );
  const old = rows.get(d.id);
  if (old) old.replaceWith(tr);
  else body.append(tr);
  rows.set(d.id, tr);
  document.querySelector("[data-empty=deployments]").hidden = rows.size > 0;
}

function renderRollout(r) {
  const tr = document.createElement("tr");
  tr.dataset.rolloutId = r.id;
  tr.append(
    cell(link(`/rollouts/${r.id}/`, `#${r.id}`)),
    cell(r.deployment_name),
    cell(`${versions(r.from_versions)} → ${versions(r.to_versions)}`),
    cell(r.state, `rollout-${r.state}`),
    cell(r.requested_by),
    cell(r.created_at ? new Date(r.created_at).toLocaleString() : DASH),
  );
  document.querySelector("#rollouts tbody").append(tr);
}

page.deployments.forEach(render);
page.rollouts.forEach(renderRollout);
connect(page.ws, { onDeployment: render });

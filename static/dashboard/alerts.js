// The alerts page: firing, pending and silenced, and recently resolved alerts, and the
// rules, from the page seed (fleet.alerting.records, the API's shape) and then live from
// the ws/alerts/ socket (the banner's, heard through "fleetdeck:alert" events).
// Text only (textContent): names and causes come from servers and models.
import { DASH } from "./format.js";

const page = JSON.parse(document.getElementById("alerts-data").textContent);
const rows = new Map(); // alert id -> alert

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text ?? DASH;
  if (className) td.className = className;
  return td;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : DASH;
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function where(alert) {
  if (alert.server_id === null) return null;
  const base = `/servers/${alert.server_id}/`;
  return alert.model ? `${base}models/${encodeURIComponent(alert.model)}/` : base;
}

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

async function post(alert, verb, body = {}) {
  const answer = await fetch(`/api/alerts/${alert.id}/${verb}/`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  if (answer.ok) update(await answer.json());
}

function button(text, data, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  Object.assign(b.dataset, data);
  b.addEventListener("click", onClick);
  return b;
}

function silenceCell(alert) {
  const notes = [];
  if (alert.silenced) notes.push(`silenced until ${when(alert.silenced_until)} (${alert.silenced_by ?? DASH})`);
  if (alert.acknowledged_by) notes.push(`acknowledged by ${alert.acknowledged_by}`);
  const td = cell(notes.join("; "));
  if (!page.can_silence || alert.state === "resolved") return td;
  const seconds = alert.silenced ? 0 : 3600;
  td.append(" ", button(alert.silenced ? "unsilence" : "silence 1 h", { silence: String(seconds) },
    () => post(alert, "silence", { seconds })));
  if (!alert.acknowledged_by) td.append(" ", button("acknowledge", { acknowledge: "" }, () => post(alert, "acknowledge")));
  return td;
}

function render(alert) {
  const tr = document.createElement("tr");
  tr.dataset.alertId = alert.id;
  tr.className = `alert-${alert.state}${alert.silenced ? " alert-silenced" : ""}`;
  const href = where(alert);
  const server = cell("");
  if (href) server.append(link(`/servers/${alert.server_id}/`, alert.server_name));
  const cause = cell(alert.cause);
  cause.title = JSON.stringify(alert.detail);
  const at = alert.fired_at ?? alert.started_at;
  const timeline = cell("");
  if (href) timeline.append(link(`${href}?at=${encodeURIComponent(at)}#timeline`, "timeline"));
  tr.append(
    cell(`${alert.kind}${alert.rule_name ? ` (${alert.rule_name})` : ""}`),
    server,
    cell(alert.model || DASH),
    cause,
    cell(when(at)),
    alert.state === "resolved" ? cell(when(alert.resolved_at)) : silenceCell(alert),
    timeline,
  );
  return tr;
}

function table(alert) {
  if (alert.state === "resolved") return "resolved";
  return alert.state === "firing" && !alert.silenced ? "firing" : "quiet";
}

function draw() {
  const groups = { firing: [], quiet: [], resolved: [] };
  for (const alert of rows.values()) groups[table(alert)].push(alert);
  for (const [name, list] of Object.entries(groups)) {
    list.sort((a, b) => (b.fired_at ?? b.started_at).localeCompare(a.fired_at ?? a.started_at));
    document.querySelector(`[data-alerts="${name}"] tbody`).replaceChildren(...list.map(render));
  }
  document.querySelector('[data-empty="firing"]').hidden = groups.firing.length > 0;
}

function update(alert) {
  rows.set(alert.id, alert);
  draw();
}

function drawRules() {
  const body = document.querySelector("#alert-rules tbody");
  body.replaceChildren(
    ...page.rules.map((rule) => {
      const tr = document.createElement("tr");
      const scope = [
        rule.server !== null ? `server #${rule.server}` : "",
        Object.entries(rule.selector).map(([k, v]) => `${k}=${v}`).join(", "),
        rule.model ? `model ${rule.model}` : "",
      ].filter(Boolean).join("; ") || "fleet";
      tr.append(
        cell(String(rule.id)), cell(rule.name), cell(rule.kind),
        cell(rule.threshold === null ? DASH : String(rule.threshold)), cell(`${rule.for_s} s`),
        cell(scope), cell(rule.enabled ? "yes" : "no"),
      );
      return tr;
    }),
  );
}

for (const alert of page.alerts) rows.set(alert.id, alert);
draw();
drawRules();
document.addEventListener("fleetdeck:alert", (event) => update(event.detail));

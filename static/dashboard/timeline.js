// The incident timeline of a server or of one model on it: /api/servers/<id>/timeline/
// (fleet.alerting.timeline), newest first, fetched again when an alert changes (the banner's
// "fleetdeck:alert" event) and every minute. `?at=<ISO time>` in the page's address (an
// alert's link) marks the entries of that moment. Text only (textContent).
import { setMarks } from "./marks.js";

const panel = document.querySelector("[data-timeline]");
const REFRESH_MS = 60000;
const NEAR_MS = 120000; // entries this close to ?at= are marked

function item(entry, at) {
  const li = document.createElement("li");
  li.className = `timeline-${entry.kind}`;
  li.dataset.kind = entry.kind;
  const time = document.createElement("time");
  time.dateTime = entry.at;
  time.textContent = new Date(entry.at).toLocaleString();
  const title = document.createElement("span");
  title.className = "timeline-title";
  title.textContent = entry.title;
  li.append(time, " ", title);
  if (entry.detail) {
    const detail = document.createElement("span");
    detail.className = "timeline-detail";
    detail.textContent = entry.detail;
    li.append(" ", detail);
  }
  if (at && Math.abs(new Date(entry.at) - at) <= NEAR_MS) li.classList.add("timeline-near");
  return li;
}

async function load() {
  const query = new URLSearchParams();
  if (panel.dataset.hasModel) query.set("model", panel.dataset.model);
  const answer = await fetch(`/api/servers/${panel.dataset.server}/timeline/?${query}`);
  if (!answer.ok) return;
  const entries = await answer.json();
  const raw = new URLSearchParams(location.search).get("at");
  const at = raw ? new Date(raw) : null;
  const list = panel.querySelector("[data-timeline-list]");
  list.replaceChildren(...entries.map((entry) => item(entry, at)));
  panel.querySelector("[data-timeline-empty]").hidden = entries.length > 0;
  if (at) panel.querySelector(".timeline-near")?.scrollIntoView({ block: "nearest" });
  // Alerts and actions as chart annotations (static/dashboard/charts.js listens).
  const marks = entries.filter((e) => e.kind === "alert" || e.kind === "action");
  setMarks(marks);
}

if (panel) {
  load();
  setInterval(load, REFRESH_MS);
  document.addEventListener("fleetdeck:alert", (event) => {
    if (String(event.detail.server_id) === panel.dataset.server) load();
  });
}

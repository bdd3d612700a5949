// Control actions, live on every page: the `fleet.action` events a page's socket relays.
// An action is fleet.control.record's ActionRecord (the API's shape): id, server (its id),
// server_name, kind, state, model, times, estimate_s, result, error.
// A running action shows its elapsed time against the usual duration of that model's loads.
import { DASH } from "./format.js";

const KEEP = 6; // finished actions stay listed until newer ones push them out

function seconds(s) {
  return s === null || s === undefined ? DASH : `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
}

export class ActionFeed {
  // `el` is the page's #action-feed list; `filter(action)` picks the actions it shows.
  constructor(el, filter = () => true) {
    this.el = el;
    this.filter = filter;
    this.rows = new Map(); // action id -> {action, receivedAt, li}
    setInterval(() => this.tick(), 500);
  }

  update(action) {
    if (!this.el || !this.filter(action)) return;
    let row = this.rows.get(action.id);
    if (!row) {
      const li = document.createElement("li");
      li.dataset.actionId = action.id;
      this.el.prepend(li);
      row = { li };
      this.rows.set(action.id, row);
    }
    row.action = action;
    row.receivedAt = Date.now();
    this.render(row);
    this.el.closest("[data-action-panel]")?.removeAttribute("hidden");
    const finished = [...this.rows.values()].filter((r) => !["queued", "running"].includes(r.action.state));
    for (const old of finished.slice(KEEP)) {
      old.li.remove();
      this.rows.delete(old.action.id);
    }
  }

  tick() {
    for (const row of this.rows.values()) if (row.action.state === "running") this.render(row);
  }

  render({ action, receivedAt, li }) {
    const elapsed =
      action.state === "running" && action.elapsed_s !== null
        ? action.elapsed_s + (Date.now() - receivedAt) / 1000
        : action.elapsed_s;
    const what = [action.kind, action.model];
    if (action.parameters?.version) what.push(`→ v${action.parameters.version}`);
    const parts = [
      ["what", `${what.join(" ")} on ${action.server_name}`],
      ["state", action.state],
      ["time", action.state === "running" || action.state === "queued"
        ? `${seconds(elapsed)}${action.estimate_s ? ` (usually ${seconds(action.estimate_s)})` : ""}`
        : seconds(elapsed)],
      ["who", action.requested_by ? `by ${action.requested_by}` : ""],
      ["detail", action.error || action.result || ""],
    ];
    li.className = `action action-${action.state}`;
    li.replaceChildren(
      ...parts.map(([key, text]) => {
        const span = document.createElement("span");
        span.className = `action-${key}`;
        span.textContent = text;
        return span;
      }),
    );
  }
}

// Seeds the feed with the actions the server rendered into the page data.
export function actionFeed(page, filter) {
  const feed = new ActionFeed(document.getElementById("action-feed"), filter);
  for (const action of [...(page.actions ?? [])].reverse()) feed.update(action);
  return feed;
}

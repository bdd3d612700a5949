// The alert banner on every page: what is firing now, from /api/alerts/?state=firing and
// then the ws/alerts/ socket (fleet.alerting.records' AlertRecord, the API's shape). Text
// only (textContent): names and causes come from servers and models we do not control.
// Other modules hear of each alert through a "fleetdeck:alert" event on document.
import { connect } from "./live.js";

const SHOWN = 3;

class Banner {
  constructor(el) {
    this.el = el;
    this.firing = new Map(); // id -> alert
  }

  update(alert) {
    if (alert.state === "firing") this.firing.set(alert.id, alert);
    else this.firing.delete(alert.id);
    this.render();
  }

  render() {
    const loud = [...this.firing.values()].filter((a) => !a.silenced);
    const quiet = this.firing.size - loud.length;
    this.el.hidden = this.firing.size === 0;
    const link = document.createElement("a");
    link.href = "/alerts/";
    link.textContent = `${loud.length} alert${loud.length === 1 ? "" : "s"} firing`;
    const parts = [link];
    for (const a of loud.slice(0, SHOWN)) {
      const span = document.createElement("span");
      span.className = "alert-banner-item";
      const ack = a.acknowledged_by ? ` (acknowledged by ${a.acknowledged_by})` : "";
      span.textContent = `${a.kind} ${[a.server_name, a.model].filter(Boolean).join(" / ")}: ${a.cause}${ack}`;
      parts.push(span);
    }
    if (loud.length > SHOWN) parts.push(document.createTextNode(`and ${loud.length - SHOWN} more`));
    if (quiet) parts.push(document.createTextNode(`(${quiet} silenced)`));
    this.el.replaceChildren(...parts);
    this.el.classList.toggle("alert-banner-quiet", loud.length === 0);
  }

  async load() {
    const answer = await fetch("/api/alerts/?state=firing", { headers: { Accept: "application/json" } });
    if (!answer.ok) return;
    this.firing.clear();
    for (const alert of await answer.json()) this.firing.set(alert.id, alert);
    this.render();
  }
}

const el = document.querySelector("[data-alert-banner]");
if (el) {
  const banner = new Banner(el);
  connect("/ws/alerts/", {
    onOpen: () => banner.load(), // first open, and after a reconnect: the gap from the API
    onAlert: (alert) => {
      banner.update(alert);
      document.dispatchEvent(new CustomEvent("fleetdeck:alert", { detail: alert }));
    },
  });
}

// The live socket of a page, with reconnect, and the client-side freshness of servers.
import { age } from "./format.js";

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const PING_MS = 25000;
// How often at most the page tells the server how many frames it has read: a page that
// stops reading is closed (code 4408, dashboard/consumers.py) and reconnects here.
const ACK_MS = 1000;

// Opens ws(s)://host{path}; calls onFrame(frame), onSummary(summary), onAction(event),
// onAlert(alert), onDeployment(record), onRollout(record), onOpen(reconnected). On loss it retries with exponential backoff and jitter; after a
// reconnect the page fills the gap from the API (onOpen(true)).
export function connect(path, { onFrame, onSummary, onAction, onAlert, onDeployment, onRollout, onOpen, onClose }) {
  let delay = MIN_DELAY_MS;
  let opened = false;
  let socket = null;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${path}`);
    socket = ws;
    let received = 0;
    let ackTimer = null;
    const ack = () => {
      ackTimer = null;
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ack", received }));
    };
    ws.addEventListener("open", () => {
      const reconnected = opened;
      opened = true;
      delay = MIN_DELAY_MS;
      document.body.classList.remove("offline");
      onOpen?.(reconnected);
    });
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!message.type?.startsWith("fleet.")) return;
      received += 1;
      ackTimer ??= setTimeout(ack, ACK_MS);
      if (message.type === "fleet.frame") onFrame?.(message);
      else if (message.type === "fleet.summary") onSummary?.(message);
      else if (message.type === "fleet.action") onAction?.(message);
      else if (message.type === "fleet.alert") onAlert?.(message);
      else if (message.type === "fleet.deployment") onDeployment?.(message);
      else if (message.type === "fleet.rollout") onRollout?.(message);
    });
    ws.addEventListener("close", () => {
      clearTimeout(ackTimer);
      document.body.classList.add("offline");
      onClose?.();
      setTimeout(open, delay * (1 + Math.random() / 2));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
  };
  open();
  setInterval(() => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
  }, PING_MS);
}

export function setStatus(el, status) {
  el.textContent = status;
  el.className = `status status-${status}`;
}

// Tracks when each server last sent a frame. A server with no fresh data for two scrape
// intervals is shown stale at once, without waiting for the server side to notice.
export class Freshness {
  constructor(page, servers) {
    this.intervalMs = page.interval * 1000;
    this.state = new Map();
    const skewMs = Date.now() - page.now * 1000; // the page's clock vs the server's
    for (const s of servers) {
      const seen = s.last_scrape_at === null ? null : s.last_scrape_at * 1000 + skewMs;
      this.state.set(s.id, { status: s.status, seen });
    }
    setInterval(() => this.render(), 250);
    this.render();
  }

  frame(frame) {
    const s = this.state.get(frame.server_id) ?? {};
    s.status = frame.status;
    if (frame.status === "up") s.seen = Date.now();
    this.state.set(frame.server_id, s);
    this.render();
  }

  statusOf(serverId) {
    const s = this.state.get(serverId);
    if (!s) return "unknown";
    if (s.status === "up" && (s.seen === null || Date.now() - s.seen > 2 * this.intervalMs)) return "stale";
    return s.status;
  }

  render() {
    for (const el of document.querySelectorAll("[data-status]")) {
      const status = this.statusOf(Number(el.dataset.serverId));
      if (el.textContent !== status) setStatus(el, status);
    }
    for (const el of document.querySelectorAll("[data-age]")) {
      const card = el.closest("[data-server-id]") ?? document.querySelector("[data-status]");
      const s = card && this.state.get(Number(card.dataset.serverId));
      if (s) el.textContent = age(s.seen === null ? null : (Date.now() - s.seen) / 1000);
    }
  }
}

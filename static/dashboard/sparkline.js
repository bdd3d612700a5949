// Sparklines: each server's inferences/s over the last minutes as a small inline SVG (the
// overview loads no chart library). The history is one API call for the whole fleet, in
// buckets; live frames add to the newest bucket or open the next one.
import { rate } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 40;

class Sparkline {
  constructor(el, step, origin, span) {
    this.el = el;
    this.step = step;
    this.origin = origin; // start of bucket 0 (server clock)
    this.span = span;
    this.buckets = new Map(); // index -> {sum, n} (n = 0: a scrape without a value, a gap)
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    this.area = document.createElementNS(SVG, "path");
    this.area.setAttribute("class", "spark-area");
    this.line = document.createElementNS(SVG, "path");
    this.line.setAttribute("class", "spark-line");
    svg.append(this.area, this.line);
    const caption = document.createElement("div");
    caption.className = "spark-caption";
    const title = document.createElement("span");
    title.textContent = `inferences/s, last ${Math.round(span / 60)} min`;
    this.peak = document.createElement("span");
    this.peak.className = "spark-peak";
    caption.append(title, this.peak);
    el.replaceChildren(caption, svg);
  }

  add(t, value) {
    const index = Math.floor((t - this.origin) / this.step);
    const bucket = this.buckets.get(index) ?? { sum: 0, n: 0 };
    if (value !== null && value !== undefined) {
      bucket.sum += value;
      bucket.n += 1;
    }
    this.buckets.set(index, bucket);
  }

  // The buckets of the window ending at `end` as an SVG path; a bucket without a value breaks
  // the line, and so does a missing one.
  render(end) {
    const first = Math.floor((end - this.span - this.origin) / this.step);
    const last = Math.floor((end - this.origin) / this.step);
    for (const index of this.buckets.keys()) if (index < first) this.buckets.delete(index);
    const values = [];
    for (let i = first; i <= last; i++) {
      const b = this.buckets.get(i);
      values.push(b && b.n ? b.sum / b.n : null);
    }
    const top = Math.max(0, ...values.filter((v) => v !== null));
    const x = (i) => ((i / Math.max(1, values.length - 1)) * WIDTH).toFixed(1);
    const y = (v) => (HEIGHT - 1.5 - (top ? (v / top) * (HEIGHT - 4) : 0)).toFixed(1);
    let line = "";
    let area = "";
    let run = [];
    const close = () => {
      if (!run.length) return;
      // A lone bucket is a dot: a zero-length segment with round caps (see the CSS).
      const points = run.length === 1 ? [run[0], run[0]] : run;
      const path = points.map(([i, v], k) => `${k ? "L" : "M"}${x(i)},${y(v)}`).join("");
      line += path;
      area += `${path}L${x(run.at(-1)[0])},${HEIGHT}L${x(run[0][0])},${HEIGHT}Z`;
      run = [];
    };
    values.forEach((v, i) => (v === null ? close() : run.push([i, v])));
    close();
    this.line.setAttribute("d", line);
    this.area.setAttribute("d", area);
    this.peak.textContent = values.some((v) => v !== null) ? `peak ${rate(top)}` : "no data";
    this.el.dataset.points = String(values.filter((v) => v !== null).length);
    this.el.dataset.last = String(values.findLast((v) => v !== null) ?? "");
  }
}

// One sparkline per `[data-sparkline]` element inside a `[data-server-id]` card. Returns
// {frame(serverId, at, value)} to extend them live (frames that come before the history are
// kept until it is in), and reload() to read the history again after frames were missed.
// Times are the server's clock (page.now at render).
export function sparklines(page) {
  const skew = Date.now() / 1000 - page.now;
  const now = () => Date.now() / 1000 - skew;
  const lines = new Map();
  let pending = [];
  let timer = null;
  const add = (serverId, at, value) => {
    const line = lines.get(serverId);
    if (!line) return;
    line.add(at, value);
    line.render(now());
  };
  const load = async () => {
    const response = await fetch("/api/servers/sparklines/", { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = await response.json();
    for (const { server, points } of data.servers) {
      const el = document.querySelector(`.server-card[data-server-id="${Number(server)}"] [data-sparkline]`);
      if (!el || !points.length) continue;
      const line = new Sparkline(el, data.step, points[0][0], points.length * data.step);
      for (const [t, v] of points) line.add(t, v);
      lines.set(server, line);
    }
    for (const args of pending ?? []) add(...args);
    pending = null;
    const render = () => lines.forEach((line) => line.render(now()));
    render();
    timer ??= setInterval(render, data.step * 1000); // the window slides even when no frame comes
  };
  load().catch((error) => {
    for (const el of document.querySelectorAll("[data-sparkline]")) el.textContent = `no history: ${error.message}`;
  });
  return {
    frame: (serverId, at, value) => (pending ? pending.push([serverId, at, value]) : add(serverId, at, value)),
    reload: () => load().catch(() => {}),
  };
}

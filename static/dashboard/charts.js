// Time-series charts: history from the REST API, then live points from socket frames
// appended with Plotly.extendTraces (no full redraw), in a bounded window.
import { axisFor } from "./axis.js";
import { combineRows, plotTime, plotlyText } from "./format.js";
import { currentMarks } from "./marks.js";
import { Stack, instants, tint } from "./stack.js";

const COLORS = ["#1a73e8", "#e8710a", "#188038", "#a142f4", "#d01884", "#12b5cb", "#f9ab00", "#5f6368"];
const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
export const NO_DATA = "No data in this range";

// spec: {el, page, title, traces: [{name, metric, model, version, label, dash, color}],
//        metric, stacked, events, empty}
// A trace's version/label null means "all of them", combined by the metric's aggregate.
// The axis (scale, ticks, unit) follows `metric`, by default the first trace's; `empty` is
// what the chart says while it has no data (default NO_DATA).
export class TimeChart {
  constructor(spec) {
    this.spec = spec;
    this.el = spec.el;
    this.page = spec.page;
    this.info = spec.page.metrics[spec.metric ?? spec.traces[0].metric];
    this.loaded = false;
    this.pending = [];
    this.lastAt = 0;
    this.firstAt = null; // the oldest point shown
    this.open = spec.traces.map(() => false); // a trace's last point has a value
    this.stack = spec.stacked ? new Stack(spec.traces.length) : null;
    this.appending = Promise.resolve();
    // Alerts and actions from the page's timeline (static/dashboard/timeline.js).
    this.marks = currentMarks();
    document.addEventListener("fleetdeck:marks", (event) => {
      this.marks = event.detail;
      if (this.loaded && !this.empty) Plotly.relayout(this.el, this.annotations());
    });
  }

  seriesUrl(trace, since) {
    const q = new URLSearchParams({ metric: trace.metric, since: String(Math.ceil(since)) });
    if (trace.model) q.set("model", trace.model);
    if (trace.version !== null && trace.version !== undefined) q.set("version", trace.version);
    if (trace.label !== null && trace.label !== undefined) q.set("label", trace.label);
    return `/api/servers/${this.page.server.id}/series/?${q}`;
  }

  async fetchPoints(since) {
    return Promise.all(
      this.spec.traces.map(async (trace) => {
        const response = await fetch(this.seriesUrl(trace, since), { credentials: "same-origin" });
        if (!response.ok) throw new Error(`series ${trace.metric}: HTTP ${response.status}`);
        return (await response.json()).points;
      }),
    );
  }

  maxPoints(historyLength) {
    // Short ranges hold raw points at the scrape interval; long ones hold rollups plus at
    // most an hour of live points, so a tab left open does not grow without bound. A
    // stacked band's fill has up to two more points per gap.
    const factor = this.stack ? 2 : 1;
    if (this.page.since <= 3600) return factor * (Math.ceil(this.page.since / this.page.interval) + 10);
    return factor * (historyLength + Math.ceil(3600 / this.page.interval));
  }

  color(i) {
    return this.spec.traces[i].color ?? COLORS[i % COLORS.length];
  }

  // Plotly's traces: one line per spec trace, or for a stacked chart the bands' fills (top
  // band first) then their lines (see stack.js); then one "dot" trace per spec trace, with a
  // marker where its line starts (again). A lone point between gaps is no line at all, so
  // without the dot a value seen at a single scrape would not show.
  traces() {
    const dots = this.spec.traces.map((_, i) => ({
      type: "scatter",
      mode: "markers",
      name: plotlyText(this.spec.traces[i].name),
      x: [],
      y: [],
      customdata: [],
      marker: { size: 5, color: this.color(i) },
      hoverinfo: "skip",
      showlegend: false,
      legendgroup: `t${i}`,
      meta: "dot",
    }));
    return [...this.bands(), ...dots];
  }

  bands() {
    const name = (i) => plotlyText(this.spec.traces[i].name);
    const lines = this.spec.traces.map((trace, i) => ({
      type: "scatter",
      mode: "lines",
      name: name(i),
      x: [],
      y: [],
      customdata: [],
      line: { width: 2, color: this.color(i), dash: trace.dash ?? "solid", shape: "linear" },
      connectgaps: false,
      legendgroup: `t${i}`,
      meta: "line",
    }));
    if (!this.stack) return lines;
    const fills = this.spec.traces.map((_, i) => ({
      type: "scatter",
      mode: "lines",
      name: name(i),
      x: [],
      y: [],
      customdata: [],
      line: { width: 0, color: this.color(i) },
      fill: "tozeroy",
      fillcolor: tint(this.color(i)),
      hoverinfo: "skip",
      legendgroup: `t${i}`,
      meta: "fill",
    }));
    for (const line of lines) line.showlegend = false;
    return [...fills.reverse(), ...lines];
  }

  // Per Plotly trace: the hover text of lines, null for fills and dots.
  hovertemplates() {
    const n = this.spec.traces.length;
    const field = this.stack ? "customdata" : "y";
    const text = (i) => `${this.axis.hover(field)}<extra>${plotlyText(this.spec.traces[i].name)}</extra>`;
    const lines = this.spec.traces.map((_, i) => text(i));
    const none = new Array(n).fill(null);
    return this.stack ? [...none, ...lines, ...none] : [...lines, ...none];
  }

  async load() {
    const series = await this.fetchPoints(this.page.since);
    let top = null;
    for (const points of series) {
      for (const [t, v] of points) {
        this.lastAt = Math.max(this.lastAt, t);
        this.firstAt = this.firstAt === null ? t : Math.min(this.firstAt, t);
        if (v !== null) top = Math.max(top ?? v, v);
      }
    }
    this.empty = top === null;
    this.axis = axisFor(this.info, top);
    const data = this.traces();
    this.hovertemplates().forEach((h, i) => {
      if (h) data[i].hovertemplate = h;
    });
    this.historyLength = Math.max(0, ...series.map((points) => points.length));
    const layout = {
      title: { text: plotlyText(this.spec.title), x: 0, xanchor: "left", font: { size: 15 } },
      margin: { l: 64, r: 16, t: 40, b: 40 },
      height: 280,
      hovermode: "x unified",
      showlegend: true,
      legend: { orientation: "h", y: -0.22, x: 0, traceorder: this.stack ? "reversed" : "normal" },
      // The whole selected range, as Grafana does: a chart with a minute of data in a 1 h
      // range shows that minute at the right edge, not stretched into sub-second ticks.
      xaxis: {
        type: "date", hoverformat: "%H:%M:%S", automargin: true, range: this.window(this.end()), visible: !this.empty,
      },
      yaxis: this.yaxis(),
      ...this.annotations(),
      paper_bgcolor: "#fff",
      plot_bgcolor: "#fff",
    };
    this.fillTraces(data, instants(series));
    await Plotly.newPlot(this.el, data, layout, CONFIG);
    // A person who zooms or pans stops the window from following; a double-click (autorange)
    // starts it again.
    this.following = true;
    this.el.on("plotly_relayout", (event) => {
      if (this.moving) return;
      if (event["xaxis.autorange"]) {
        this.following = true;
        this.follow(this.end());
      } else if ("xaxis.range[0]" in event || "xaxis.range" in event) this.following = false;
    });
    this.loaded = true;
    this.mark(this.lastAt);
    const buffered = this.pending;
    this.pending = [];
    for (const frame of buffered) this.frame(frame);
  }

  yaxis() {
    return {
      title: { text: plotlyText(this.axis.title) },
      rangemode: "tozero",
      automargin: true,
      ...this.axis.yaxis,
      // An empty chart says why instead of showing a made-up 0–4 axis.
      visible: !this.empty,
    };
  }

  // The history's points into the (still unplotted) traces.
  fillTraces(data, rows) {
    for (const [index, x, y, custom] of this.points(rows)) {
      data[index].x.push(x);
      data[index].y.push(y);
      data[index].customdata.push(custom);
    }
    this.el.dataset.empty = String(this.empty);
  }

  // [[t, [value per spec trace]]] as [plotly index, x, y, customdata] to append: a null
  // once where a trace stops (a gap, never a line across it), nothing while it stays empty.
  // A value undefined (the trace has no point at that time) adds nothing.
  *points(rows) {
    const n = this.spec.traces.length;
    const scale = (v) => (typeof v === "number" ? v * this.axis.scale : v);
    for (const [t, raw] of rows) {
      const x = plotTime(t);
      const values = raw.map(scale);
      if (this.stack) {
        const bands = this.stack.step(x, values);
        for (const [k, { line, fill }] of bands.entries()) {
          for (const [px, py] of fill) yield [n - 1 - k, px, py, null];
          for (const [px, py, own, starts] of line) {
            yield [n + k, px, py, own];
            if (starts) yield [2 * n + k, px, py, null];
          }
        }
        continue;
      }
      for (const [k, v] of values.entries()) {
        if (v === undefined) continue;
        if (v !== null) {
          yield [k, x, v, null];
          if (!this.open[k]) yield [n + k, x, v, null];
        } else if (this.open[k]) yield [k, x, null, null];
        this.open[k] = v !== null;
      }
    }
  }

  // Appends rows ([[t, [raw value per spec trace]]], oldest first) to the plotted chart, one
  // call after the other so that points stay in time order.
  append(rows) {
    const run = this.appending.then(() => this.appendNow(rows));
    this.appending = run.catch(() => {});
    return run;
  }

  async appendNow(fresh) {
    // Like the API's history (fleet.storage.with_gaps): points more than 2.5 intervals apart
    // have a gap between them, so a spell without frames is not drawn as a line.
    const rows = [];
    let previous = this.lastAt || null;
    for (const [t, raw] of fresh.filter(([at]) => at > this.lastAt)) {
      if (previous !== null && t - previous > 2.5 * this.page.interval) {
        rows.push([previous + this.page.interval, raw.map(() => null)]);
      }
      rows.push([t, raw]);
      previous = t;
    }
    if (!rows.length) return false;
    const first = rows.flatMap(([, raw]) => raw).find((v) => typeof v === "number");
    if (this.empty && first !== undefined) await this.showData(first);
    const batch = new Map();
    for (const [index, x, y, custom] of this.points(rows)) {
      if (!batch.has(index)) batch.set(index, { x: [], y: [], customdata: [] });
      const b = batch.get(index);
      b.x.push(x);
      b.y.push(y);
      b.customdata.push(custom);
    }
    this.lastAt = rows[rows.length - 1][0];
    this.firstAt ??= rows[0][0];
    if (!batch.size) return false;
    const update = { x: [], y: [], customdata: [] };
    for (const b of batch.values()) for (const key of Object.keys(update)) update[key].push(b[key]);
    await Plotly.extendTraces(this.el, update, [...batch.keys()], this.maxPoints(this.historyLength));
    return true;
  }

  // The first data of a chart that had none: an axis for it, and no "no data" note.
  async showData(value) {
    this.empty = false;
    this.axis = axisFor(this.info, value);
    this.el.dataset.empty = "false";
    const hover = this.hovertemplates();
    const indices = hover.map((h, i) => (h ? i : null)).filter((i) => i !== null);
    await Plotly.restyle(this.el, { hovertemplate: indices.map((i) => hover[i]) }, indices);
    const relayout = { ...this.annotations(), "xaxis.visible": true };
    for (const [key, v] of Object.entries(this.yaxis())) relayout[`yaxis.${key}`] = v;
    await Plotly.relayout(this.el, relayout);
  }

  // ModelEvent rows as vertical lines with a short label; the reason shows on hover. While
  // the chart has no data, a note in the middle says why instead.
  annotations() {
    // An empty chart has no time axis to place events on: only its note.
    const events = this.empty ? [] : (this.spec.events ?? []);
    const marks = this.empty ? [] : this.marks.map((m) => ({ ...m, at: Date.parse(m.at) / 1000 }));
    const notes = events.map((e) => ({
      xref: "x", yref: "paper", x: plotTime(e.at), y: 1, yanchor: "bottom", xanchor: "right", showarrow: false,
      font: { size: 10, color: "#3c4043" },
      text: plotlyText(e.version ? `v${e.version} ${e.new || "gone"}` : e.new || "gone"),
      hovertext: plotlyText(`${e.old || "—"} → ${e.new || "—"} ${e.reason}`),
    }));
    if (this.empty) {
      notes.push({
        xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: { size: 14, color: "#5f6368" },
        text: plotlyText(this.spec.empty ?? NO_DATA),
      });
    }
    const line = (at, color, dash) => ({
      type: "line", xref: "x", yref: "paper", x0: plotTime(at), x1: plotTime(at), y0: 0, y1: 1,
      line: { color, width: 1, dash },
    });
    const color = (m) => (m.kind === "alert" ? "#d93025" : "#1a73e8");
    notes.push(...marks.map((m) => ({
      xref: "x", yref: "paper", x: plotTime(m.at), y: 0, yanchor: "bottom", xanchor: "left",
      showarrow: false, font: { size: 10, color: color(m) },
      text: m.kind === "alert" ? "⚠" : "⚙", hovertext: plotlyText(m.title),
    })));
    return {
      shapes: [
        ...events.map((e) => line(e.at, e.new === "READY" ? "#188038" : "#d93025", "dot")),
        ...marks.map((m) => line(m.at, color(m), "dash")),
      ],
      annotations: notes,
    };
  }

  // One scrape of the server: a point per trace that the frame has a value for. A trace
  // without one (a server down, a model unloaded, a window without requests) gets a gap.
  frame(frame) {
    if (!this.loaded) {
      this.pending.push(frame);
      return;
    }
    const values = this.spec.traces.map((trace) => {
      if (frame.status !== "up") return null;
      const matching = frame.values.filter(
        (v) =>
          v.metric === trace.metric &&
          v.model === (trace.model ?? "") &&
          (trace.version === null || trace.version === undefined || v.version === trace.version) &&
          (trace.label === null || trace.label === undefined || v.label === trace.label),
      );
      return matching.length ? combineRows(matching, trace.metric, this.page.metrics, frame.values) : null;
    });
    this.append([[frame.at, values]]).then((appended) => {
      if (!appended) return;
      this.follow(frame.at);
      this.mark(frame.at);
    });
  }

  end() {
    return Math.max(this.lastAt, this.page.now);
  }

  // The selected range, narrowed to the data there is (but at least a minute or 30
  // scrapes): a fleet started five minutes ago fills the chart instead of a 1 h sliver.
  window(end) {
    const minimum = Math.max(60, 30 * this.page.interval);
    const have = this.firstAt === null ? 0 : end - this.firstAt;
    const span = Math.min(this.page.since, Math.max(minimum, have));
    return [plotTime(end - span), plotTime(end)];
  }

  // Slide the x range to end at `end` (a relayout of one attribute, not a redraw).
  follow(end) {
    if (!this.following) return;
    this.moving = true;
    Plotly.relayout(this.el, { "xaxis.range": this.window(end) }).finally(() => {
      this.moving = false;
    });
  }

  // After a reconnect: read what the socket missed from the API and append it.
  async fillGap() {
    if (!this.loaded) return;
    const since = Date.now() / 1000 - this.lastAt + 2 * this.page.interval;
    const series = await this.fetchPoints(since);
    if (await this.append(instants(series))) this.follow(this.lastAt);
    this.mark(this.lastAt);
  }

  // Exposed on the element for people and tests: the scrape time of the newest point.
  mark(at) {
    this.el.dataset.points = String(Math.max(0, ...(this.el.data ?? []).map((d) => d.x.length)));
    this.el.dataset.lastAt = String(at);
  }
}

export function chartsFor(page, specs) {
  return specs.filter((spec) => spec.el).map((spec) => new TimeChart({ page, ...spec }));
}

// Wires charts to the page's socket: frames go to every chart; a reconnect fills gaps.
export function startCharts(charts) {
  for (const chart of charts) {
    chart.load().catch((error) => {
      chart.el.classList.add("failed");
      chart.el.textContent = `Could not load ${chart.spec.title}: ${error.message}`;
    });
  }
  return {
    frame: (frame) => charts.forEach((c) => c.frame(frame)),
    reconnected: () => charts.forEach((c) => c.fillGap().catch(() => {})),
  };
}

// Time-series charts: history from the REST API, then live points from socket frames
// appended with Plotly.extendTraces (no full redraw), in a bounded window.
import { combineRows, plotTime, plotlyText } from "./format.js";

const COLORS = ["#1a73e8", "#e8710a", "#188038", "#a142f4", "#d01884", "#12b5cb", "#f9ab00", "#5f6368"];
const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

// spec: {el, page, title, unit, traces: [{name, metric, model, version, label, scale, dash}],
//        stacked, events, decimals}
// A trace's version/label null means "all of them", combined by the metric's aggregate.
export class TimeChart {
  constructor(spec) {
    this.spec = spec;
    this.el = spec.el;
    this.page = spec.page;
    this.loaded = false;
    this.pending = [];
    this.lastAt = 0;
    this.firstAt = null; // the oldest point shown
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
    // most an hour of live points, so a tab left open does not grow without bound.
    if (this.page.since <= 3600) return Math.ceil(this.page.since / this.page.interval) + 10;
    return historyLength + Math.ceil(3600 / this.page.interval);
  }

  async load() {
    const series = await this.fetchPoints(this.page.since);
    const unit = this.spec.unit;
    const decimals = this.spec.decimals ?? 2;
    const data = this.spec.traces.map((trace, i) => {
      const points = series[i];
      const scale = trace.scale ?? 1;
      for (const [t] of points) {
        this.lastAt = Math.max(this.lastAt, t);
        this.firstAt = this.firstAt === null ? t : Math.min(this.firstAt, t);
      }
      const color = trace.color ?? COLORS[i % COLORS.length];
      return {
        type: "scatter",
        mode: "lines",
        name: plotlyText(trace.name),
        x: points.map(([t]) => plotTime(t)),
        y: points.map(([, v]) => (v === null ? null : v * scale)),
        line: { width: 2, color, dash: trace.dash ?? "solid", shape: "linear" },
        connectgaps: false,
        hovertemplate: `%{y:,.${decimals}f} ${plotlyText(unit)}<extra>${plotlyText(trace.name)}</extra>`,
        ...(this.spec.stacked ? { stackgroup: "one", fillcolor: `${color}55` } : {}),
      };
    });
    this.historyLength = Math.max(0, ...data.map((d) => d.x.length));
    const layout = {
      title: { text: plotlyText(this.spec.title), x: 0, xanchor: "left", font: { size: 15 } },
      margin: { l: 64, r: 16, t: 40, b: 40 },
      height: 280,
      hovermode: "x unified",
      showlegend: true,
      legend: { orientation: "h", y: -0.22, x: 0, traceorder: "normal" },
      // The whole selected range, as Grafana does: a chart with a minute of data in a 1 h
      // range shows that minute at the right edge, not stretched into sub-second ticks.
      xaxis: { type: "date", hoverformat: "%H:%M:%S", automargin: true, range: this.window(this.end()) },
      yaxis: { title: { text: plotlyText(unit) }, rangemode: "tozero", tickformat: ",.3~f", automargin: true },
      ...this.annotations(),
      paper_bgcolor: "#fff",
      plot_bgcolor: "#fff",
    };
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

  // ModelEvent rows as vertical lines with a short label; the reason shows on hover.
  annotations() {
    const events = this.spec.events ?? [];
    return {
      shapes: events.map((e) => ({
        type: "line", xref: "x", yref: "paper", x0: plotTime(e.at), x1: plotTime(e.at), y0: 0, y1: 1,
        line: { color: e.new === "READY" ? "#188038" : "#d93025", width: 1, dash: "dot" },
      })),
      annotations: events.map((e) => ({
        xref: "x", yref: "paper", x: plotTime(e.at), y: 1, yanchor: "bottom", xanchor: "right", showarrow: false,
        font: { size: 10, color: "#3c4043" },
        text: plotlyText(e.version ? `v${e.version} ${e.new || "gone"}` : e.new || "gone"),
        hovertext: plotlyText(`${e.old || "—"} → ${e.new || "—"} ${e.reason}`),
      })),
    };
  }

  // One scrape of the server: one new point per trace that the frame has values for. A
  // frame of a server that is down appends a gap (null) to every trace.
  frame(frame) {
    if (!this.loaded) {
      this.pending.push(frame);
      return;
    }
    if (frame.at <= this.lastAt) return;
    const x = [];
    const y = [];
    const indices = [];
    this.spec.traces.forEach((trace, i) => {
      let value = null;
      if (frame.status === "up") {
        const matching = frame.values.filter(
          (v) =>
            v.metric === trace.metric &&
            v.model === (trace.model ?? "") &&
            (trace.version === null || trace.version === undefined || v.version === trace.version) &&
            (trace.label === null || trace.label === undefined || v.label === trace.label),
        );
        if (!matching.length) return;
        value = combineRows(matching, trace.metric, this.page.metrics, frame.values) * (trace.scale ?? 1);
      }
      x.push([plotTime(frame.at)]);
      y.push([value]);
      indices.push(i);
    });
    if (!indices.length) return;
    this.lastAt = frame.at;
    this.firstAt ??= frame.at;
    Plotly.extendTraces(this.el, { x, y }, indices, this.maxPoints(this.historyLength)).then(() => {
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
    const from = this.lastAt;
    const x = [];
    const y = [];
    const indices = [];
    series.forEach((points, i) => {
      const scale = this.spec.traces[i].scale ?? 1;
      const fresh = points.filter(([t]) => t > from);
      if (!fresh.length) return;
      x.push(fresh.map(([t]) => plotTime(t)));
      y.push(fresh.map(([, v]) => (v === null ? null : v * scale)));
      indices.push(i);
      this.lastAt = Math.max(this.lastAt, fresh[fresh.length - 1][0]);
    });
    if (indices.length) {
      await Plotly.extendTraces(this.el, { x, y }, indices, this.maxPoints(this.historyLength));
      this.follow(this.lastAt);
    }
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

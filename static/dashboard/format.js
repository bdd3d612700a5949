// Human-readable numbers with units; the same rules as dashboard/templatetags/fleetdeck.py.
// How each metric reads comes from the catalog (fleet/catalog.py), in the page data's
// `metrics`: {name: {unit, format, title, level, label, aggregate, weight}}.
export const DASH = "—";
export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;

export function rate(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return DASH;
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString("en-US");
  return v.toFixed(a >= 10 ? 1 : 2);
}

export function count(v) {
  return v === null || v === undefined ? DASH : Math.round(v).toLocaleString("en-US");
}

export function duration(us) {
  if (us === null || us === undefined) return DASH;
  if (us < 1000) return `${us.toFixed(0)} µs`;
  if (us < 1e6) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}

export function gib(bytes) {
  return bytes === null || bytes === undefined ? DASH : (bytes / GIB).toFixed(1);
}

export function bytes(v) {
  if (v === null || v === undefined) return DASH;
  for (const [unit, size] of [["GiB", GIB], ["MiB", MIB], ["KiB", 1024]]) {
    if (v >= size) return `${(v / size).toFixed(1)} ${unit}`;
  }
  return `${v.toFixed(0)} B`;
}

// A 0..1 ratio as a whole percentage.
export function percent(ratio) {
  return ratio === null || ratio === undefined ? DASH : `${(100 * ratio).toFixed(0)}%`;
}

const FORMATS = { rate, count, us: duration, bytes, percent };

// A value in its metric's format, for a column whose header names the unit (`info` is
// page.metrics[name]); like the metric_number template filter.
export function metricNumber(value, info) {
  return FORMATS[info.format](value ?? null);
}

// A value with the unit its metric reads in ("12.4 inferences/s", "1.2 ms/request"); like
// the metric_value template filter.
export function metricValue(value, info) {
  const number = metricNumber(value, info);
  if (value === null || value === undefined || ["count", "bytes", "percent"].includes(info.format)) return number;
  if (info.format === "us") return number + info.unit.replace(/^µs/, "");
  return `${number} ${info.unit}`;
}

export function age(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  const s = Math.max(0, seconds);
  if (s < 90) return `${s.toFixed(0)} s ago`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

// Plotly reads trace names, annotations and hover text as pseudo-HTML: escape data from
// Triton so that it shows as the literal text it is.
export function plotlyText(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// Plotly shows date strings as given: local wall-clock time, to the millisecond.
export function plotTime(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// The page's data, passed by the template with json_script (never parsed from HTML).
export function readPage() {
  return JSON.parse(document.getElementById("page-data").textContent);
}

// Several series of one metric as one number, like fleet.catalog.combine: rates add up,
// averages are weighted by their denominator's rate when every weight is known.
export function combine(values, aggregate, weights) {
  if (!values.length) return null;
  if (aggregate === "mean" && weights && weights.every((w) => typeof w === "number")) {
    const total = weights.reduce((a, b) => a + b, 0);
    if (total > 0) return values.reduce((sum, v, i) => sum + v * weights[i], 0) / total;
  }
  const total = values.reduce((a, b) => a + b, 0);
  return aggregate === "mean" ? total / values.length : total;
}

// Frame rows ({server_id?, model, version, metric, value}) of `metric` as one number; the
// weights of averages (e.g. requests/s for queue time per request) are looked up in `pool`.
export function combineRows(rows, metric, metrics, pool = rows) {
  const info = metrics[metric];
  const chosen = rows.filter((r) => r.metric === metric);
  const values = chosen.map((r) => r.value);
  if (!info.weight) return combine(values, info.aggregate);
  const key = (r) => `${r.server_id ?? ""}|${r.model}|${r.version}`;
  const rates = new Map(pool.filter((r) => r.metric === info.weight).map((r) => [key(r), r.value]));
  return combine(values, info.aggregate, chosen.map((r) => rates.get(key(r))));
}

// The overview's rankings, like fleet.overview.rank: items ({values: {metric: number}})
// with any of `by` above zero, largest first, ties broken by the next; `by` and `limit`
// come from the page data (rankings, rank_limit).
export function rank(items, by, limit) {
  const value = (item, metric) => item.values[metric] ?? 0;
  return items
    .filter((item) => by.some((metric) => value(item, metric) > 0))
    .sort((a, b) => {
      for (const metric of by) {
        const d = value(b, metric) - value(a, metric);
        if (d) return d;
      }
      return 0;
    })
    .slice(0, limit);
}

// Stacked areas that break where the data stop.
//
// Plotly's `stackgroup` turns a missing point into a zero or a straight line, and a fill
// ("tozeroy", "tonexty") runs across null gaps even where the line breaks: either way a span
// without data is drawn as a ramp. So the chart stacks itself. Each band is two traces:
// - a line (its top edge: the running sum), null at gaps, hover = the band's own value;
// - a fill to zero that drops to zero at both edges of each gap instead of bridging it.
// Fills are opaque and drawn top band first, so each band covers the ones above it below its
// own top edge, and a band that is missing at some time simply is not there.

// An opaque tint of a #rrggbb colour (what `${color}55` looks like on white).
export function tint(color, amount = 0.33) {
  const n = parseInt(color.slice(1), 16);
  const mix = (c) => Math.round(255 - (255 - c) * amount);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(mix);
  return `rgb(${r}, ${g}, ${b})`;
}

export class Stack {
  constructor(bands) {
    this.bands = bands;
    this.open = new Array(bands).fill(false); // the band's last point had a value
    this.lastX = new Array(bands).fill(null);
    this.started = new Array(bands).fill(false);
  }

  // One instant: values[k] is band k's value: a number, null (a gap), or undefined (no
  // point at this time). At a scrape where some band has a value, a band without one has
  // none then: a gap. An instant without any value is a gap marker of some bands; the
  // others, undefined there, go on untouched (their next scrape decides).
  // Returns, per band, the points to append: line [[x, top, own, starts a run]] and fill
  // [[x, y]].
  step(x, values) {
    const scrape = values.some((v) => typeof v === "number");
    let sum = 0;
    return values.map((value, k) => {
      const line = [];
      const fill = [];
      if (value === undefined && !scrape) return { line, fill };
      if (value === null || value === undefined) {
        if (this.open[k]) {
          line.push([x, null, null]);
          fill.push([this.lastX[k], 0]); // straight down at the gap's left edge
        }
        this.open[k] = false;
        return { line, fill };
      }
      sum += value;
      if (!this.open[k] && this.started[k]) fill.push([x, 0]); // straight up at its right edge
      fill.push([x, sum]);
      line.push([x, sum, value, !this.open[k]]);
      this.open[k] = true;
      this.started[k] = true;
      this.lastX[k] = x;
      return { line, fill };
    });
  }
}

// Several series' points ([[t, v]] each) as instants: [[t, [v0, v1, ...]]], oldest first,
// with undefined where a series has no point at t (null stays: a gap marker).
export function instants(series) {
  const byTime = new Map();
  series.forEach((points, k) => {
    for (const [t, v] of points) {
      if (!byTime.has(t)) byTime.set(t, new Array(series.length).fill(undefined));
      byTime.get(t)[k] = v;
    }
  });
  return [...byTime].sort((a, b) => a[0] - b[0]);
}

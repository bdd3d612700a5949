// How a chart reads a metric: the scale of the plotted numbers, the y axis' ticks and title,
// and the hover text, chosen from the metric's format (page data `metrics`, the catalog) and
// the range of the data, so that ticks never repeat (0.001, 0.001, 0.002) and units fit.
const BINARY = [
  ["TiB", 1024 ** 4],
  ["GiB", 1024 ** 3],
  ["MiB", 1024 ** 2],
  ["KiB", 1024],
];

// info: the metric's seed row; top: the largest value the chart shows (raw units), or null.
export function axisFor(info, top) {
  const format = info.format ?? info.unit;
  if (format === "us" || format === "µs/request") {
    // Seconds with SI prefixes: 500µs, 1.5ms, 2s, whatever the range.
    const per = info.unit.includes("/") ? info.unit.split("/")[1] : "";
    return {
      scale: 1e-6,
      title: per ? `time per ${per}` : "time",
      yaxis: { tickformat: "~s", ticksuffix: "s" },
      hover: (field) => `%{${field}:.3~s}s`,
    };
  }
  if (format === "bytes") {
    const [name, size] = BINARY.find(([, s]) => (top ?? 0) >= s) ?? (top ? ["bytes", 1] : BINARY[1]);
    return {
      scale: 1 / size,
      title: name,
      yaxis: { tickformat: "", separatethousands: true },
      hover: (field) => `%{${field}:,.3~r} ${name}`,
    };
  }
  if (format === "percent" || format === "ratio") {
    return {
      scale: 100,
      title: "%",
      yaxis: { tickformat: "", ticksuffix: " %" },
      hover: (field) => `%{${field}:.0f} %`,
    };
  }
  // Rates and counts: Plotly picks the tick step and as many decimals as the step needs.
  return {
    scale: 1,
    title: info.unit,
    yaxis: { tickformat: "", separatethousands: true },
    hover: (field) => `%{${field}:,.3~r} ${info.unit}`,
  };
}

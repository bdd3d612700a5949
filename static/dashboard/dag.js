// An ensemble's DAG as SVG, built with DOM calls: names go in as textContent, never markup.
// Input: fleet.inside.pipeline's PipelineRecord (the pipeline API's answer).
import { DASH, duration, rate } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 190, H = 74, GAP_X = 120, GAP_Y = 24, PAD = 12, IO_H = 30; // GAP_X: room for a tensor name on an edge

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

// Column of each node: inputs 0, a step one right of its furthest producer, outputs last.
function columns(record) {
  const depth = new Map(record.inputs.map((name) => [`input:${name}`, 0]));
  const into = new Map();
  for (const edge of record.edges) into.set(edge.target, [...(into.get(edge.target) ?? []), edge.source]);
  const stepDepth = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 1;  // a cycle Triton would refuse; draw it anyway
    seen.add(id);
    const d = 1 + Math.max(0, ...(into.get(id) ?? []).map((s) => stepDepth(s, seen)));
    depth.set(id, d);
    return d;
  };
  record.steps.forEach((s) => stepDepth(`step:${s.index}`));
  const last = 1 + Math.max(0, ...record.steps.map((s) => depth.get(`step:${s.index}`)));
  record.outputs.forEach((name) => depth.set(`output:${name}`, last));
  return depth;
}

export function drawDag(svg, record, modelUrl) {
  svg.replaceChildren();
  const depth = columns(record);
  const byColumn = new Map();
  for (const [id, d] of depth) byColumn.set(d, [...(byColumn.get(d) ?? []), id]);
  const place = new Map();
  let height = 0;
  for (const [d, ids] of byColumn) {
    ids.forEach((id, row) => {
      const h = id.startsWith("step:") ? H : IO_H;
      place.set(id, { x: PAD + d * (W + GAP_X), y: PAD + row * (H + GAP_Y), h });
      height = Math.max(height, PAD + row * (H + GAP_Y) + H + PAD);
    });
  }
  const width = PAD * 2 + (Math.max(...byColumn.keys()) + 1) * (W + GAP_X) - GAP_X;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  for (const edge of record.edges) {
    const a = place.get(edge.source), b = place.get(edge.target);
    if (!a || !b) continue;
    const [x1, y1, x2, y2] = [a.x + W, a.y + a.h / 2, b.x, b.y + b.h / 2];
    const group = el("g", { class: "dag-edge", "data-tensor": edge.tensor });
    group.append(el("line", { x1, y1, x2, y2 }), el("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 4, "text-anchor": "middle" }, edge.tensor));
    svg.append(group);
  }
  for (const name of record.inputs) svg.append(ioNode(place.get(`input:${name}`), name, "input"));
  for (const name of record.outputs) svg.append(ioNode(place.get(`output:${name}`), name, "output"));
  for (const step of record.steps) svg.append(stepNode(place.get(`step:${step.index}`), step, modelUrl(step.model)));
}

function ioNode(at, name, kind) {
  const group = el("g", { class: `dag-io dag-${kind}`, "data-tensor": name });
  group.append(el("rect", { x: at.x, y: at.y, width: W, height: at.h, rx: 14 }), el("text", { x: at.x + W / 2, y: at.y + 19, "text-anchor": "middle" }, name));
  return group;
}

function stepNode(at, step, href) {
  const group = el("g", { class: `dag-step${step.bottleneck ? " bottleneck" : ""}`, "data-step": step.index, "data-model": step.model });
  group.append(el("rect", { x: at.x, y: at.y, width: W, height: H, rx: 4 }));
  const link = el("a", { href });
  link.append(el("text", { x: at.x + 8, y: at.y + 16, class: "dag-name" }, step.model));
  group.append(link);
  const lines = [
    `${rate(step.inferences_per_s)} inf/s · pending ${step.pending ?? DASH}`,
    `queue ${duration(step.queue_us)} · compute ${duration(step.compute_us)}`,
    step.bottleneck ? "bottleneck" : "",
  ];
  lines.forEach((line, i) => group.append(el("text", { x: at.x + 8, y: at.y + 34 + i * 16, class: i === 2 ? "dag-flag" : "dag-figure" }, line)));
  return group;
}

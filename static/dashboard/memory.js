// Memory bars (per GPU, or host memory) updated in place: from a summary's `memory`
// ([{label, used, total}], fleet.frames.MemoryBar) or from a frame's values.
import { gib } from "./format.js";

export function updateBars(container, bars) {
  const byLabel = new Map(bars.map((b) => [b.label, b]));
  for (const bar of container.querySelectorAll(".bar[data-device]")) {
    const { used, total } = byLabel.get(bar.dataset.device) ?? {};
    if (used === undefined || used === null || total === undefined || total === null) continue;
    const percent = total ? (100 * used) / total : 0;
    const fill = bar.querySelector(".bar-fill");
    fill.style.width = `${percent.toFixed(0)}%`;
    fill.classList.toggle("hot", percent > 90);
    bar.querySelector(".bar-value").textContent = `${gib(used)} / ${gib(total)} GiB`;
  }
}

export function updateMemory(container, frame) {
  const values = new Map();
  for (const v of frame.values) if (!v.model && v.metric.includes("memory")) values.set(`${v.metric}\u0000${v.label}`, v.value);
  const bars = [...container.querySelectorAll(".bar[data-device]")].map(({ dataset: { device } }) =>
    device === "CPU"
      ? { label: device, used: values.get("cpu_memory_used_bytes\u0000"), total: values.get("cpu_memory_total_bytes\u0000") }
      : { label: device, used: values.get(`gpu_memory_used_bytes\u0000${device}`), total: values.get(`gpu_memory_total_bytes\u0000${device}`) },
  );
  updateBars(container, bars);
}

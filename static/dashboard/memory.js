// Memory bars (per GPU, or host memory) updated in place from a frame.
import { gib } from "./format.js";

export function updateMemory(container, frame) {
  const values = new Map();
  for (const v of frame.values) if (!v.model && v.metric.includes("memory")) values.set(`${v.metric}\u0000${v.label}`, v.value);
  for (const bar of container.querySelectorAll(".bar[data-device]")) {
    const device = bar.dataset.device;
    const [used, total] = device === "CPU"
      ? [values.get("cpu_memory_used_bytes\u0000"), values.get("cpu_memory_total_bytes\u0000")]
      : [values.get(`gpu_memory_used_bytes\u0000${device}`), values.get(`gpu_memory_total_bytes\u0000${device}`)];
    if (used === undefined || total === undefined) continue;
    const percent = total ? (100 * used) / total : 0;
    const fill = bar.querySelector(".bar-fill");
    fill.style.width = `${percent.toFixed(0)}%`;
    fill.classList.toggle("hot", percent > 90);
    bar.querySelector(".bar-value").textContent = `${gib(used)} / ${gib(total)} GiB`;
  }
}

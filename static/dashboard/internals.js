// Server page: the internals panel (rate limiter, response cache, shared memory, pinned
// memory, Triton's version), from GET /api/servers/{id}/internals/. Names are text.
import { DASH, bytes, count, percent } from "./format.js";

const panel = document.getElementById("internals");

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

function fill(id, rows, empty) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows);
  if (!rows.length) body.append(row([empty]));
}

async function refresh() {
  const response = await fetch(`/api/servers/${panel.dataset.server}/internals/`, { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  const about = document.getElementById("internals-triton");
  about.replaceChildren();
  const facts = data.triton.error ? [["Triton", data.triton.error]] : [["Triton version", data.triton.version], ["extensions", data.triton.extensions.join(", ")]];
  for (const [term, value] of facts) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = term; dd.textContent = value;
    about.append(dt, dd);
  }
  fill("internals-rate-limiter", data.rate_limiter.flatMap((m) => m.groups.map((g) => {
    const tr = row([m.model, g.name, g.resources.map((r) => `${r.name}×${r.count}${r.global ? " (global)" : ""}`).join(", "), String(g.priority), count(m.pending)]);
    tr.dataset.model = m.model;
    return tr;
  })), "no model declares a rate_limiter");
  const cache = data.cache;
  fill("internals-cache", cache.error ? [row([cache.error])] : (cache.models ?? []).map((m) => row([m.model, count(m.hits), count(m.misses), percent(m.hit_ratio)])),
    cache.enabled ? "no lookups yet" : "no response cache on this server");
  const regions = [];
  for (const kind of ["system", "cuda"]) {
    const list = data.shared_memory[kind];
    if (!Array.isArray(list)) { regions.push(row([kind, list.error ?? "unavailable"])); continue; }
    for (const r of list) {
      const tr = row([kind, r.name, r.key ?? `device ${r.device_id ?? DASH}`, bytes(r.byte_size ?? null)]);
      tr.dataset.region = r.name;
      regions.push(tr);
    }
  }
  fill("internals-shm", regions, "no shared-memory region registered");
  const pinned = data.pinned_memory;
  document.getElementById("internals-pinned").textContent = pinned.error ?? `${bytes(pinned.used_bytes)} used of ${bytes(pinned.total_bytes)}`;
}

if (panel) {
  refresh();
  setInterval(refresh, 15000);
}

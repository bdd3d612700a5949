"""The long-tail autopilot: a few hot models stay loaded, the long tail is loaded on demand
and unloaded when idle, under a memory budget made of measured footprints.

Modules, one job each (none imported here, so that fleet.services can use `usage` without
pulling in the control path):
- `usage`: when each model last served, from statistics' last_inference (Triton's clock).
- `policy`: the per-server policy (AutopilotPolicy), its validation and wire format.
- `budget`: what the server holds against its budget, and what to evict first.
- `ensure`: ensure-loaded: join or request the load, evicting least recently used models.
- `idle`: the beat's idle unload, and the plan a dry run shows.

Every decision is an Action through the one control path (fleet.control), requested by the
system user "autopilot", with its reason in the action's parameters.
"""

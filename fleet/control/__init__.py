"""The control path: load, unload, promote and roll back a model on one server.

Modules, one job each:
- `errors`: the refusals a request can meet, and the failure a running action ends with.
- `gate`: the one control gate (read-only, server, role, name, model), before any Triton call.
- `record`: the one Action wire format (API answers, websocket frames, page seeds), the
  page's list of recent actions, and every state change's broadcast.
- `requests`: validation of a request, the audit log line, the row, the enqueue.
- `traffic`: whether a model served traffic lately (the unload confirmation).
- `runner`: running an action (Triton call, verification, heartbeat) and reconciliation.
- `settle`: an action whose call gave up while Triton went on: it waits, holding its lock.
- `verify`: what Triton's repository index shows of a model, and waiting for it.
- `footprint`: each model's memory, measured from the server's gauge around its loads.

`fleet.tasks` imports this package; nothing here imports `fleet.tasks` (the task is sent
by name), so there is no import cycle.
"""

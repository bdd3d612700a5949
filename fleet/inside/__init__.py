"""Inside one server (issue 14): ensemble pipelines step by step, the batches Triton forms
and their tuning, the server's internals, and timed debug sessions."""

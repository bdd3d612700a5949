"""Demo assets: the Triton model repository (models/) and the traffic generator."""

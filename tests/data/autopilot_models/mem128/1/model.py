"""A model that holds `allocate_mib` MiB (its config's parameter) from initialize on:
OUTPUT0 = INPUT0. Every page is written, so the memory is resident, not just reserved."""

import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        mib = int(config["parameters"]["allocate_mib"]["string_value"])
        self.held = np.ones(mib * 1024 * 1024, dtype=np.uint8)

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            out = pb_utils.Tensor("OUTPUT0", x.astype(np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def finalize(self):
        self.held = None

"""fast: OUTPUT0 = INPUT0 * 2, one response per request of a dynamic batch.

A request containing NaN gets an error response. Triton rejects bad shapes/dtypes
with HTTP 400 *before* the model runs and those never reach
nv_inference_request_failure, so this is the cheap way for the demo traffic to
move the failure counters (reason="BACKEND").
"""

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            if np.isnan(x).any():
                error = pb_utils.TritonError("fast: NaN in INPUT0")
                responses.append(pb_utils.InferenceResponse(error=error))
                continue
            out = pb_utils.Tensor("OUTPUT0", (x * 2).astype(np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

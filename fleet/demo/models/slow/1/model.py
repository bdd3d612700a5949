"""slow: echoes INPUT0 after ~50 ms per request, serially, so requests wait in the queue."""

import time

import triton_python_backend_utils as pb_utils

DELAY_S = 0.05


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            time.sleep(DELAY_S)
            x = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            out = pb_utils.Tensor("OUTPUT0", x)
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

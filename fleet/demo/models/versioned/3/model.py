"""versioned v3: OUTPUT0 = [3], so a caller can tell which version served it.

NaN input fails the request on purpose, for demo traffic. It raises rather than
returning an error response because Triton counts a python-backend error
*response* as a success; only an exception from execute() shows up as
nv_inference_request_failure{reason="BACKEND"}. An exception fails every request
in the call, which is exactly one here: no batching, one instance.
"""

import numpy as np
import triton_python_backend_utils as pb_utils

VERSION = 3


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            if np.isnan(x).any():
                raise pb_utils.TritonModelException(f"versioned v{VERSION}: NaN in INPUT0")
            out = pb_utils.Tensor("OUTPUT0", np.array([VERSION], dtype=np.int32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

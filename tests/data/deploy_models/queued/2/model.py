"""queued v2: OUTPUT0 = [2], 50 ms per request."""

import numpy as np
import triton_python_backend_utils as pb_utils

VERSION = 2
SECONDS_PER_REQUEST = 0.05


class TritonPythonModel:
    def execute(self, requests):
        import time

        responses = []
        for _request in requests:
            time.sleep(SECONDS_PER_REQUEST)
            out = pb_utils.Tensor("OUTPUT0", np.array([VERSION], dtype=np.int32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

"""queued v1: OUTPUT0 = [1] at once."""

import numpy as np
import triton_python_backend_utils as pb_utils

VERSION = 1
SECONDS_PER_REQUEST = 0.0


class TritonPythonModel:
    def execute(self, requests):
        import time

        responses = []
        for _request in requests:
            time.sleep(SECONDS_PER_REQUEST)
            out = pb_utils.Tensor("OUTPUT0", np.array([VERSION], dtype=np.int32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

"""versioned v1: OUTPUT0 = [1], so a caller can tell which version served it."""

import numpy as np
import triton_python_backend_utils as pb_utils

VERSION = 1


class TritonPythonModel:
    def execute(self, requests):
        out = np.array([VERSION], dtype=np.int32)
        return [
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("OUTPUT0", out)]) for _ in requests
        ]

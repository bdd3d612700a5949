"""versioned v2: OUTPUT0 = [2], so a caller can tell which version served it."""

import numpy as np
import triton_python_backend_utils as pb_utils

VERSION = 2


class TritonPythonModel:
    def execute(self, requests):
        out = np.array([VERSION], dtype=np.int32)
        return [
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("OUTPUT0", out)]) for _ in requests
        ]

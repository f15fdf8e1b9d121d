"""`python -m ctt_keras.benchmarks._worker SPEC_JSON`: runs one spec, prints `RESULT <json>`.

The runner sets KERAS_BACKEND to the spec's backend.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv):
    from ctt_keras.benchmarks.measure import run_spec

    print("RESULT " + json.dumps(run_spec(json.loads(argv[1]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

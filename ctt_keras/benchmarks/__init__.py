"""Speed and memory of the paper's networks on any Keras backend (`tools/benchmark.py`, `ctt-benchmark`).

Plans (`plans`) are lists of specs; each spec runs in a fresh process on its backend
(`runner`), which measures it (`measure`, with the backend's device helpers in `device`);
`report` turns the results into a Markdown table and the target ratios. Needs only
Keras, NumPy and the backend's framework (JAX, PyTorch or TensorFlow).

Example:

>>> from ctt_keras import benchmarks
>>> results = benchmarks.run_plan(benchmarks.smoke_plan("jax"))
>>> print(benchmarks.table(results))
"""

from ctt_keras.benchmarks.plans import CELLS, cpu_plan, gpu_plan, smoke_plan  # noqa: F401
from ctt_keras.benchmarks.report import summary, table  # noqa: F401
from ctt_keras.benchmarks.runner import run_plan, run_spec_in_subprocess  # noqa: F401

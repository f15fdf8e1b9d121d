"""The `torch_backend` marker: tests that need PyTorch installed (skipped, with the reason, without it)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "torch_backend: runs ctt_keras on the Keras PyTorch backend; needs torch (skipped otherwise). "
        "Select with `pytest -m torch_backend`.",
    )

"""Shared test configuration: quiet TensorFlow, paths to the shared reference data."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
NVLABS_DIR = SHARED / "reference" / "nvlabs"
DATA_DIR = SHARED / "data"


@pytest.fixture(scope="session")
def nvlabs_dir():
    if not NVLABS_DIR.is_dir():
        pytest.skip(f"reference vectors not found at {NVLABS_DIR}")
    return NVLABS_DIR


@pytest.fixture(scope="session")
def shared_data_dir():
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared data not found at {DATA_DIR}")
    return DATA_DIR

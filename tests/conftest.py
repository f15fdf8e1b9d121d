"""Shared test configuration: quiet TensorFlow, paths to the test data kept in `tests/data`."""

import ipaddress
import os
import pathlib
import socket

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# Every file a default test reads is here (provenance in tests/data/README.md): nothing is skipped for lack
# of files in a fresh clone.
TEST_DATA_DIR = REPO_ROOT / "tests" / "data"
NVLABS_DIR = TEST_DATA_DIR / "nvlabs"
# Upstream LPIPS files (ImageNet backbones, 13 MB) that are not kept in the repository: the tests marked
# `lpips_source` are collected only when this variable names a folder holding them.
LPIPS_SOURCE_VARIABLE = "CTT_KERAS_LPIPS_SOURCE"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"lpips_source: needs the upstream LPIPS files; collected only when ${LPIPS_SOURCE_VARIABLE} is set",
    )


def pytest_collection_modifyitems(config, items):
    if os.environ.get(LPIPS_SOURCE_VARIABLE):
        return
    deselected = [item for item in items if item.get_closest_marker("lpips_source")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("lpips_source")]


@pytest.fixture(scope="session")
def nvlabs_dir():
    """The official-code vectors and checkpoints (tests/data/nvlabs)."""
    return NVLABS_DIR


@pytest.fixture(scope="session")
def test_data_dir():
    """tests/data: LPIPS example images, KTH sequence list, the SSv2 subset table."""
    return TEST_DATA_DIR


@pytest.fixture(scope="session")
def lpips_source_dir():
    """The upstream LPIPS folder named by $CTT_KERAS_LPIPS_SOURCE (its tests are deselected otherwise)."""
    return pathlib.Path(os.environ[LPIPS_SOURCE_VARIABLE])


def _is_local(host):
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def no_internet():
    """No test touches the internet: lookups and connections beyond this machine fail as offline ones do."""
    real = (socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex)
    real_getaddrinfo, real_connect, real_connect_ex = real

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            raise socket.gaierror(socket.EAI_NONAME, f"test run is offline: no lookup of {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    def refuse(address):
        if isinstance(address, tuple) and not _is_local(address[0]):
            raise OSError(f"test run is offline: no connection to {address}")

    def connect(self, address):
        refuse(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        refuse(address)
        return real_connect_ex(self, address)

    socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex = getaddrinfo, connect, connect_ex
    yield
    socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex = real

"""Each strategy trains a tiny model to the same weights as one device (separate processes)."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "strategy_script.py")
TIMEOUT = 240


def _env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _run(mode, out, env=None):
    result = subprocess.run([sys.executable, SCRIPT, mode, str(out)], env=env or _env(), capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(out))


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _weights(results, prefix=""):
    keys = sorted((k for k in results if k.startswith(prefix + "w")), key=lambda k: int(k[len(prefix) + 1:]))
    return [results[k] for k in keys]


def test_mirrored_two_cpu_replicas_matches_one_device(tmp_path):
    results = _run("mirrored", tmp_path / "mirrored.npz")
    assert int(results["mirrored_replicas"]) == 2 and int(results["single_replicas"]) == 1
    np.testing.assert_allclose(results["mirrored_loss"], results["single_loss"], rtol=1e-5)
    single, mirrored = _weights(results, "single_"), _weights(results, "mirrored_")
    assert len(single) == len(mirrored) > 3
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(b, a, atol=1e-6)
    # The run did train: the weights moved away from their initial values by far more than the tolerance.
    assert results["single_loss"][0] > 0


def test_multi_worker_two_local_workers_identical_weights(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        out = tmp_path / f"worker{index}.npz"
        log = open(tmp_path / f"worker{index}.log", "w")
        process = subprocess.Popen([sys.executable, SCRIPT, "worker", str(out)],
                                   env=_env(TF_CONFIG=tf_config), stdout=log, stderr=subprocess.STDOUT)
        workers.append((process, out, log))
    try:
        # The one-device reference, in this process while the workers start.
        sys.path.insert(0, os.path.dirname(SCRIPT))
        import strategy_script

        reference = strategy_script.train("default")
        for process, _, _ in workers:
            process.wait(timeout=TIMEOUT)
    finally:
        for process, _, log in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    for index, (process, _, _) in enumerate(workers):
        assert process.returncode == 0, (tmp_path / f"worker{index}.log").read_text()[-3000:]
    w0, w1 = (dict(np.load(out)) for _, out, _ in workers)
    assert int(w0["replicas"]) == 2
    for a, b in zip(_weights(w0), _weights(w1)):
        np.testing.assert_array_equal(a, b)
    # Same global batch on one device: the same training, up to the order of float sums.
    np.testing.assert_allclose(w0["loss"], reference["loss"], rtol=1e-5)
    for a, b in zip(_weights(reference), _weights(w0)):
        np.testing.assert_allclose(b, a, atol=1e-6)


def test_multi_worker_fix_is_version_guarded():
    from ctt_keras.training import strategy

    assert strategy.multi_worker_fix_needed((3, 15))
    assert not strategy.multi_worker_fix_needed((3, 16))
    assert not strategy.multi_worker_fix_needed((2, 15))


def test_tf_config_is_checked():
    from ctt_keras.training import check_tf_config

    with pytest.raises(ValueError, match="TF_CONFIG environment variable"):
        check_tf_config({})
    with pytest.raises(ValueError, match="not a valid cluster"):
        check_tf_config({"TF_CONFIG": "{not json"})
    with pytest.raises(ValueError, match="outside the 2 workers"):
        check_tf_config({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1", "b:2"]},
                                                  "task": {"type": "worker", "index": 2}})})

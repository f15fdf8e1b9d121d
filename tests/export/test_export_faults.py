"""Each write of an export fails in turn, on a full disk or by a kill: the old version, none, or the new one.

The fault injector of `tests/faults.py` counts every write of the export (Python's file writes, fsyncs,
renames, folders made) plus TensorFlow's own writes of a SavedModel (its folders, the variables
checkpoint, `saved_model.pb`, `fingerprint.pb`), and makes the k-th one fail, for every k. Afterwards the
version folder that TF Serving would load (`OUT/<name>/<version>/`) or the file a user would open is the
old one byte for byte, absent when there was none, or the complete new one; what is left beside it has a
recognisable name (`.partial`, `.previous`, `.tmp`) and, after a full disk, nothing is left; the next
export writes the new version. The conversions (tracing, tf2onnx, the LiteRT converter) are computed once
per test and reused: only the writes are repeated.
"""

import errno
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from ctt_keras import atomic, export, zoo
from ctt_keras.cli import export as export_cli
from ctt_keras.export import _litert, _onnx, _signatures
from ctt_keras.models import VideoPredictor
from tests import faults as faults_lib

CONTEXT, FUTURE = 2, 2
LEFTOVER_SUFFIXES = (".partial", ".previous", ".tmp")


@pytest.fixture(scope="module")
def model():
    model = VideoPredictor((8, 8, 1), layers_per_block=(1,), hidden_channels=(2,), skip_stride=None,
                           kernel_size=3, rank=2, order=2, steps=2, context_frames=CONTEXT, name="tiny")
    model.predict_frames(np.zeros((1, CONTEXT, 8, 8, 1), np.float32), FUTURE)
    return model


@pytest.fixture
def inject(monkeypatch):
    injector = faults_lib.Injector(monkeypatch)
    _hook_tensorflow_writes(monkeypatch, injector)
    return injector


def _hook_tensorflow_writes(monkeypatch, injector):
    """TensorFlow writes a SavedModel through its own file system: its Python entry points become events."""
    from tensorflow.python.checkpoint import checkpoint as tf_checkpoint
    from tensorflow.python.lib.io import file_io

    real_write, real_mkdirs = file_io.atomic_write_string_to_file, file_io.recursive_create_dir
    real_save = tf_checkpoint.TrackableSaver.save

    def half_written(path, data):
        with injector.real_open(path, "wb") as f:
            f.write(data[: len(data) // 2])

    def atomic_write_string_to_file(filename, contents, overwrite=True):
        if injector.faults.hit("tf-write", filename):
            half_written(filename, contents if isinstance(contents, bytes) else contents.encode())
            raise injector.faults.error()
        return real_write(filename, contents, overwrite)

    def recursive_create_dir(dirname):
        if not os.path.isdir(dirname) and injector.faults.hit("tf-mkdir", dirname):
            raise injector.faults.error()
        return real_mkdirs(dirname)

    def save(self, file_prefix, *args, **kwargs):  # the variables: variables.index and its data shard
        if injector.faults.hit("checkpoint", file_prefix):
            half_written(file_prefix + ".index", b"\0" * 64)
            raise injector.faults.error()
        return real_save(self, file_prefix, *args, **kwargs)

    monkeypatch.setattr(file_io, "atomic_write_string_to_file", atomic_write_string_to_file)
    monkeypatch.setattr(file_io, "recursive_create_dir", recursive_create_dir)
    monkeypatch.setattr(tf_checkpoint.TrackableSaver, "save", save)


@pytest.fixture(scope="module")
def conversions():
    return {}


@pytest.fixture
def converted_once(monkeypatch, conversions):
    """Tracing and conversions computed once per module (the model's weights never change here)."""
    cache = conversions

    def once(key, compute):
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    build_archive, onnx_convert, litert_convert = _signatures.build_archive, _onnx._convert, _litert._convert
    monkeypatch.setattr(_signatures, "build_archive",
                        lambda m, c, f: once(("archive", c, f), lambda: build_archive(m, c, f)))
    monkeypatch.setattr(_onnx, "_convert",
                        lambda m, c, f, s, o: once(("onnx", c, f, s, o), lambda: onnx_convert(m, c, f, s, o)))
    monkeypatch.setattr(_litert, "_convert",
                        lambda m, c, f, opts: once(("litert", c, f), lambda: litert_convert(m, c, f, opts)))


def _sweep(inject, tmp_path, start, write, target, kill, kinds=None):
    """Runs `write(root)` on a copy of `start` once per write event, that event failing; yields each result.

    First yields `(None, counted, root, None)`: the uninterrupted write and its events. Then
    `(event, failed, root, leftovers)` per event, after checking what a failure may leave: after a
    full disk nothing but the target (the writer cleans up); after a kill only names ending in
    `.partial`, `.previous` or `.tmp` beside it. `target(root)` is the path a reader would open.
    """
    reference = tmp_path / "reference"
    shutil.copytree(start, reference)
    counted = inject.use(faults_lib.Faults(reference, kinds=kinds))
    write(reference)
    inject.off()
    assert counted.events, "no write was seen"
    yield None, counted, reference, None
    for fail_at, event in enumerate(counted.events, 1):
        root = tmp_path / f"fail-{fail_at}"
        shutil.copytree(start, root)
        inject.use(faults_lib.Faults(root, fail_at=fail_at, kill=kill, kinds=kinds))
        try:
            write(root)
        except faults_lib.Killed:
            assert kill, event
            failed = True
        except OSError as error:
            assert not kill and error.errno == errno.ENOSPC, (event, error)
            failed = True
        else:
            failed = False
        inject.off()
        place = target(root)
        beside = sorted(_names(place.parent) - _names(target(start).parent) - {place.name})
        if kill:
            assert all(name.endswith(LEFTOVER_SUFFIXES) for name in beside), (event, beside)
        else:
            assert not beside, (event, beside)
        yield event, failed, root, tuple(beside)
        shutil.rmtree(root)


def _names(folder):
    return set(os.listdir(folder)) if folder.is_dir() else set()


def _classify(event, failed, state, before, is_new):
    if is_new(state):
        return "new"
    assert state == before, (event, sorted(state), sorted(before))
    assert failed, f"the export failed at {event} without saying so"
    return "old" if before else "none"


# -- SavedModel (TF Serving layout) ---------------------------------------------------------------------


def _saved_model_is_complete(folder, reference):
    """The same files as `reference`, the same variables and description, a whole saved_model.pb."""
    from tensorflow.core.protobuf import fingerprint_pb2, saved_model_pb2
    from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

    files = faults_lib.files_under(folder)
    if set(files) != set(reference):
        return False
    # saved_model.pb and fingerprint.pb differ from one export to the next (generated function names).
    if any(files[k] != reference[k] for k in files if k not in ("saved_model.pb", "fingerprint.pb")):
        return False
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString(files["saved_model.pb"])
    if not {"serving_default", "step", "initial_state"} <= set(proto.meta_graphs[0].signature_def):
        return False
    stored, computed = fingerprint_pb2.FingerprintDef(), fingerprint_pb2.FingerprintDef()
    stored.ParseFromString(files["fingerprint.pb"])
    computed.ParseFromString(fingerprinting.CreateFingerprintDef(os.fspath(folder)))
    fields = ("saved_model_checksum", "graph_def_program_hash", "signature_def_hash",
              "saved_object_graph_hash", "checkpoint_hash")
    return all(getattr(stored, f) == getattr(computed, f) for f in fields)


@pytest.fixture(scope="module")
def saved_models(model, tmp_path_factory):
    """Real SavedModels of the model: an old version (FUTURE + 1 frames) and the new export's TF files."""
    folder = tmp_path_factory.mktemp("saved_models")
    old = export.export_saved_model(model, folder / "serving", CONTEXT, FUTURE + 1)
    new = export.write_saved_model(model, folder / "new", CONTEXT, FUTURE)
    return old, {k: v for k, v in faults_lib.files_under(new).items() if not k.startswith("assets.extra")}


class _CopiedArchive:
    """Stands in for TensorFlow's SavedModel writer: writes the files of a real SavedModel with Python.

    Every file and folder is then a counted write, and no graph is rebuilt per run (TensorFlow's own
    writes fail in turn in `test_tensorflow_s_own_writes_fail_inside_the_partial_folder`).
    """

    def __init__(self, files):
        self.files = files

    def write_out(self, folder, verbose=False):
        for name, data in sorted(self.files.items()):
            path = os.path.join(folder, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)


def _tf_serving_start(tmp_path, old_version):
    start = tmp_path / "start"
    start.mkdir()
    if old_version is not None:  # another rollout length: other graphs, another description
        shutil.copytree(old_version, start / "serving" / "tiny" / "1")
    return start


def _version_folder(root):
    return root / "serving" / "tiny" / "1"


def _export_new_version(model):
    def write(root):
        export.export_saved_model(model, root / "serving", CONTEXT, FUTURE, overwrite=True)

    return write


# A full disk over an existing version (the writer's clean-up), a kill over one (no clean-up), and a kill
# of a first export (no half version where TF Serving looks).
@pytest.mark.parametrize("old, kill", [(True, False), (True, True), (False, True)],
                         ids=["full-disk-over-a-version", "kill-over-a-version", "kill-new-version"])
def test_saved_model_export_leaves_the_old_version_or_the_new(model, saved_models, tmp_path, inject,
                                                              monkeypatch, old, kill):
    old_version, new_files = saved_models
    monkeypatch.setattr(_signatures, "build_archive", lambda *args: _CopiedArchive(new_files))
    start = _tf_serving_start(tmp_path, old_version if old else None)
    write = _export_new_version(model)
    before = faults_lib.files_under(_version_folder(start))
    outcomes, rewritten, reference = [], set(), None
    for event, failed, root, leftovers in _sweep(inject, tmp_path, start, write, _version_folder, kill):
        if event is None:
            reference = faults_lib.files_under(_version_folder(root))
            assert {k: v for k, v in reference.items() if not k.startswith("assets.extra")} == new_files
            continue
        atomic.recover_directory(_version_folder(root))  # what the next export does first (after a kill)
        state = faults_lib.files_under(_version_folder(root))
        outcome = _classify(event, failed, state, before, lambda s: s == reference)
        if outcome not in outcomes:  # each outcome served once, as TF Serving would load it
            _serve(model, _version_folder(root), outcome)
        outcomes.append(outcome)
        # The disk has room again: the next export works, whatever was left (each kind of leftovers once).
        if (outcome, leftovers) not in rewritten:
            rewritten.add((outcome, leftovers))
            write(root)
            assert faults_lib.files_under(_version_folder(root)) == reference, event
            assert _names(_version_folder(root).parent) == {"1"}, event
    assert outcomes[0] != "new" and outcomes[-1] == "new", outcomes


def test_tensorflow_s_own_writes_fail_inside_the_partial_folder(model, saved_models, tmp_path, inject,
                                                                converted_once):
    # TensorFlow writes the SavedModel through its own file system: its folders, the variables checkpoint,
    # saved_model.pb and fingerprint.pb fail in turn (a full disk), with the real writer.
    old_version, _ = saved_models
    start = _tf_serving_start(tmp_path, old_version)
    write = _export_new_version(model)
    before = faults_lib.files_under(_version_folder(start))
    outcomes, reference = [], None
    kinds = ("tf-mkdir", "checkpoint", "tf-write")
    for event, failed, root, _ in _sweep(inject, tmp_path, start, write, _version_folder, False, kinds):
        if event is None:
            reference = faults_lib.files_under(_version_folder(root))
            _assert_every_file_is_a_counted_write(failed.events, reference, "serving/tiny/1.partial")
            continue
        state = faults_lib.files_under(_version_folder(root))
        outcome = _classify(event, failed, state, before,
                            lambda s: _saved_model_is_complete(_version_folder(root), reference))
        assert outcome == "old", event  # every one of TensorFlow's writes comes before the swap
        outcomes.append(outcome)
        if len(outcomes) == 5:  # the last of them: the old version still serves; the next export works
            _serve(model, _version_folder(root), "old")
            write(root)
            assert _saved_model_is_complete(_version_folder(root), reference)
            _serve(model, _version_folder(root), "new")
    assert len(outcomes) == 5, outcomes


def _serve(model, folder, outcome):
    if outcome == "none":
        assert not folder.exists()
        return
    loaded = tf.saved_model.load(os.fspath(folder))
    frames = np.random.default_rng(0).random((1, CONTEXT, 8, 8, 1), dtype=np.float32)
    predicted = loaded.signatures["serving_default"](frames=tf.constant(frames))["predictions"]
    assert predicted.shape[1] == (FUTURE if outcome == "new" else FUTURE + 1)
    np.testing.assert_allclose(predicted, model.predict_frames(frames, predicted.shape[1]), atol=1e-6)


def _assert_every_file_is_a_counted_write(events, files, folder):
    """Each file TensorFlow wrote was a counted event (the checkpoint writes its two files)."""
    written = {os.path.relpath(path, folder) for _, path in events if path.startswith(folder + os.sep)}
    prefixes = {os.path.relpath(path, folder) for kind, path in events if kind == "checkpoint"}
    missed = [f for f in files if f not in written and not f.startswith("assets.extra" + os.sep)
              and not any(f.startswith(p + ".") for p in prefixes)]
    assert not missed, f"{missed} {events}"
    assert {"tf-mkdir", "checkpoint", "tf-write"} == {kind for kind, _ in events}, events

# -- ONNX and LiteRT: the files, and the version folder of `ctt-export` --------------------------------


@pytest.mark.parametrize("kill", [False, True], ids=["full-disk", "kill"])
@pytest.mark.parametrize("format", ["onnx", "litert"])
def test_a_file_export_leaves_the_old_file_or_the_new(model, tmp_path, inject, converted_once, format, kill):
    start = tmp_path / "start"
    start.mkdir()
    (start / f"model.{format}").write_bytes(b"an earlier export")
    exporter = export.export_onnx if format == "onnx" else export.export_litert

    def write(root):
        exporter(model, root / f"model.{format}", CONTEXT, FUTURE, overwrite=True)

    def target(root):
        return root / f"model.{format}"

    before, outcomes = faults_lib.files_under(start), []
    for event, failed, root, _ in _sweep(inject, tmp_path, start, write, target, kill):
        if event is None:
            reference = faults_lib.files_under(root)
            assert reference != before and set(reference) == set(before)
            continue
        state = {k: v for k, v in faults_lib.files_under(root).items() if not k.endswith(LEFTOVER_SUFFIXES)}
        outcomes.append(_classify(event, failed, state, before, lambda s: s == reference))
        write(root)
        assert faults_lib.files_under(root) == reference, event
    assert outcomes[0] == "old" and outcomes[-1] == "new", outcomes


@pytest.fixture(scope="module")
def preset(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("preset") / "tiny"
    zoo.save_preset(model, folder, metadata={"context_frames": CONTEXT, "future_frames": FUTURE})
    return folder


# ONNX (three files and the description) on a full disk and by a kill; LiteRT (one file) on a full disk.
@pytest.mark.parametrize("format, kill", [("onnx", False), ("onnx", True), ("litert", False)],
                         ids=["onnx-full-disk", "onnx-kill", "litert-full-disk"])
def test_ctt_export_leaves_the_old_version_folder_or_the_new(preset, tmp_path, inject, converted_once, capsys,
                                                             format, kill):
    def write(root):
        try:
            export_cli.main([str(preset), "--out", str(root / "serving"), "--format", format, "--overwrite"])
        except SystemExit as exit:  # a full disk ends as a message naming it, exit code 2
            message = capsys.readouterr().err
            assert exit.code == 2 and "No space left on device" in message, message
            raise OSError(errno.ENOSPC, message) from None

    # The version folder already holds an earlier export: the same files, each with other bytes.
    first = tmp_path / "first"
    write(first)
    start = tmp_path / "start"
    for name, data in faults_lib.files_under(_version_folder(first)).items():
        (_version_folder(start) / name).parent.mkdir(parents=True, exist_ok=True)
        (_version_folder(start) / name).write_bytes(data + b" (an earlier export)")
    before, outcomes, rewritten = faults_lib.files_under(_version_folder(start)), [], set()
    for event, failed, root, leftovers in _sweep(inject, tmp_path, start, write, _version_folder, kill):
        if event is None:
            reference = faults_lib.files_under(_version_folder(root))
            assert set(reference) == set(before) and len(reference) == (4 if format == "onnx" else 2)
            continue
        atomic.recover_directory(_version_folder(root))  # what the next export does first (after a kill)
        outcome = _classify(event, failed, faults_lib.files_under(_version_folder(root)), before, lambda s: s == reference)
        outcomes.append(outcome)
        if (outcome, leftovers) not in rewritten:  # each kind of leftovers once
            rewritten.add((outcome, leftovers))
            write(root)  # the next export works
            assert faults_lib.files_under(_version_folder(root)) == reference, event
            assert _names(_version_folder(root).parent) == {"1"}, event
    assert outcomes[0] == "old" and outcomes[-1] == "new", outcomes

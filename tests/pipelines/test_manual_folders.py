"""Preparing KTH / SSv2 from a manual folder that is missing, empty or wrong: a named error, nothing left."""

import os

import pytest

from ctt_keras.pipelines import kth, ssv2


def _tree(root):
    return sorted(os.path.relpath(os.path.join(p, n), root) for p, ds, fs in os.walk(root) for n in ds + fs)


@pytest.mark.parametrize("module, name", [(ssv2, "Something-Something V2"), (kth, "KTH")])
@pytest.mark.parametrize("content", ["missing", "empty", "unrelated"])
def test_bad_manual_folder_is_named_and_leaves_the_data_folder_as_it_was(tmp_path, module, name, content):
    data_dir = tmp_path / "tfds"
    data_dir.mkdir()
    (data_dir / "mine.txt").write_text("the user's")
    manual = tmp_path / "manual"
    if content != "missing":
        manual.mkdir()
    if content == "unrelated":
        (manual / "notes.txt").write_text("x")
    before = _tree(data_dir)
    # Was: TFDS's AssertionError ("Manual directory ... is empty") and folders left in data_dir.
    with pytest.raises(FileNotFoundError) as error:
        module.builder(data_dir, manual_dir=manual)
    assert str(manual) in str(error.value)
    if content != "unrelated":
        assert f"{name} manual folder {manual}" in str(error.value)
    assert _tree(data_dir) == before


def test_default_ssv2_configs_are_the_predefined_ones():
    # A same-named config with other fields made TFDS refuse `--dataset ssv2` at the default 64x64.
    assert ssv2.make_config("subset41") is ssv2.SUBSET_41
    assert ssv2.make_config("all") is ssv2.ALL_174
    assert ssv2.make_config("subset41", frame_size=(32, 32)).name == "subset41_32x32"

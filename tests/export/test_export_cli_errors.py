"""ctt-export refuses bad input with a message naming the flag or file (exit code 2), never a traceback."""

import pytest

from ctt_keras.cli import export as export_cli


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize(
    "argv, message",
    [
        (["nosuchpreset", "--out", "{out}"], "unknown preset 'nosuchpreset'"),
        (["mmnist_convttlstm_small", "--out", "{file}"], "is a file, not a folder"),
        (["mmnist_convttlstm_small", "--out", "{file}/sub"], "is a file, not a folder"),
        (["mmnist_convttlstm_small", "--out", "{out}", "--context", "-1"], "--context must be"),
        (["mmnist_convttlstm_small", "--out", "{out}", "--future", "0"], "--future must be"),
        (["mmnist_convttlstm_small", "--out", "{out}", "--version", "0"], "--version must be"),
        (["mmnist_convttlstm_small", "--out", "{out}", "--weights", "{out}/missing.h5"], "no such file"),
        (["mmnist_convttlstm_small", "--out", "{out}", "--weights", "{file}"], "cannot read weights"),
        (["mmnist_convttlstm_small", "--out", "{out}", "--name", "../x"], "--name must be a plain folder name"),
        (["{tmp}", "--out", "{out}"], "is not a preset folder: config.json not found there"),
    ],
)
def test_bad_export_input_is_a_message(argv, message, tmp_path, a_file, capsys):
    values = {"out": str(tmp_path / "out"), "file": str(a_file), "tmp": str(tmp_path)}
    argv = [a.format(**values) for a in argv]
    with pytest.raises(SystemExit) as exit_:
        export_cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()

"""The built-in presets install as package data of ctt_keras (ctt_keras/presets/), not as a `zoo` package."""

import pathlib
import tomllib

import setuptools

from ctt_keras import zoo

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_pyproject_lists_every_package_and_maps_the_presets():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = setuptools.find_packages(str(ROOT), include=["ctt_keras*"])
    # The repository's pipelines/ folder is installed as ctt_keras.pipelines: its sub-packages too.
    found += [f"ctt_keras.pipelines.{p}" for p in setuptools.find_packages(str(ROOT / "pipelines"))]
    assert sorted(config["packages"]) == sorted(set(found) | {"ctt_keras.pipelines", "ctt_keras.presets"})
    assert not {"zoo", "pipelines"} & set(config["packages"])
    assert config["package-dir"] == {"ctt_keras.pipelines": "pipelines", "ctt_keras.presets": "zoo"}
    patterns = config["package-data"]["ctt_keras.presets"]
    for folder in zoo.BUILTIN_DIR.iterdir():
        for file in folder.glob("*") if folder.is_dir() else ():
            assert any(file.match(f"zoo/{pattern}") for pattern in patterns), file


def test_a_source_checkout_reads_the_zoo_folder():
    assert zoo.BUILTIN_DIR == ROOT / "zoo"

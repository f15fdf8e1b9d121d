"""Built-in presets of `ctt_keras.zoo`: one folder per preset (data only).

Each folder holds `config.json`, `metadata.json`, a `README.md` model card and,
where they were honestly obtained, `model.weights.h5`. `ctt_keras.zoo` reads
these folders; nothing here needs importing. `_make_presets.py` regenerates the
configurations, metadata and cards from one table.
"""

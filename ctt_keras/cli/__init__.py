"""The command lines, installed as `ctt-train`, `ctt-evaluate`, `ctt-predict`, `ctt-prepare-moving-mnist`,
`ctt-export` and `ctt-benchmark` (`python tools/<name>.py` runs the same from a source checkout).

Each module only parses flags and calls the library (`ctt_keras.training`, `ctt_keras.pipelines`,
`ctt_keras.export`); everything a command does, a library user can do with those calls.
"""

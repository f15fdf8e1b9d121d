"""`ctt_keras.pipelines` in a source checkout: the data builders of the repository's `pipelines/` folder.

An installed wheel maps `ctt_keras.pipelines` onto that folder itself (`package-dir` in pyproject.toml), so
this file is never installed. In a checkout or an editable install it points the package at
`<repository>/pipelines` and runs that folder's `__init__.py`, so that `ctt_keras.pipelines.<module>` is read
from there: one copy of the code, one import name.
"""

import os as _os

__path__ = [_os.path.join(_os.path.dirname(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))),
                          "pipelines")]
_init = _os.path.join(__path__[0], "__init__.py")
with open(_init) as _file:
    exec(compile(_file.read(), _init, "exec"))  # noqa: S102 (the package's own __init__, from the checkout)
del _file, _init

"""Fault injection for the writers' tests: each file-system write under a folder is an event; one fails.

`Injector(monkeypatch)` routes the process's writes through the current `Faults`: every write made
under `Faults.root` is recorded as `(kind, path relative to root)`, and the `fail_at`-th one fails.

Kinds of event (each is counted where Python makes it, whoever calls it: our code, `json`, `pathlib`,
`tempfile`, `shutil`, PIL, onnx):

- `write`: one `write()` call on a file opened for writing (`open`, `io.open`, `os.fdopen`, `Path.open`,
  `Path.write_text`); failing, it writes half its data first, as a full disk does;
- `fsync`: `os.fsync` of a file or a folder (counted only: the data is not forced to the disk);
- `rename`: `os.replace` / `os.rename` (the destination is the event's path);
- `mkdir`: `os.mkdir` of a folder not there yet (also `os.makedirs`, `Path.mkdir`, `tempfile.mkdtemp`);
- `create`: `os.open` with `O_CREAT` (`tempfile.mkstemp`);
- `weights`: an HDF5 file opened for writing (`h5py.File`, what `model.save_weights` writes through);
  failing, it leaves a truncated HDF5 header at the path.

A failure is either a full disk (`OSError(ENOSPC)`, the default: the writer's own clean-up runs and the
disk has room again afterwards) or a kill (`kill=True`: `Killed`, a `BaseException`, is raised and
every later write, rename or removal anywhere raises it too, so the disk stays exactly as it was at
the kill). Removals are never events (they need no space), but a killed process makes none.
Writers with other ways to the disk (TensorFlow's C++ file system) add their own events with
`Faults.hit` and `Faults.error`.
"""

import builtins
import errno
import io
import os

ALL_KINDS = ("write", "fsync", "rename", "mkdir", "create", "weights")


class Killed(BaseException):
    """The process died at the failing write: nothing after it reaches the disk."""


class Faults:
    """Counts write events under `root`; the `fail_at`-th one (1-based) fails.

    Args:
        root: Folder whose writes are events (others pass through, uncounted).
        fail_at: The event that fails, or None (count only).
        kill: Fail as a kill (`Killed`, nothing written afterwards) instead of `OSError(ENOSPC)`.
        kinds: The kinds of event counted (default: every kind, `ALL_KINDS` and those a test adds).
    """

    def __init__(self, root, fail_at=None, kill=False, kinds=None):
        self.root = os.path.realpath(os.fspath(root)) if root is not None else None
        self.fail_at, self.kill = fail_at, kill
        self.kinds = None if kinds is None else frozenset(kinds)
        self.events, self.dead = [], False

    def relative(self, path):
        """`path` relative to root, or None when it lies outside."""
        if self.root is None or path is None:
            return None
        path = os.path.realpath(os.fsdecode(os.fspath(path)))
        if path != self.root and not path.startswith(self.root + os.sep):
            return None
        return os.path.relpath(path, self.root)

    def hit(self, kind, path):
        """Records a `kind` event at `path`; True when it is the one that must fail (raise `error()`)."""
        self.alive()
        relative = self.relative(path) if self.kinds is None or kind in self.kinds else None
        if relative is None:
            return False
        self.events.append((kind, relative))
        return len(self.events) == self.fail_at

    def error(self):
        """The failure to raise: ENOSPC, or a kill that stops every later write."""
        if self.kill:
            self.dead = True
            return Killed(f"killed at write {self.fail_at}: {self.events[-1]}")
        return OSError(errno.ENOSPC, "No space left on device (injected)")

    def alive(self):
        if self.dead:
            raise Killed("the process was killed: nothing more is written")


class _FailingFile:
    """A file opened for writing whose `write` calls are events (failing: half the data, then the error)."""

    def __init__(self, f, path, injector):
        self._f, self._path, self._injector = f, path, injector

    def write(self, data):
        faults = self._injector.faults
        if faults.hit("write", self._path):
            self._f.write(data[: len(data) // 2])
            self._f.flush()
            raise faults.error()
        return self._f.write(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()
        return False

    def __iter__(self):
        return iter(self._f)

    def __getattr__(self, name):
        return getattr(self._f, name)


def _fd_path(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


class Injector:
    """Installs the fault hooks once (through `monkeypatch`); `use(faults)` sets the current `Faults`.

    Example:
    ```python
    inject = Injector(monkeypatch)
    counted = inject.use(Faults(tmp_path))          # a clean run: count the events
    write_something(tmp_path)
    for k in range(1, len(counted.events) + 1):
        inject.use(Faults(tmp_path, fail_at=k))
        ...
    ```
    """

    def __init__(self, monkeypatch):
        self.faults = Faults(None)
        real = {name: getattr(os, name) for name in ("replace", "rename", "mkdir", "open", "fsync", "remove",
                                                     "unlink", "rmdir")}
        real_open = self.real_open = builtins.open

        def fake_open(file, mode="r", *args, **kwargs):
            writing = any(c in mode for c in "wax+")
            if writing:
                self.faults.alive()
            f = real_open(file, mode, *args, **kwargs)
            if writing:
                path = _fd_path(file) if isinstance(file, int) else file
                if self.faults.relative(path) is not None:
                    return _FailingFile(f, path, self)
            return f

        def renamer(name):
            def rename(src, dst, *args, **kwargs):
                if self.faults.hit("rename", dst):
                    raise self.faults.error()
                return real[name](src, dst, *args, **kwargs)

            return rename

        def mkdir(path, *args, **kwargs):
            # Only a folder that does not exist yet is a write (os.makedirs tries existing ones too).
            if not os.path.lexists(path) and self.faults.hit("mkdir", path):
                raise self.faults.error()
            return real["mkdir"](path, *args, **kwargs)

        def os_open(path, flags, *args, **kwargs):
            if flags & os.O_CREAT and self.faults.hit("create", path):
                raise self.faults.error()
            return real["open"](path, flags, *args, **kwargs)

        def fsync(fd):
            # Counted, not done: a test needs no durability against power cuts, and a real fsync waits for
            # the disk (seconds on a busy machine).
            if self.faults.hit("fsync", _fd_path(fd if isinstance(fd, int) else fd.fileno())):
                raise self.faults.error()

        def remover(name):
            def remove(*args, **kwargs):
                self.faults.alive()
                return real[name](*args, **kwargs)

            return remove

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)
        monkeypatch.setattr(os, "replace", renamer("replace"))
        monkeypatch.setattr(os, "rename", renamer("rename"))
        monkeypatch.setattr(os, "mkdir", mkdir)
        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(os, "fsync", fsync)
        for name in ("remove", "unlink", "rmdir"):
            monkeypatch.setattr(os, name, remover(name))
        self._patch_h5py(monkeypatch, real_open)

    def _patch_h5py(self, monkeypatch, real_open):
        import h5py

        injector = self

        class File(h5py.File):  # a subclass: isinstance checks against h5py.File still hold
            def __init__(self, name, mode="r", *args, **kwargs):
                if mode != "r" and isinstance(name, (str, bytes, os.PathLike)):
                    if injector.faults.hit("weights", name):
                        with real_open(name, "wb") as f:
                            f.write(b"\x89HDF\r\n\x1a\n truncated by a full disk")
                        raise injector.faults.error()
                super().__init__(name, mode, *args, **kwargs)

        monkeypatch.setattr(h5py, "File", File)

    def use(self, faults):
        """Makes `faults` the current `Faults` (its root, its failing event) and returns it."""
        self.faults = faults
        return faults

    def off(self):
        """No more events or failures (the disk has room again; a killed writer's files stay as they are)."""
        self.faults = Faults(None)


def files_under(folder):
    """{relative path: bytes} of every file under `folder` ({} if it does not exist)."""
    found = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = f.read()
    return found

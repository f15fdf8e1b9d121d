"""Fetching files into the weights cache: whole, checked, renamed into place only when complete.

No partial file is ever left under the final name: the body is streamed into a
hidden file in the same folder, checked (HTTP status, declared length, not an HTML
page, optional sha256, a size bound) and renamed. Errors are `DownloadError`s
whose message says what went wrong and what to download by hand, and where to put it.
"""

import hashlib
import os
import pathlib
import tempfile
import urllib.error
import urllib.request

#: Environment variable: a base URL under which the official checkpoints are fetched by file name.
MIRROR_VARIABLE = "CTT_KERAS_WEIGHTS_MIRROR"

_CHUNK = 1 << 16
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<!--", b"<?xml")


class DownloadError(FileNotFoundError):
    """A file could not be fetched: no network, HTTP error, HTML page, short or huge body, bad hash."""


def cache_dir():
    """Where fetched and converted weights are kept: `$KERAS_HOME/models` (default `~/.keras/models`)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "models"


def mirror_url(file):
    """`$CTT_KERAS_WEIGHTS_MIRROR/<file>` when the variable is set, else None."""
    base = os.environ.get(MIRROR_VARIABLE, "").strip()
    return f"{base.rstrip('/')}/{file}" if base else None


def fetch(url, target, sha256=None, max_bytes=1 << 30, timeout=60, manual=None):
    """Downloads `url` to `target` (a path) and returns it; nothing is left at `target` on failure.

    Args:
        url: http(s) URL.
        target: Final path; its folder is created.
        sha256: Expected hex digest, or None (then the caller checks the content).
        max_bytes: Refuse bodies larger than this (declared or received).
        timeout: Socket timeout in seconds.
        manual: Text appended to every error: what to download by hand and where to put it.

    Raises:
        DownloadError: with the reason and `manual`.
    """
    target = pathlib.Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = f"\n{manual}" if manual else ""
    partial = None
    try:
        handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        with os.fdopen(handle, "wb") as out:
            received, digest = _stream(url, out, max_bytes, timeout, suffix)
            out.flush()
            os.fsync(out.fileno())
        if sha256 and digest != sha256:
            raise DownloadError(
                f"{url} gave a file whose sha256 is {digest}, expected {sha256}: refused.{suffix}"
            )
        os.replace(partial, target)
        return target
    except OSError as error:
        if isinstance(error, DownloadError):
            raise
        # The network was fine, the disk was not (full, read-only): say so, not "the download broke off".
        raise OSError(
            error.errno, f"could not save {url} to {target}: {error.strerror or error}; nothing was kept"
        ) from error
    finally:
        if partial is not None and os.path.exists(partial):
            os.remove(partial)


def _stream(url, out, max_bytes, timeout, suffix):
    request = urllib.request.Request(url, headers={"User-Agent": "ctt_keras"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url} answered HTTP {error.code} {error.reason}.{suffix}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"could not connect to {url} ({reason}): no network?{suffix}") from None
    with response:
        declared = response.headers.get("Content-Length")
        declared = int(declared) if declared and declared.isdigit() else None
        if declared is not None and declared > max_bytes:
            raise DownloadError(
                f"{url} declares {declared} bytes, more than the {max_bytes} allowed.{suffix}"
            )
        content_type = response.headers.get("Content-Type", "")
        digest = hashlib.sha256()
        received = 0
        first = b""
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, ValueError, EOFError, _http_errors()) as error:
                raise DownloadError(
                    f"the download of {url} broke off after {received} bytes ({type(error).__name__}: "
                    f"{error}); nothing was kept.{suffix}"
                ) from None
            if not chunk:
                break
            if not first:
                first = chunk[:512]
                if content_type.startswith("text/html") or _looks_like_html(first):
                    raise DownloadError(
                        f"{url} returned a web page (HTML), not the file: the host asks for a "
                        f"confirmation, a sign-in or is over its download quota.{suffix}"
                    )
            received += len(chunk)
            if received > max_bytes:
                raise DownloadError(f"{url} sent more than the {max_bytes} bytes allowed.{suffix}")
            digest.update(chunk)
            out.write(chunk)  # a local failure (a full disk) is not a network one: `fetch` names the file
    if declared is not None and received != declared:
        raise DownloadError(
            f"the download of {url} is truncated: {received} of {declared} bytes; nothing was kept.{suffix}"
        )
    if received == 0:
        raise DownloadError(f"{url} sent an empty file.{suffix}")
    return received, digest.hexdigest()


def _http_errors():
    import http.client

    return http.client.HTTPException


def _looks_like_html(head):
    text = head.lstrip().lower()
    return any(text.startswith(start) for start in _HTML_STARTS)

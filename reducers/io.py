"""Atomic file writes: a reader sees the old file or the whole new one, never a half. A write
that fails (a full disk, a folder that is gone or not writable) leaves nothing behind and
raises ``OutputError`` naming the file."""

import io
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from reducers.errors import ConfigError, OutputError


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Write to a hidden temp file beside ``path``; rename it into place only on success."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; free some space or "
                          "write elsewhere (paths.output_root=...)") from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # its folder is gone or unwritable: there is nothing to remove
            pass


def write_bytes(path: str | Path, data: bytes) -> None:
    """``data`` to ``path`` atomically."""
    with atomic_open(path) as f:
        f.write(data)


def buffered(save) -> bytes:
    """What ``save(file)`` writes, in memory: libraries that report a full disk in their own
    words (torch: "unexpected pos") then fail here as an ``OSError`` with the real cause."""
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()


def write_json(path: str | Path, obj: dict) -> None:
    with atomic_open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False, default=str)
        f.write("\n")


def make_sqlite_folder(url: str, setting: str, fix: str) -> None:
    """Make the folder of an ``sqlite:///FILE`` URL (sqlite does not); a ConfigError naming
    ``setting`` (e.g. ``tracking.uri``) and ``fix`` when it cannot be made. Any other URL is
    left alone."""
    if not url.startswith("sqlite:///"):
        return
    folder = Path(url[len("sqlite:///"):]).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{setting}={url}: cannot make {folder} ({exc.strerror or exc}); "
                          f"{fix}") from None

"""Atomic file writes: a reader sees the old file or the whole new one, never a half. A write
that fails (a full disk, a folder that is gone or not writable) leaves nothing behind and
raises ``OutputError`` naming the file."""

import io
import json
import os
import tempfile
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


def sqlite_file(url: str) -> Path | None:
    """The file an ``sqlite:///FILE`` URL names; None for any other URL."""
    prefix = "sqlite:///"
    return Path(url[len(prefix):]).expanduser() if url.startswith(prefix) else None


def check_sqlite_url(url: str, setting: str, fix: str) -> None:
    """An ``sqlite:///FILE`` URL that sqlite can use, checked before any run: its folder made
    (sqlite does not) and writable (sqlite writes its journal there), the file a database if
    it exists. A ConfigError naming ``setting`` (e.g. ``tracking.uri``) and ``fix`` otherwise.
    Any other URL is left alone."""
    path = sqlite_file(url)
    if path is None:
        return
    where = f"{setting}={url}"
    if path.is_dir():
        raise ConfigError(f"{where}: {path} is a folder, not a database file; {fix}")
    blocking = not_a_folder(path.parent)
    if blocking:
        raise ConfigError(f"{where}: {blocking}; {fix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise ConfigError(f"{where}: cannot write in {path.parent} ({exc.strerror or exc}); "
                          f"{fix}") from None
    if not path.exists():
        return
    try:
        with open(path, "r+b") as f:
            head = f.read(16)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot write {path} ({exc.strerror or exc}); {fix}") \
            from None
    if head and head != b"SQLite format 3\x00":
        raise ConfigError(f"{where}: {path} is not an SQLite database (it starts "
                          f"{head[:8]!r}); {fix}")


def not_a_folder(folder: Path) -> str | None:
    """Why ``folder`` cannot be made or used as one, when a file or a dangling link stands
    where it or a folder above it would be ("F is a file, not a folder"); None otherwise."""
    try:
        for path in (folder, *folder.parents):
            if path.is_symlink() and not path.exists():
                return f"{path} is a link to {os.readlink(path)}, which does not exist"
            if path.exists():
                return None if path.is_dir() else f"{path} is a file, not a folder"
    except OSError:  # a name too long, a loop of links: the caller's own error says so
        return None
    return None


@contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (made if need be), waiting for another process
    holding it; released when the block ends or the process dies."""
    import fcntl

    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

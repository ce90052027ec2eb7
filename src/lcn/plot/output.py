"""Writing pictures: the format from the suffix, atomically, never over a file we did not write.

Every file written here carries the marker ``lcn.plot`` in its metadata (PNG ``Software``,
SVG and PDF ``Creator``). An existing file without the marker is somebody else's: it is only
replaced with ``force=True`` (nothing a user gave is lost). The picture is written to a
temporary file beside the target and moved into place, so an interrupted write leaves the old
file intact.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from lcn.errors import ConfigError

__all__ = ["save", "check_target", "is_ours", "FORMATS", "MARKER"]

FORMATS = (".png", ".svg", ".pdf")
MARKER = "lcn.plot"
_MAX_SCAN = 64 * 2**20


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _metadata(suffix: str) -> dict[str, str]:
    return {"Software": MARKER} if suffix == ".png" else {"Creator": MARKER}


def is_ours(path: str | Path) -> bool:
    """Whether ``path`` is a picture written by :func:`save` (it carries the marker)."""
    p = Path(path)
    try:
        if p.stat().st_size > _MAX_SCAN:
            return False
        return MARKER.encode() in p.read_bytes()
    except OSError:
        return False


def check_target(path: str | Path, *, force: bool = False, argument: str = "out") -> Path:
    """Check, before any work, that a picture may be written to ``path``: a known suffix, an
    existing directory, and no file there that :func:`save` did not write (unless ``force``)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(argument, f"{str(p)!r} has suffix {suffix or 'none'!r}; use "
                          f"{', '.join(FORMATS)}")
    if p.is_dir():
        raise ConfigError(argument, f"{str(p)!r} is a directory; give a file name")
    if p.exists() and not force and not is_ours(p):
        raise ConfigError(argument, f"{str(p)!r} exists and was not written by lcn plot; "
                          "choose another name or pass --force (force=True) to replace it")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(argument, f"directory {str(parent)!r} does not exist; create it first")
    return p


def save(fig: Any, path: str | Path, *, force: bool = False, argument: str = "out") -> Path:
    """Write ``fig`` to ``path`` (``.png``, ``.svg`` or ``.pdf``, chosen by the suffix) at the
    figure's own size and dpi; refuse to replace an existing file that :func:`save` did not
    write unless ``force`` (:func:`check_target`). Returns the path written."""
    p = check_target(path, force=force, argument=argument)
    suffix = p.suffix.lower()
    fd, tmp = tempfile.mkstemp(prefix=".lcn-plot-", suffix=suffix, dir=p.parent)
    os.close(fd)
    try:
        extra = {"pil_kwargs": {"optimize": True}} if suffix == ".png" else {}
        fig.savefig(tmp, format=suffix[1:], metadata=_metadata(suffix), **extra)
        # mkstemp makes the file private (0600): give it the mode an ordinary open() would
        os.chmod(tmp, p.stat().st_mode & 0o777 if p.exists() else 0o666 & ~_umask())
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p

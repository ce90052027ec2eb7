"""Ctrl-C outside a verb's own handling: before the verbs are imported and during the
interpreter's shutdown, SIGINT exits quietly with 130 (no traceback, no "Exception ignored").

Standard library only, so it is in force before the heavy imports of the CLI start.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["EXIT_INTERRUPTED", "quiet_exit", "quiet_interrupts"]

#: Exit code after Ctrl-C (128 + SIGINT, what a shell reports).
EXIT_INTERRUPTED = 130


def quiet_exit(signum: int, frame: Any) -> None:
    """Flush what was written and leave with 130 at once."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_INTERRUPTED)


def quiet_interrupts() -> Callable[[], None]:
    """Make Ctrl-C exit quietly with 130 until the returned function restores the previous
    handler (a no-op outside the main thread, where signals cannot be handled)."""
    try:
        previous = signal.signal(signal.SIGINT, quiet_exit)
    except ValueError:
        return lambda: None

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return restore

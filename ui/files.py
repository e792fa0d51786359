"""Saving files the person chose: complete or not at all, never a half-written file."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to a temporary file beside `path`, then move it into place in one step.

    A file manager, a mail client or a second save never sees a partial file, and a failed write
    leaves whatever was at `path` before."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def save_file(path: Path, content: bytes) -> None:
    """`write_atomically` off the GUI thread."""
    await asyncio.to_thread(write_atomically, path, content)

"""Small full disks for the fault tests: a size-limited tmpfs (needs root and a mount-capable kernel, else the
test is skipped saying so) and a filler that takes every byte left on it."""
from __future__ import annotations

import errno
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_tmpfs(path: Path, size: str, uid: int | None = None, gid: int | None = None):
    """A tmpfs of ``size`` (e.g. "1m") mounted on ``path`` for the block; always unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a small tmpfs, which needs root to mount")
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0700" + (f",uid={uid},gid={gid}" if uid is not None else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to simulate a full disk here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)     # busy: detach it lazily


def fill(directory: Path) -> Path:
    """Write one file until the file system says ENOSPC; returns it (delete it to free the space)."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as out:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            try:
                while True:
                    out.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler

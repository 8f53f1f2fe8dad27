"""Index generations on disk: the single-writer build lock, publishing, pruning and finding what to load.

    index/.build.lock             held (an OS file lock) by the one build running; names its process
    index/CURRENT                 name of the generation the loader tries first
    index/gen-<time>-<hash>/      published generations, newest last by name
    index/.building-*/            a build in progress (or the leftover of a killed one)

Only the holder of the build lock writes into the index folder. It clears the leftovers of killed builds
(nobody else can be building), writes its generation under a temporary name, renames it, replaces CURRENT
atomically and only then prunes older generations, never the one CURRENT names.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from .errors import IndexBusy, IndexNotFound

CURRENT = "CURRENT"
LOCK = ".build.lock"
MANIFEST = "manifest.json"
# Test hooks (fault injection): the build kills itself (SIGKILL) at the named point, or pauses there until a
# file appears. Points, in order: embedded, written, manifest, renamed, pointer, published, pruned.
FAULT_ENV = "ASSISTANT_TEST_FAULT"  # "POINT"
PAUSE_ENV = "ASSISTANT_TEST_PAUSE"  # "POINT:PATH": writes PATH.reached, waits until PATH exists


def checkpoint(point: str) -> None:
    """A named point of the build where tests may inject a crash or a pause (no-op otherwise)."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_ENV, "")
    if pause.startswith(point + ":"):
        release = Path(pause.split(":", 1)[1])
        Path(f"{release}.reached").write_text(str(os.getpid()), encoding="utf-8")
        deadline = time.monotonic() + 120
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)


@contextlib.contextmanager
def build_lock(
    index_dir: Path, timeout_s: float, log: Callable[[str], None] = lambda _m: None
) -> Iterator[None]:
    """Hold the index folder's build lock: wait up to `timeout_s` for another build, then fail clearly."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                if time.monotonic() >= deadline:
                    raise IndexBusy(
                        f"another build of {index_dir} is running (process {holder}); wait for it to finish, "
                        "or raise ASSISTANT_INDEX__BUILD_LOCK_TIMEOUT_S"
                    ) from None
                if not told:
                    log(f"waiting for another build of {index_dir} (process {holder}) to finish")
                    told = True
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        clear_leftovers(index_dir)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def clear_leftovers(index_dir: Path) -> None:
    """Temporary folders and pointer files of builds that died; call only while holding the build lock."""
    for stale in [*index_dir.glob(".building-*"), *index_dir.glob(f".{CURRENT}.tmp-*")]:
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def new_build_folder(index_dir: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, index_dir: Path, fingerprint: str, keep: int) -> Path:
    """Rename the finished build into place, point CURRENT at it, then prune; returns the published folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    final = index_dir / f"gen-{stamp}-{fingerprint[:8]}"
    os.rename(tmp, final)
    checkpoint("renamed")
    pointer = index_dir / f".{CURRENT}.tmp-{os.getpid()}"
    pointer.write_text(final.name + "\n", encoding="utf-8")
    with pointer.open("rb") as f:
        os.fsync(f.fileno())
    checkpoint("pointer")
    os.replace(pointer, index_dir / CURRENT)
    _fsync_dir(index_dir)
    checkpoint("published")
    prune(index_dir, keep)
    checkpoint("pruned")
    return final


def generations(index_dir: Path) -> list[Path]:
    """Published generation folders, newest first."""
    return sorted((p for p in index_dir.glob("gen-*") if p.is_dir()), reverse=True)


def prune(index_dir: Path, keep: int) -> None:
    """Delete all but the newest `keep` generations; the one CURRENT names is always kept."""
    named = pointed(index_dir)
    for old in [g for g in generations(index_dir) if g.name != named][max(0, keep - 1) :]:
        shutil.rmtree(old, ignore_errors=True)


def pointed(index_dir: Path) -> str | None:
    """The generation name CURRENT holds, if it holds a plausible one."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if name.startswith("gen-") and "/" not in name and "\0" not in name else None


def candidates(index_dir: Path) -> list[Path]:
    """What the loader tries, in order: the generation CURRENT names, then the others, newest first."""
    if not (index_dir / CURRENT).exists() and not generations(index_dir):
        raise IndexNotFound(
            f"no index in {index_dir}; build one with `assistant index build --index {index_dir}`"
        )
    named = pointed(index_dir)
    first = [index_dir / named] if named else []
    return first + [g for g in generations(index_dir) if g.name != named]

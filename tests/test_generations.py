"""The index folder under crashes, racing builders and corruption: a separate build process (`tests.buildproc`)
is killed or paused at each named write and publish point (`assistant.generations.checkpoint`), and every
file of a generation is damaged in turn."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.errors import IndexBusy, IndexMismatch
from assistant.generations import CURRENT, FAULT_ENV, PAUSE_ENV, build_lock, generations, pointed
from assistant.loader import load_generation, load_index

from .conftest import FIXTURE_CORPUS
from .fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
POINTS = ["embedded", "written", "manifest", "renamed", "pointer", "published", "pruned"]


def builder(index_dir: Path, *, keep: int = 2, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A build of the fixture corpus in its own process (its stdout: the published generation's name)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.buildproc", str(index_dir), str(FIXTURE_CORPUS), str(keep)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out.strip()


def loads(index_dir: Path) -> str:
    """The generation the loader serves: it must load, whatever state a crash left."""
    return load_index(index_dir, expected_model=FakeEmbedder.name).generation


def leftovers(index_dir: Path) -> list[str]:
    return sorted(
        p.name for p in index_dir.iterdir() if p.name.startswith((".building-", f".{CURRENT}.tmp-"))
    )


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_kill_9_at_every_point_and_at_random_moments_never_leaves_a_corrupt_index(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    finish(builder(index_dir))
    rng = random.Random(17)
    trials = [*(POINTS * 3), *(None for _ in range(12))]  # 21 at named points, 12 at random moments
    outcomes = []
    for point in trials:
        before = loads(index_dir)
        proc = builder(index_dir, env={FAULT_ENV: point} if point else None)
        if point is None:
            time.sleep(rng.uniform(0.0, 1.0))
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=120)
        served = loads(index_dir)  # never raises: 0 corrupt loads
        named = pointed(index_dir)
        assert named is not None and (index_dir / named).is_dir() and served == named
        outcomes.append((point, proc.returncode, served != before))
    assert len(outcomes) == 33
    assert all(code == -signal.SIGKILL for point, code, _ in outcomes if point is not None)
    # killed before CURRENT is replaced: the old generation is served; after: the new one
    for point, _code, swapped in outcomes:
        if point in ("embedded", "written", "manifest", "renamed", "pointer"):
            assert not swapped, point
        elif point in ("published", "pruned"):
            assert swapped, point
    finish(builder(index_dir))  # the next build clears what the killed ones left
    assert leftovers(index_dir) == []
    assert len(generations(index_dir)) == 2


@pytest.mark.parametrize("point", ["embedded", "renamed", "pointer", "published"])
def test_a_second_builder_waits_for_the_first_at_every_publish_step(tmp_path: Path, point: str) -> None:
    index_dir = tmp_path / "index"
    finish(builder(index_dir, keep=1))
    release = tmp_path / "release"
    first = builder(index_dir, keep=1, env={PAUSE_ENV: f"{point}:{release}"})
    wait_for(Path(f"{release}.reached").exists)
    second = builder(index_dir, keep=1)
    time.sleep(1.0)  # long enough for the second to start, import and reach the lock
    assert second.poll() is None  # waiting for the lock, not writing
    assert len([p for p in index_dir.iterdir() if p.name.startswith(".building-")]) <= 1
    named = pointed(index_dir)
    assert named is not None and (index_dir / named).is_dir()  # CURRENT names a generation that exists
    release.touch()
    first_name, second_name = finish(first), finish(second)
    assert first_name != second_name
    assert pointed(index_dir) == second_name == loads(index_dir)
    assert [g.name for g in generations(index_dir)] == [second_name]  # keep=1: the first was pruned after
    assert leftovers(index_dir) == []


def test_a_builder_that_cannot_get_the_lock_in_time_fails_clearly(tmp_path: Path) -> None:
    # flock conflicts between two descriptors of one process too, so one process can play both builders
    messages: list[str] = []
    with (
        build_lock(tmp_path, timeout_s=5),
        pytest.raises(IndexBusy) as refused,
        build_lock(tmp_path, timeout_s=0.3, log=messages.append),
    ):
        pass
    assert f"process {os.getpid()}" in str(refused.value) and "BUILD_LOCK_TIMEOUT_S" in str(refused.value)
    assert messages and messages[0].startswith("waiting for another build")
    with build_lock(tmp_path, timeout_s=0.3):  # released: free again
        pass


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _delete(path: Path) -> None:
    path.unlink()


def _replace(path: Path) -> None:
    size = max(1, path.stat().st_size)
    path.write_bytes(random.Random(size).randbytes(size))


DAMAGE = {"flip": _flip, "truncate": _truncate, "delete": _delete, "replace": _replace}


def test_every_damaged_file_of_a_generation_is_detected_and_the_newest_valid_one_served(
    tmp_path: Path,
) -> None:
    index_dir = tmp_path / "index"
    older = finish(builder(index_dir))
    newest = finish(builder(index_dir))
    folder = index_dir / newest
    pristine = tmp_path / "pristine"
    shutil.copytree(folder, pristine)
    files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert {"manifest.json", "manifest.sha256", "passages.sqlite", "dense.faiss"} <= {str(f) for f in files}
    detected = 0
    for name in files:
        for how, damage in DAMAGE.items():
            damage(folder / name)
            with pytest.raises(IndexMismatch) as caught:
                load_generation(folder, expected_model=FakeEmbedder.name)
            message = str(caught.value)
            assert "\n" not in message and "rebuild" in message, (name, how, message)
            served = load_index(index_dir, expected_model=FakeEmbedder.name)
            assert served.generation == older and served.fallback_from == message, (name, how)
            detected += 1
            shutil.rmtree(folder)
            shutil.copytree(pristine, folder)
    assert detected == len(files) * len(DAMAGE) >= 40
    assert loads(index_dir) == newest


@pytest.mark.parametrize(
    "pointer", [b"", b"gen-missing\n", b"../../etc\n", b"\xff\xfe\x00garbage", b"gen-a/../b\n"]
)
def test_a_bad_current_pointer_falls_back_to_the_newest_generation(tmp_path: Path, pointer: bytes) -> None:
    index_dir = tmp_path / "index"
    finish(builder(index_dir))
    newest = finish(builder(index_dir))
    (index_dir / CURRENT).write_bytes(pointer)
    assert loads(index_dir) == newest


def test_no_generation_that_verifies_is_one_clear_line(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    for name in [finish(builder(index_dir)), finish(builder(index_dir))]:
        (index_dir / name / "manifest.json").write_text("{")
    with pytest.raises(IndexMismatch) as caught:
        load_index(index_dir, expected_model=FakeEmbedder.name)
    assert "\n" not in str(caught.value) and "assistant index build" in str(caught.value)

"""Abstention thresholds per embedding model: stored with the index, applied on load unless set explicitly,
other models' entries kept, a damaged file ignored rather than trusted."""

from __future__ import annotations

from pathlib import Path

from assistant.calibration import apply_calibration, load_calibration, needs_calibration, save_calibration
from assistant.settings import BUNDLED_MODEL, ComposerSettings, Settings


def test_saved_thresholds_load_per_model(tmp_path: Path) -> None:
    save_calibration(tmp_path, "model-a", {"abstain_below": 0.3, "abstain_below_unknown": 0.44}, split="dev")
    save_calibration(tmp_path, "model-b", {"abstain_below": 0.5, "abstain_below_unknown": 0.6})
    assert load_calibration(tmp_path, "model-a") == {"abstain_below": 0.3, "abstain_below_unknown": 0.44}
    assert load_calibration(tmp_path, "model-b") == {"abstain_below": 0.5, "abstain_below_unknown": 0.6}
    assert load_calibration(tmp_path, "model-c") is None
    assert [p.name for p in tmp_path.iterdir()] == ["calibration.json"]  # no temporary file left behind


def test_a_damaged_file_is_ignored_and_overwritten(tmp_path: Path) -> None:
    (tmp_path / "calibration.json").write_text("{not json", encoding="utf-8")
    assert load_calibration(tmp_path, "m") is None
    save_calibration(tmp_path, "m", {"abstain_below": 0.4})
    assert load_calibration(tmp_path, "m") == {"abstain_below": 0.4}


def test_explicit_thresholds_win_over_the_calibration() -> None:
    calibrated = {"abstain_below": 0.3, "abstain_below_unknown": 0.44}
    applied = apply_calibration(Settings(), calibrated)
    assert (applied.composer.abstain_below, applied.composer.abstain_below_unknown) == (0.3, 0.44)
    pinned = Settings(composer=ComposerSettings(abstain_below=0.5))
    kept = apply_calibration(pinned, calibrated)
    assert (kept.composer.abstain_below, kept.composer.abstain_below_unknown) == (0.5, 0.44)


def test_only_another_model_without_calibration_needs_one(tmp_path: Path) -> None:
    assert not needs_calibration(Settings(), BUNDLED_MODEL, tmp_path)
    other = Settings(model="/models/other")
    assert needs_calibration(other, "/models/other", tmp_path)
    save_calibration(tmp_path, "/models/other", {"abstain_below": 0.4})
    assert not needs_calibration(other, "/models/other", tmp_path)

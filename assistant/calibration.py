"""Abstention thresholds calibrated per embedding model, stored with the index.

The composer's thresholds compare cosine similarities, whose scale differs from one embedding model to another.
The defaults in `ComposerSettings` were chosen on dev data for the bundled all-MiniLM-L6-v2; for any other model,
`assistant eval calibrate` chooses them again on the dev half of an eval set and writes them to
`<index dir>/calibration.json`, keyed by model name. `Assistant.open` applies the calibration of the loaded
model, unless a threshold was set explicitly (an `ASSISTANT_COMPOSER__...` variable or a `Settings(...)` value).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .settings import BUNDLED_MODEL, Settings

CALIBRATED = ("abstain_below", "abstain_below_unknown")
FILE = "calibration.json"


def load_calibration(index_dir: Path, model: str) -> dict[str, float] | None:
    """The thresholds calibrated for `model` in `index_dir`, or None."""
    path = index_dir / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        values = data["models"][model]["thresholds"]
        return {k: float(values[k]) for k in CALIBRATED if k in values}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_calibration(index_dir: Path, model: str, thresholds: dict[str, float], **meta: Any) -> Path:
    """Record `thresholds` for `model` (other models' entries are kept); written atomically."""
    path = index_dir / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data.get("models"), dict):
            data = {"models": {}}
    except (OSError, ValueError):
        data = {"models": {}}
    data["models"][model] = {"thresholds": thresholds, **meta}
    index_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".calibration-", dir=index_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def apply_calibration(settings: Settings, thresholds: dict[str, float]) -> Settings:
    """`settings` with the calibrated thresholds, except those set explicitly."""
    explicit = settings.composer.model_fields_set
    update = {k: v for k, v in thresholds.items() if k not in explicit}
    if not update:
        return settings
    return settings.model_copy(update={"composer": settings.composer.model_copy(update=update)})


def needs_calibration(settings: Settings, model: str, index_dir: Path) -> bool:
    """Whether the thresholds in force were chosen for another model than `model`."""
    return settings.model != BUNDLED_MODEL and load_calibration(index_dir, model) is None

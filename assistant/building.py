"""Building and opening the index an `Assistant` answers from: ingest and publish a generation, rebuild one the
corpus has moved on from, load it with its calibration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .calibration import apply_calibration, load_calibration, needs_calibration
from .embed import Embedder, all_cores, set_threads
from .embedcache import ShardEngine
from .errors import AssistantError, IndexNotFound
from .ingest import load_corpus, source_fingerprint
from .loader import LoadedIndex, load_index, read_manifest
from .manifest import Manifest
from .settings import BUNDLED_MODEL, Settings
from .store import build_index


def build_from_settings(
    settings: Settings,
    embedder: Embedder,
    *,
    sources: Sequence[Path] | None = None,
    index_dir: Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda _m: None,
    engine: ShardEngine | None = None,
) -> Path:
    """Ingest the configured (or given) sources and publish a new index generation; `engine` embeds what the
    embedding cache lacks elsewhere (Ray: `assistant.rayembed`)."""
    sources = list(sources or settings.corpus)
    target = index_dir or settings.index_dir
    fingerprint = source_fingerprint(sources, settings.ingest)
    corpus = load_corpus(
        sources,
        settings.ingest,
        skip_bad_files=settings.ingest.skip_bad_files,
        parse_cache=settings.cache_dir / "parsed" if settings.index.embedding_cache else None,
    )
    log(f"read {len(corpus.documents)} documents, {len(corpus.passages)} passages")
    set_threads(all_cores())
    return build_index(
        corpus,
        embedder,
        settings,
        target,
        source_fingerprint=fingerprint,
        sources=sources,
        progress=progress,
        log=log,
        embedding_cache=settings.cache_dir / "embeddings" if settings.index.embedding_cache else None,
        engine=engine,
    )


def is_stale(manifest: Manifest, settings: Settings) -> bool:
    """Whether an index built from the configured corpus no longer matches the corpus files on disk (or
    they cannot be read any more)."""
    configured = [str(Path(s).resolve()) for s in settings.corpus]
    if manifest.sources != configured:
        return False  # built from other sources (`index build --source ...`): not ours to rebuild
    try:
        return manifest.source_fingerprint != source_fingerprint(settings.corpus, settings.ingest)
    except AssistantError:
        return True


def open_index(
    settings: Settings,
    embedder: Embedder,
    index_dir: Path,
    build_if_missing: bool,
    rebuild_stale: bool,
    log: Callable[[str], None],
) -> tuple[Settings, LoadedIndex]:
    """The index in `index_dir` (built first when missing, rebuilt when stale: see `Assistant.open`), and the
    settings with its calibrated thresholds applied."""
    try:
        manifest = read_manifest(index_dir)
    except IndexNotFound:
        if not build_if_missing:
            raise
        log(f"no index in {index_dir}: building it from {', '.join(map(str, settings.corpus))} (once)")
        build_from_settings(settings, embedder, index_dir=index_dir, log=log)
    else:
        if build_if_missing and rebuild_stale and is_stale(manifest, settings):
            log(f"the corpus changed since {index_dir} was built: rebuilding it")
            try:
                build_from_settings(settings, embedder, index_dir=index_dir, log=log)
            except AssistantError as exc:
                log(f"the rebuild failed, so the index built before answers: {exc}")
    index = load_index(
        index_dir,
        expected_model=embedder.name,
        expected_dimension=embedder.dimension,
        expected_vectors=embedder.vectors,
        log=log,
    )
    thresholds = load_calibration(index_dir, embedder.name)
    if thresholds:
        settings = apply_calibration(settings, thresholds)
    elif needs_calibration(settings, embedder.name, index_dir):
        log(
            f"the abstention thresholds were calibrated for {BUNDLED_MODEL}, not {embedder.name}: run "
            f"`assistant eval calibrate --index {index_dir}` on dev data to calibrate them for this model"
        )
    return settings, index

"""The ONNX Runtime embedder: the same vectors as torch for fp32, a family of their own for 8-bit weights, and a
serving process that never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.embedcache import model_folder
from assistant.errors import IndexMismatch
from assistant.loader import load_index
from assistant.service import build_from_settings
from assistant.settings import BUNDLED_MODEL, Settings

from .fakes import FakeEmbedder

TEXTS = [
    "When should I anticoagulate a patient with AF?",
    "x",
    "Offer atorvastatin 20 mg for the primary prevention of cardiovascular disease. " * 30,  # > 256 tokens
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.mark.real_model
def test_fp32_gives_torchs_vectors_and_tokens(onnx_cache: Path) -> None:
    from assistant.embed import SentenceTransformerEmbedder
    from assistant.onnx_embed import OnnxEmbedder

    torch_side = SentenceTransformerEmbedder(BUNDLED_MODEL)
    onnx_side = OnnxEmbedder(BUNDLED_MODEL, cache_dir=onnx_cache)
    assert (onnx_side.name, onnx_side.dimension, onnx_side.vectors) == (BUNDLED_MODEL, 384, "fp32")
    assert onnx_side.max_tokens == 256  # the model's max_seq_length, not tokenizer.json's 128
    expected = torch_side.embed_documents(TEXTS)
    got = onnx_side.embed_documents(TEXTS, batch_size=2)  # batches sorted by length, put back in order
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.abs(onnx_side.embed_queries(TEXTS[:1]) - expected[:1]).max() < 1e-5
    for text in TEXTS:
        assert onnx_side.count_tokens(text) == torch_side.count_tokens(text)
    assert onnx_side.count_tokens("") == 0


@pytest.mark.real_model
def test_quint8_vectors_are_close_but_their_own_family(onnx_cache: Path) -> None:
    from assistant.embed import SentenceTransformerEmbedder
    from assistant.onnx_embed import OnnxEmbedder

    fp32 = SentenceTransformerEmbedder(BUNDLED_MODEL).embed_documents(TEXTS[:2])
    quint8 = OnnxEmbedder(BUNDLED_MODEL, quantized=True, cache_dir=onnx_cache)
    assert quint8.vectors == "onnx-quint8"
    cosines = (quint8.embed_documents(TEXTS[:2]) * fp32).sum(axis=1)
    assert (cosines > 0.9).all() and (cosines < 0.99999).all()  # near, but not the same vectors


@pytest.mark.real_model
def test_the_serving_process_never_imports_torch(onnx_cache: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from assistant.onnx_embed import OnnxEmbedder; "
        "import assistant.service; "
        f"e = OnnxEmbedder({BUNDLED_MODEL!r}, cache_dir=Path({str(onnx_cache)!r})); e.embed_queries(['gout']); "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_an_export_that_fails_says_what_to_do(tmp_path: Path) -> None:
    from assistant.onnx_embed import OnnxEmbedder

    with pytest.raises(IndexMismatch, match=r"cannot export .* ASSISTANT_EMBEDDING_BACKEND=torch"):
        OnnxEmbedder(str(tmp_path / "no-such-model"), cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache" / "onnx").glob("*/export.json"))  # nothing that looks finished


class Quint8Fake(FakeEmbedder):
    vectors = "onnx-quint8"


def test_an_index_of_one_family_is_refused_to_the_other(built_settings: Settings) -> None:
    fp32 = FakeEmbedder()
    with pytest.raises(IndexMismatch, match="ASSISTANT_EMBEDDING_BACKEND="):
        load_index(
            built_settings.index_dir,
            expected_model=fp32.name,
            expected_dimension=fp32.dimension,
            expected_vectors="onnx-quint8",
        )
    assert load_index(built_settings.index_dir, expected_model=fp32.name, expected_vectors="fp32")


def test_families_never_share_an_embedding_cache(tmp_path: Path) -> None:
    assert model_folder(tmp_path, FakeEmbedder()) != model_folder(tmp_path, Quint8Fake())


def test_a_quint8_build_records_its_family(settings: Settings) -> None:
    folder = build_from_settings(settings, Quint8Fake(), progress=False)
    assert '"vectors": "onnx-quint8"' in (folder / "manifest.json").read_text()
    with pytest.raises(IndexMismatch, match="onnx-quint8 vectors"):
        load_index(settings.index_dir, expected_model=FakeEmbedder.name, expected_vectors="fp32")


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="embedding_backend"):
        Settings(embedding_backend="tensorflow")  # type: ignore[arg-type]


@pytest.mark.real_model
def test_a_model_with_modules_past_pooling_is_refused_not_exported_wrong(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer

    from assistant.embed import resolve_model
    from assistant.onnx_embed import OnnxEmbedder

    base = Transformer(resolve_model(BUNDLED_MODEL))
    pooling = Pooling(base.get_embedding_dimension())
    dense = Dense(base.get_embedding_dimension(), 64)  # a projection ONNX would leave out
    SentenceTransformer(modules=[base, pooling, dense]).save(str(tmp_path / "projected"))
    with pytest.raises(IndexMismatch, match=r"modules the ONNX embedder does not run \(Dense\)"):
        OnnxEmbedder(str(tmp_path / "projected"), cache_dir=tmp_path / "cache")

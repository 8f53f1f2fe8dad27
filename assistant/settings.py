"""Configuration: one `Settings` object, read from `ASSISTANT_*` environment variables.

Nested groups use a double underscore: `ASSISTANT_RETRIEVAL__MODE=dense`, `ASSISTANT_COMPOSER__MAX_SENTENCES=8`.
Built in one place (`get_settings()`) and passed down explicitly; tests build their own `Settings(...)`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .settings_service import ApiSettings, ConversationSettings, LibrarySettings

__all__ = [
    "BUNDLED_MODEL",
    "PROJECT_ROOT",
    "ApiSettings",
    "ComposerSettings",
    "ConversationSettings",
    "IndexSettings",
    "IngestSettings",
    "LibrarySettings",
    "RetrievalSettings",
    "Settings",
    "get_settings",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


class IngestSettings(BaseModel):
    max_passage_words: int = Field(
        160, ge=20, le=2000, description="Longest passage in words; longer paragraphs split at sentence ends."
    )
    min_passage_words: int = Field(
        25, ge=0, le=500, description="Shorter paragraphs are merged with the next one of the same section."
    )
    max_file_bytes: int = Field(
        5_000_000,
        ge=1,
        description="Largest Markdown corpus file (checked before it is read), and largest document text of a "
        "JSONL line; a larger one is refused.",
    )
    max_passages_per_document: int = Field(
        2000, ge=1, description="A document that would make more passages than this is refused."
    )
    max_front_matter_bytes: int = Field(
        20_000,
        ge=1,
        description="Largest YAML front-matter block of a Markdown document; a larger one is refused.",
    )
    skip_bad_files: bool = Field(
        False,
        description="Leave out a file that cannot be read (listed in the manifest's left_out and in "
        "`assistant library status`) instead of failing the build.",
    )
    dedupe_passages: bool = Field(
        True,
        description="Index a passage once when another document already has the same or nearly the same text.",
    )
    near_duplicate_jaccard: float = Field(
        0.9,
        gt=0.0,
        le=1.0,
        description="Word-shingle Jaccard similarity (MinHash estimate, then checked exactly) from which two "
        "passages of different documents count as the same text.",
    )


class IndexSettings(BaseModel):
    batch_size: int = Field(32, ge=1, le=1024, description="Passages per embedding batch (length-sorted).")
    embedding_cache: bool = Field(
        True,
        description="Keep computed vectors in cache_dir/embeddings and reuse them, so a rebuild embeds only "
        "new text.",
    )
    embedding_shard_size: int = Field(
        1024,
        ge=1,
        le=1_000_000,
        description="Texts per embedding-cache shard (a killed build loses at most one).",
    )
    embed_context: bool = Field(
        True,
        description="Prefix the document title and section heading to the text that is embedded and BM25-indexed.",
    )
    sentence_embeddings: bool = Field(
        True, description="Also embed every sentence at build time (used by the composer to pick sentences)."
    )
    bm25_k1: float = Field(0.9, ge=0.0, le=5.0, description="BM25 term-frequency saturation (k1).")
    bm25_b: float = Field(0.4, ge=0.0, le=1.0, description="BM25 length normalisation (b).")
    hnsw_above: int = Field(
        50_000,
        ge=1,
        description="Passage count above which FAISS uses HNSW instead of exact flat search (benchmarks/scale.py: "
        "exact search over 100k vectors takes 13 ms on one thread, HNSW tuned to recall@10 0.99 a few ms).",
    )
    ivf_above: int = Field(
        2_000_000,
        ge=1,
        description="Passage count above which FAISS uses IVF-PQ with exact re-ranking of its candidates instead "
        "of HNSW (RAM holds compact codes; the float vectors stay memory-mapped).",
    )
    backend: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="The vector engine: FAISS files in each generation, or Milvus (a collection per generation; "
        "Milvus Lite beside the generations unless milvus_uri names a server; needs the [milvus] extra).",
    )
    milvus_uri: str | None = Field(
        None,
        description="A Milvus server (http://host:19530); default: Milvus Lite in <index dir>/milvus.db.",
    )
    milvus_prefix: str = Field(
        "assistant",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,40}$",
        description="Collection names start with it; the served generation is the alias <prefix>_current.",
    )
    milvus_index: Literal["FLAT", "HNSW", "IVF_FLAT", "AUTOINDEX"] = Field(
        "FLAT", description="Milvus's index type (Milvus Lite: FLAT or IVF_FLAT)."
    )
    keep_generations: int = Field(2, ge=1, le=20, description="How many published index generations to keep.")
    build_lock_timeout_s: float = Field(
        3600.0, ge=0, description="How long a build waits for another build of the same index folder."
    )


class RetrievalSettings(BaseModel):
    mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Which retriever answers queries.")
    fusion: Literal["zscore", "weighted", "rrf", "adaptive"] = Field(
        "zscore",
        description="How hybrid mode fuses dense and BM25 rankings: z-scored or min-max weighted scores, RRF, or "
        "'adaptive' (z-scored, with a dense weight chosen per query from the query's own signals).",
    )
    adaptive: list[float] = Field(
        [-0.5, 0.0, 2.0, 0.0],
        min_length=4,
        max_length=4,
        description="Adaptive fusion: the dense weight of a query is sigmoid(a + b log(1 + content terms) + c "
        "share of its terms the BM25 index does not know + d peakedness of its BM25 scores); [a, b, c, d] "
        "were chosen on dev queries by scripts/tune_fusion.py (not the default: no gain on the test queries).",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(
        0.45, ge=0.0, le=1.0, description="Weight of the dense score in zscore and weighted fusion."
    )
    candidates: int = Field(
        100, ge=1, le=5000, description="Candidates taken from each retriever before fusion."
    )
    top_k: int = Field(
        10, ge=1, le=100, description="Passages handed to the composer (chosen on clinician dev: 8 -> 10)."
    )
    max_per_doc: int = Field(
        4, ge=1, le=100, description="At most this many passages of one document in the top_k (dev: 3 -> 4)."
    )
    reranker: str | None = Field(
        None,
        description="Optional sentence-transformers CrossEncoder name or path to rerank the top candidates.",
    )
    rerank_depth: int = Field(
        30, ge=1, le=1000, description="How many fused candidates the reranker rescores."
    )


class ComposerSettings(BaseModel):
    max_sentences: int = Field(6, ge=1, le=50, description="Most sentences in one answer.")
    min_sentence_score: float = Field(
        0.35, ge=-1.0, le=1.0, description="Sentences scoring below this are never used or cited."
    )
    abstain_below: float = Field(
        0.42, ge=-1.0, le=1.0, description="Abstain when the best sentence scores below this."
    )
    abstain_below_unknown: float = Field(
        0.56,
        ge=-1.0,
        le=1.0,
        description="The abstention threshold when the question uses words the corpus never does.",
    )
    relative_margin: float = Field(
        0.15,
        ge=0.0,
        le=2.0,
        description="Only sentences within this margin of the best sentence's score are used.",
    )
    lexical_weight: float = Field(
        0.3, ge=0.0, le=1.0, description="Weight of term overlap in the sentence score."
    )
    aspect_boost: float = Field(
        0.08,
        ge=0.0,
        le=1.0,
        description="Added to sentences from a section that matches the aspect asked about.",
    )
    focus_boost: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="For a follow-up, added in proportion to the share of the user's own words a sentence has.",
    )
    redundancy: float = Field(
        0.85, ge=0.0, le=1.0, description="Drop a sentence this similar to one already chosen."
    )
    patient_boost: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="For the patient audience: added to the score of sentences from patient-information "
        "sources. Set by hand, not tuned.",
    )
    readability_tie: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="For the patient audience: sentences scoring within this of one another count as equally "
        "relevant, and the more readable (Coleman-Liau grade) goes first. Set by hand, not tuned.",
    )
    passage_weight: float = Field(
        0.5,
        ge=0.0,
        le=2.0,
        description=(
            "Sentences lose this times the gap between their passage's dense retrieval score and the best "
            "passage's: a sentence from a passage the retriever ranks far below must match much better to be used."
        ),
    )
    abstain_on_unknown_names: bool = Field(
        True,
        description="Abstain when the question names something (an acronym, a drug) no source mentions, and say so.",
    )
    lead_model: str = Field(
        "bundled",
        description="The learned lead scorer: 'bundled' (trained on the dev half of evals/clinician.jsonl with "
        "the default embedding model), a path to weights from scripts/train_lead_scorer.py, or 'none' for the "
        "hand-set lead adjustment.",
    )
    lead_window: float = Field(
        0.35,
        ge=0.0,
        le=2.0,
        description="The lead is chosen among usable sentences whose score is within this of the best one's.",
    )
    kind_boost: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Added, when choosing the lead, to a sentence that gives the kind of answer asked for "
        "(a drug for 'which drug', a number with its unit for a dose or target, a time for 'when').",
    )
    qualifier_weight: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="When choosing the lead, added for each qualifier of the question a sentence states (age "
        "band, pregnancy, children, primary or secondary prevention ...).",
    )
    conflict_penalty: float = Field(
        0.3,
        ge=0.0,
        le=2.0,
        description="When choosing the lead, taken off for each qualifier a sentence contradicts (another age "
        "band, a special population or a contrasting qualifier the question did not ask about).",
    )
    dangling_penalty: float = Field(
        0.3,
        ge=0.0,
        le=2.0,
        description="Taken off a lead that leans on text not shown ('This trial', 'These patients'); such a "
        "sentence is used elsewhere only right after the sentence it leans on.",
    )
    phrase_boost: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="When choosing the lead, added for each two-word phrase of the question a sentence has (at most two).",
    )
    scope_penalty: float = Field(
        0.1,
        ge=0.0,
        le=2.0,
        description="Taken off a lead that states a document's scope or design ('NG136 covers ...').",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="ignore")

    model: str = Field(
        BUNDLED_MODEL,
        description="sentence-transformers model name or path; the default is the bundled all-MiniLM-L6-v2.",
    )
    embedding_backend: Literal["torch", "onnx", "onnx-quint8"] = Field(
        "torch",
        description="What runs the model: 'torch' (sentence-transformers); 'onnx' (ONNX Runtime, the same "
        "vectors, faster queries, no torch in the serving process; needs the [onnx] extra); 'onnx-quint8' "
        "(8-bit weights: the fastest queries; vectors of their own that need an index built with them).",
    )
    corpus: list[Path] = Field(
        default_factory=lambda: [PROJECT_ROOT / "corpus"],
        description="Corpus folders or files (Markdown with front matter, or BEIR-style JSONL).",
    )
    index_dir: Path = Field(PROJECT_ROOT / "index", description="Where built index generations live.")
    data_dir: Path = Field(PROJECT_ROOT / "data", description="Conversation database and other state.")
    cache_dir: Path = Field(PROJECT_ROOT / ".cache", description="Cached indexes of evaluation corpora.")
    max_question_chars: int = Field(2000, ge=10, le=100_000, description="Longest accepted question.")
    query_threads: int = Field(1, ge=1, le=64, description="Torch/FAISS threads for per-query work.")

    ingest: IngestSettings = Field(default_factory=IngestSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    composer: ComposerSettings = Field(default_factory=ComposerSettings)
    conversation: ConversationSettings = Field(default_factory=ConversationSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    library: LibrarySettings = Field(default_factory=LibrarySettings)

    @model_validator(mode="after")
    def _library_in_corpus(self) -> Settings:
        folder = self.library.dir
        if folder is not None and folder.resolve() not in {Path(c).resolve() for c in self.corpus}:
            self.corpus = [*self.corpus, folder]
        return self

    @property
    def library_dir(self) -> Path:
        """The folder library files are copied into."""
        return self.library.dir or Path(self.corpus[0])


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

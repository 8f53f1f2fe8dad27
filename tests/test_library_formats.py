"""A library of every format answers from each, incremental builds equal full ones, and `serve=approved` never
quotes an unapproved document whatever the statuses."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from assistant.ingest import load_corpus
from assistant.library import ops
from assistant.loader import load_index
from assistant.service import Assistant, build_from_settings
from assistant.settings import PROJECT_ROOT, LibrarySettings, Settings
from assistant.types import REVIEW_STATUSES

from .conftest import FIXTURE_CORPUS
from .fakes import FakeEmbedder
from .test_library_ingest import REQUIRED, text_doc

SAMPLES = PROJECT_ROOT.parent / "shared" / "library-samples"
HYGIENE = (
    "Alcohol-based hand rub is the preferred means of routine hand hygiene when hands are not visibly soiled. "
    "Hands that are visibly soiled should be washed with soap and water."
)
SUNSCREEN = (
    "A broad-spectrum sunscreen with a sun protection factor of 30 or higher should be applied to exposed skin. "
    "Sunscreen should be reapplied every two hours outdoors and after swimming or sweating."
)
INFLUENZA = (
    "Annual influenza vaccination is recommended for everyone aged six months and older without a "
    "contraindication. Vaccination is best given before influenza activity begins in the community."
)


def make_pdf(path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.set_title("Hand hygiene in health care")
    pdf.add_page()
    pdf.multi_cell(
        0, 6, "This leaflet covers the hygiene of hands in clinics and wards for all staff members."
    )
    pdf.add_page()
    pdf.multi_cell(0, 6, HYGIENE)
    path.write_bytes(bytes(pdf.output()))


def make_docx(path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Seasonal influenza vaccination"
    document.add_heading("Who should be vaccinated", level=1)
    document.add_paragraph(INFLUENZA)
    document.save(str(path))


HTML = f"""<!doctype html><html><head><title>Sun protection</title>
<meta name="citation_title" content="Sun protection for skin cancer prevention">
<meta name="citation_publisher" content="Skin Health Trust"><meta name="citation_date" content="2022-06-01">
</head><body><nav>Home | About | Contact</nav><article><h1>Sun protection</h1><h2>Sunscreen</h2>
<p>{SUNSCREEN}</p><p>Shade and clothing add to the protection that sunscreen gives on sunny days.</p>
</article><footer>Copyright</footer></body></html>"""


@pytest.fixture(scope="module")
def library_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The shipped corpus, the real sample articles, and a PDF, an HTML page and a DOCX, built once."""
    if not SAMPLES.is_dir():
        pytest.skip(f"no {SAMPLES}")
    root = tmp_path_factory.mktemp("formats")
    lib = root / "lib"
    shutil.copytree(PROJECT_ROOT / "corpus", lib / "shipped")
    own = root / "own"
    own.mkdir()
    make_pdf(own / "hand-hygiene.pdf")
    make_docx(own / "influenza.docx")
    (own / "sun.html").write_text(HTML, encoding="utf-8")
    settings = Settings(model=FakeEmbedder.name, corpus=[lib], index_dir=root / "index",
                        data_dir=root / "data", cache_dir=root / "cache")  # fmt: skip
    samples = [p for p in sorted(SAMPLES.iterdir()) if p.suffix in (".xml", ".nxml")]
    changes = ops.add(settings, samples, by="t", into="articles")
    changes += ops.add(settings, [own], by="t", into="own",
                       defaults={"source_type": "guideline", "publisher": "Our Trust", "year": "2024"})  # fmt: skip
    assert [c for c in changes if c.action != "added"] == []
    build_from_settings(settings, FakeEmbedder(), progress=False)
    yield settings


@pytest.mark.parametrize(
    ("question", "doc_id", "page"),
    [
        ("Is alcohol-based hand rub preferred for routine hand hygiene?", "hand-hygiene", 2),
        ("Who should get annual influenza vaccination?", "influenza", None),
        ("What sunscreen sun protection factor should be applied to exposed skin?", "sun", None),
        (
            "Was as-needed budesonide-formoterol superior to as-needed terbutaline in mild asthma?",
            "pmid-29768149",
            None,
        ),
        ("Does dietary PBDE-47 exposure depress plasma thyroxine in fathead minnows?", "pmc-2599765", None),
        ("What is the first-line treatment for hypertension in adults under 55?", None, None),
    ],
)
def test_each_format_answers_with_its_citation(
    library_settings: Settings, question: str, doc_id: str | None, page: int | None
) -> None:
    assistant = Assistant.open(library_settings, embedder=FakeEmbedder(), build_if_missing=False,
                               with_conversations=False)  # fmt: skip
    try:
        answer = assistant.ask(question)
    finally:
        assistant.close()
    assert not answer.abstained, question
    refs = {r.doc_id: r for r in answer.references}
    if doc_id is None:  # the shipped digests still answer in the mixed library
        assert any(r.source_type == "guideline" and "hypertension" in r.doc_id for r in answer.references)
        return
    assert doc_id in refs, (question, list(refs))
    ref = refs[doc_id]
    assert ref.page == page
    cited = [s for s in answer.sentences if ref.n in s.citations]
    assert cited and all(s.text in ref.passage_text for s in cited)  # verbatim from the cited passage
    if doc_id == "hand-hygiene":
        assert "p. 2." in answer.answer_markdown


def search(settings: Settings, query: str) -> list[str]:
    assistant = Assistant.open(settings, embedder=FakeEmbedder(), build_if_missing=False,
                               with_conversations=False)  # fmt: skip
    try:
        return [h.passage.passage_id for h in assistant.retriever.retrieve(query, 10)]
    finally:
        assistant.close()


def test_incremental_add_remove_and_sync_equal_a_full_rebuild(settings: Settings, tmp_path: Path) -> None:
    """No orphan vectors: after changes built incrementally, the index has the passages, vectors and search
    results of a build from empty caches."""
    lib, incoming = tmp_path / "lib", tmp_path / "incoming"
    shutil.copytree(FIXTURE_CORPUS, lib)
    settings.corpus = [lib]
    incoming.mkdir()
    text_doc(incoming, "leaflet", **REQUIRED)
    text_doc(incoming, "febuxostat", body="Febuxostat is an alternative when allopurinol is not tolerated.",
             **REQUIRED)  # fmt: skip
    embedder = FakeEmbedder()
    build_from_settings(settings, embedder, progress=False)
    ops.remove(settings, "gout-test-guideline", by="t")
    build_from_settings(settings, embedder, progress=False)
    ops.sync(settings, incoming, by="t")
    build_from_settings(settings, embedder, progress=False)
    (incoming / "leaflet.txt").unlink()
    ops.sync(settings, incoming, by="t")
    incremental = load_index(
        build_from_settings(settings, embedder, progress=False).parent, expected_model=None
    )
    fresh_settings = settings.model_copy(
        update={"index_dir": tmp_path / "fresh", "cache_dir": tmp_path / "c2"}
    )
    fresh = load_index(
        build_from_settings(fresh_settings, embedder, progress=False).parent, expected_model=None
    )
    assert [p.passage_id for p in incremental.passages] == [p.passage_id for p in fresh.passages]
    assert (incremental.dense.vectors() == fresh.dense.vectors()).all()
    assert set(incremental.documents) == set(fresh.documents) == {
        "asthma-test-guideline", "gout-test-study", "hypertension-test-review", "febuxostat"
    }  # fmt: skip
    for query in ("gout allopurinol", "asthma inhaler", "blood pressure target", "febuxostat"):
        assert search(settings, query) == search(fresh_settings, query)
    entries = [
        json.loads(line)["action"] for line in (lib / ".library" / "audit.jsonl").read_text().splitlines()
    ]
    assert entries == ["removed", "added", "added", "removed"]


@pytest.fixture(scope="module")
def approved_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    root = tmp_path_factory.mktemp("approved")
    settings = Settings(model=FakeEmbedder.name, corpus=[FIXTURE_CORPUS], index_dir=root / "index",
                        data_dir=root / "data", cache_dir=root / "cache")  # fmt: skip
    build_from_settings(settings, FakeEmbedder(), progress=False)
    assistant = Assistant.open(
        settings, embedder=FakeEmbedder(), build_if_missing=False, with_conversations=False
    )
    yield assistant
    assistant.close()


QUESTIONS = ["What is the first-line urate-lowering drug in gout?", "How is asthma treated?",
             "What blood pressure target in hypertension?", "gout flare colchicine"]  # fmt: skip


@hyp_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statuses=st.lists(st.sampled_from([None, *REVIEW_STATUSES]), min_size=4, max_size=4),
       question=st.sampled_from(QUESTIONS))  # fmt: skip
def test_serve_approved_never_cites_an_unapproved_document(
    approved_world: Assistant, statuses: list[str | None], question: str
) -> None:
    import dataclasses

    base = approved_world.index
    documents = {
        doc_id: dataclasses.replace(doc, review_status=status)
        for (doc_id, doc), status in zip(sorted(base.documents.items()), statuses, strict=True)
    }
    index = dataclasses.replace(base, documents=documents)
    for serve in ("approved", "all"):
        settings = approved_world.settings.model_copy(update={"library": LibrarySettings(serve=serve)})
        assistant = Assistant.from_index(settings, approved_world.embedder, index)
        answer = assistant.ask(question)
        cited = {r.doc_id for r in answer.references}
        allowed = {d for d, doc in documents.items() if doc.review_status == "approved"} if serve == "approved" \
            else {d for d, doc in documents.items() if doc.review_status != "retired"}  # fmt: skip
        assert cited <= allowed, (serve, statuses, cited)


def test_the_parse_of_a_mixed_library_is_cached(library_settings: Settings) -> None:
    corpus = load_corpus(library_settings.corpus, library_settings.ingest,
                         parse_cache=library_settings.cache_dir / "parsed")  # fmt: skip
    assert {"hand-hygiene", "influenza", "sun", "pmid-29768149"} <= set(corpus.documents)
    assert corpus.documents["hand-hygiene"].source_file == "own/hand-hygiene.pdf"

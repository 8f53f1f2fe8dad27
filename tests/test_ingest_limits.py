"""Ingest limits and metadata safety: oversized files and documents, YAML alias bombs, unsafe links and markup
in metadata."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from assistant.errors import IngestError
from assistant.ingest import load_corpus, make_passages, read_markdown, source_fingerprint
from assistant.render import reference, render_markdown
from assistant.service import Assistant, build_from_settings
from assistant.settings import IngestSettings, Settings
from assistant.types import AnswerSentence, Hit

from .conftest import FIXTURE_CORPUS, FIXTURES
from .fakes import FakeEmbedder

HEAD = "---\ntitle: A doc\nsource_type: review\npublisher: Some Org\nyear: 2020\n{extra}---\n\n"
BODY = "## Treatment\nAllopurinol lowers serum urate in gout over months. The dose is titrated to a target.\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def doc_file(tmp_path: Path, extra: str, name: str = "doc.md") -> Path:
    return write(tmp_path, name, HEAD.format(extra=extra) + BODY)


@pytest.fixture
def ingest_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="assistant.ingest")
    return caplog


# ---------------------------------------------------------------- the settings


def test_limit_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = IngestSettings()
    assert (defaults.max_file_bytes, defaults.max_passages_per_document, defaults.max_front_matter_bytes) == (
        5_000_000,
        2000,
        20_000,
    )
    monkeypatch.setenv("ASSISTANT_INGEST__MAX_FILE_BYTES", "1234")
    monkeypatch.setenv("ASSISTANT_INGEST__MAX_PASSAGES_PER_DOCUMENT", "7")
    monkeypatch.setenv("ASSISTANT_INGEST__MAX_FRONT_MATTER_BYTES", "999")
    ingest = Settings().ingest
    assert (ingest.max_file_bytes, ingest.max_passages_per_document, ingest.max_front_matter_bytes) == (
        1234,
        7,
        999,
    )


def test_limits_are_not_part_of_the_source_fingerprint(tmp_path: Path) -> None:
    # the limits only refuse input: changing one must not make every built index look stale
    doc_file(tmp_path, "url: https://example.org/a\n")
    base = source_fingerprint([tmp_path], IngestSettings())
    assert source_fingerprint([tmp_path], IngestSettings(max_file_bytes=10_000_000)) == base
    assert source_fingerprint([tmp_path], IngestSettings(max_passages_per_document=5)) == base
    assert source_fingerprint([tmp_path], IngestSettings(max_front_matter_bytes=500)) == base
    assert source_fingerprint([tmp_path], IngestSettings(max_passage_words=100)) != base


# ---------------------------------------------------------------- file size


def test_oversized_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.md"
    with path.open("wb") as handle:
        handle.truncate(6_000_000)  # sparse: 6 MB of size, no data written
    with monkeypatch.context() as m, pytest.raises(IngestError) as info:
        m.setattr(Path, "open", lambda *_a, **_k: pytest.fail("the file was opened"))
        m.setattr(Path, "read_text", lambda *_a, **_k: pytest.fail("the file was read"))
        load_corpus([tmp_path], IngestSettings())
    message = str(info.value)
    assert message.startswith(f"{path}: the file is 6,000,000 bytes, over the limit of 5,000,000 ")
    assert "ASSISTANT_INGEST__MAX_FILE_BYTES" in message
    assert "\n" not in message


def test_file_size_limit_is_inclusive(tmp_path: Path) -> None:
    path = doc_file(tmp_path, "url: https://example.org/a\n")
    size = len(path.read_bytes())
    doc, _ = read_markdown(path, IngestSettings(max_file_bytes=size))
    assert doc.title == "A doc"
    with pytest.raises(IngestError, match=f"is {size:,} bytes, over the limit of {size - 1:,}"):
        read_markdown(path, IngestSettings(max_file_bytes=size - 1))


def test_oversized_jsonl_document_names_file_and_line(tmp_path: Path) -> None:
    rows = [
        {"_id": "small", "title": "Small", "text": "Aspirin inhibits platelets."},
        {"_id": "big", "title": "Big", "text": "ab " * 400},  # 1,200 bytes of text
    ]
    path = write(tmp_path, "c.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(
        IngestError, match=r"c\.jsonl:2: the document text is 1,200 bytes, over the limit of 1,000"
    ):
        load_corpus([path], IngestSettings(max_file_bytes=1000))
    assert len(load_corpus([path], IngestSettings(max_file_bytes=1200)).documents) == 2


# ---------------------------------------------------------------- passages per document


def five_paragraphs(tmp_path: Path) -> Path:
    paragraphs = "\n\n".join(f"Paragraph number {i} is about gout." for i in range(5))
    return write(
        tmp_path, "five.md", HEAD.format(extra="url: https://example.org/5\n") + "## S\n" + paragraphs
    )


def test_too_many_passages_is_refused(tmp_path: Path) -> None:
    path = five_paragraphs(tmp_path)
    # no merging of short paragraphs: five paragraphs, five passages
    _, passages = read_markdown(path, IngestSettings(min_passage_words=0, max_passages_per_document=5))
    assert len(passages) == 5
    with pytest.raises(IngestError) as info:
        read_markdown(path, IngestSettings(min_passage_words=0, max_passages_per_document=4))
    message = str(info.value)
    assert message.startswith(f"{path}: the document makes more than 4 passages ")
    assert "ASSISTANT_INGEST__MAX_PASSAGES_PER_DOCUMENT" in message


def test_make_passages_limit_without_a_file_names_the_document() -> None:
    blocks = [("S", f"Block {i} has some words.") for i in range(3)]
    with pytest.raises(IngestError, match=r"^doc-x: the document makes more than 2 passages"):
        make_passages("doc-x", blocks, IngestSettings(min_passage_words=0, max_passages_per_document=2))


def test_one_very_long_paragraph_keeps_every_word_in_order(tmp_path: Path) -> None:
    sentences = [f"In case {i} colchicine treated the gout flare within a day." for i in range(600)]
    paragraph = " ".join(sentences)  # about 36,000 characters, one paragraph
    path = write(
        tmp_path, "long.md", HEAD.format(extra="url: https://example.org/l\n") + "## S\n" + paragraph
    )
    _, passages = read_markdown(path, IngestSettings())
    assert [w for p in passages for w in p.text.split()] == paragraph.split()
    assert [s for p in passages for s in p.sentence_texts()] == sentences
    assert all(len(p.text.split()) <= 160 for p in passages)


# ---------------------------------------------------------------- YAML front matter

BOMB = """---
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
title: *i
source_type: review
publisher: p
year: 2020
url: https://example.org/bomb
---

## Treatment
Some text.
"""


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "bomb.md", BOMB)
    with pytest.raises(IngestError) as info:
        load_corpus([tmp_path], IngestSettings())
    # the first alias, `*a`, is on line 3 of the file
    assert str(info.value).startswith(f"{path}: the front matter uses a YAML alias (line 3); aliases are not")


def test_yaml_merge_key_alias_is_refused_but_a_lone_anchor_is_fine(tmp_path: Path) -> None:
    merge = "---\nbase: &base {publisher: p}\nmeta:\n  <<: *base\ntitle: t\n---\n" + BODY
    with pytest.raises(IngestError, match=r"merge\.md: the front matter uses a YAML alias \(line 4\)"):
        read_markdown(write(tmp_path, "merge.md", merge), IngestSettings())
    doc, _ = read_markdown(
        doc_file(tmp_path, "topic: &t Gout\nurl: https://example.org/a\n"), IngestSettings()
    )
    assert doc.topic == "Gout"


def test_oversized_front_matter_is_refused(tmp_path: Path) -> None:
    block = "title: A doc\nsource_type: review\npublisher: Some Org\nyear: 2020\nurl: https://example.org/a"
    path = write(tmp_path, "fm.md", f"---\n{block}\n---\n\n{BODY}")
    assert read_markdown(path, IngestSettings(max_front_matter_bytes=len(block)))[0].title == "A doc"
    with pytest.raises(IngestError) as info:
        read_markdown(path, IngestSettings(max_front_matter_bytes=len(block) - 1))
    assert str(info.value).startswith(
        f"{path}: the front matter is {len(block)} bytes, over the limit of {len(block) - 1} "
        "(ASSISTANT_INGEST__MAX_FRONT_MATTER_BYTES)"
    )


def test_deeply_nested_front_matter_is_an_ingest_error(tmp_path: Path) -> None:
    path = write(tmp_path, "deep.md", "---\ntitle: " + "[" * 9000 + "]" * 9000 + "\n---\n" + BODY)
    with pytest.raises(IngestError, match=r"deep\.md: the front matter is nested too deeply"):
        read_markdown(path, IngestSettings())


# ---------------------------------------------------------------- links in metadata


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "https://",
        'https://example.org/"><script>alert(1)</script>',
    ],
)
def test_unsafe_url_is_dropped_with_a_warning(
    tmp_path: Path, ingest_log: pytest.LogCaptureFixture, url: str
) -> None:
    path = doc_file(tmp_path, f"url: {json.dumps(url)}\ndoi: 10.1000/abc.1\n")
    doc, _ = read_markdown(path, IngestSettings())
    assert doc.url is None
    assert doc.link == "https://doi.org/10.1000/abc.1"  # the DOI still links the source
    [record] = ingest_log.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"{path}: dropped url ")


@pytest.mark.parametrize(
    "url", ["http://example.org/a", "https://www.nice.org.uk/guidance/ng42?x=1#s", "HTTPS://E.ORG"]
)
def test_web_urls_are_kept_as_written(tmp_path: Path, ingest_log: pytest.LogCaptureFixture, url: str) -> None:
    doc, _ = read_markdown(doc_file(tmp_path, f"url: {url}\n"), IngestSettings())
    assert doc.url == url and doc.link == url
    assert ingest_log.records == []


def test_doi_and_pmid_forms(tmp_path: Path, ingest_log: pytest.LogCaptureFixture) -> None:
    doc, _ = read_markdown(
        doc_file(tmp_path, 'doi: "doi:10.1056/NEJMoa1"\npmid: 26474316\n'), IngestSettings()
    )
    assert (doc.doi, doc.pmid) == ("10.1056/NEJMoa1", "26474316")
    doc, _ = read_markdown(
        doc_file(tmp_path, "doi: https://doi.org/10.1016/S0140-6736(16)00163-X\n"), IngestSettings()
    )
    assert doc.doi == "10.1016/S0140-6736(16)00163-X"
    assert ingest_log.records == []
    bad = 'url: https://example.org/ok\ndoi: "javascript:alert(1)"\npmid: "1 OR 1=1"\n'
    doc, _ = read_markdown(doc_file(tmp_path, bad), IngestSettings())
    assert (doc.url, doc.doi, doc.pmid) == ("https://example.org/ok", None, None)
    assert sorted(r.getMessage().split(": dropped ")[1].split(" ")[0] for r in ingest_log.records) == [
        "doi",
        "pmid",
    ]


def test_document_whose_only_link_is_unsafe_still_loads(ingest_log: pytest.LogCaptureFixture) -> None:
    # the browser-test corpus has a note whose only identifier is a javascript: URL: the build goes on
    corpus = load_corpus([FIXTURES / "corpus_xss"], IngestSettings())
    note = corpus.documents["gout-xss-note"]
    assert (note.url, note.link) == (None, None)
    assert note.title == "Gout note <img src=x onerror=alert(1)>"  # markup kept as plain text
    assert [r.getMessage() for r in ingest_log.records] == [
        f"{FIXTURES / 'corpus_xss' / 'gout-xss-note.md'}: dropped url 'javascript:alert(1)': only http(s) links "
        "with a host and no spaces, quotes or angle brackets are kept"
    ]


def test_beir_metadata_links_are_checked(tmp_path: Path, ingest_log: pytest.LogCaptureFixture) -> None:
    rows = [
        {"_id": "1", "text": "Statins lower LDL.", "metadata": {"url": "javascript:alert(1)", "pmid": 123}},
        {"_id": "2", "text": "Aspirin inhibits platelets.", "metadata": {"url": "https://example.org/2"}},
        {
            "_id": "3",
            "text": "Iron treats anaemia.",
            "metadata": {"url": {"href": "x"}, "source_type": "<b>"},
        },
    ]
    path = write(tmp_path, "c.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    docs = load_corpus([path], IngestSettings()).documents
    assert (docs["1"].url, docs["1"].pmid) == (None, "123")
    assert docs["2"].url == "https://example.org/2"
    assert (docs["3"].url, docs["3"].source_type) == (None, "other")
    assert [r.getMessage().split(": dropped ")[0] for r in ingest_log.records] == [
        f"{path}:1",
        f"{path}:3",
        f"{path}:3",
    ]


# ---------------------------------------------------------------- markup and control characters


def test_script_title_is_plain_text_and_escaped_in_the_markdown(tmp_path: Path) -> None:
    # YAML escapes put a bell, a right-to-left override, a tab and a line break into the title
    title = r'"Gout\u202e <script>alert(1)</script>\a\tnote\nsecond line"'
    path = write(
        tmp_path,
        "x.md",
        f"---\ntitle: {title}\nsource_type: review\npublisher: P <b>\nyear: 2020\n"
        "url: https://example.org/x\n---\n\n" + BODY,
    )
    doc, passages = read_markdown(path, IngestSettings())
    assert doc.title == "Gout <script>alert(1)</script> note second line"
    assert doc.publisher == "P <b>"
    ref = reference(1, [Hit(passages[0], doc, 1.0)])
    assert ref.title == doc.title  # the structured field holds the plain text
    markdown = render_markdown([AnswerSentence(text=passages[0].sentence_texts()[0], citations=[1])], [ref])
    assert (
        "1. Gout &lt;script&gt;alert(1)&lt;/script&gt; note second line. P &lt;b&gt;, 2020. Review."
        in markdown
    )
    assert "<script>" not in markdown and "<b>" not in markdown
    assert "<https://example.org/x>" in markdown


def test_answer_references_carry_no_unsafe_link(settings: Settings, fake_embedder: FakeEmbedder) -> None:
    xss = settings.model_copy(update={"corpus": [FIXTURES / "corpus_xss"]})
    build_from_settings(xss, fake_embedder, progress=False)
    assistant = Assistant.open(xss, embedder=fake_embedder, build_if_missing=False)
    try:
        answer = assistant.ask("When should colchicine be started for gout flares?")
    finally:
        assistant.close()
    refs = {r.doc_id: r for r in answer.references}
    assert "gout-xss-note" in refs, "the question should cite the note"
    assert refs["gout-xss-note"].url is None
    assert "javascript" not in answer.model_dump_json()


def test_fixture_corpus_is_unchanged() -> None:
    # the front-matter and link checks leave ordinary metadata exactly as it was
    corpus = load_corpus([FIXTURE_CORPUS], IngestSettings())
    study = corpus.documents["gout-test-study"]
    assert (study.doi, study.url, study.pmid) == ("10.0000/test.gout.2018", None, None)
    review = corpus.documents["hypertension-test-review"]
    assert (review.pmid, review.link) == ("00000001", "https://pubmed.ncbi.nlm.nih.gov/00000001/")

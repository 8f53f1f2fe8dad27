"""Fuzzing the document readers: whatever bytes a library file holds, a reader yields well-formed `Parsed`
documents or refuses the file with one `IngestError` line that starts with the file's path; never another
exception and never a hang. `assistant.ingest.read_file` on the same bytes likewise only raises `IngestError`.

Inputs are real or small hand-made files of every format (the PMC and PubMed samples in
`shared/library-samples`, a MEDLINE export, an HTML page, a PDF made with fpdf2, a DOCX made with python-docx,
Markdown, BEIR JSONL, plain text), mutated by byte flips, insertions of random or format-special bytes,
deletions, truncations and splices of two seeds; plus random bytes and random text. The DOCX is also fuzzed
inside the zip: one XML part is mutated and the archive re-zipped, so the XML parts reach python-docx's parser.

Runs are reproducible (`derandomize`, no example database). `pytest -s` prints one line per format:
examples, parsed, refused (an `IngestError`).
"""

from __future__ import annotations

import io
import json
import re
import signal
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from types import FrameType
from typing import Any

import docx
import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from assistant import passages
from assistant.errors import IngestError
from assistant.ingest import read_file
from assistant.readers import Block, Parsed, reader_for
from assistant.settings import IngestSettings

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "library-samples"
DEFAULTS = {"source_type": "research", "publisher": "x", "year": 2020, "title": "t"}
HANG_SECONDS = 20  # one example taking longer than this is a hang (the deadline, 5 s, reports slow ones)

OUTCOMES: Counter[tuple[str, str]] = Counter()

# ---------------------------------------------------------------- seeds

MEDLINE = """\
PMID- 29768149
OWN - NLM
STAT- MEDLINE
DCOM- 20180620
LR  - 20190101
IS  - 1533-4406 (Electronic)
DP  - 2018 May 17
TI  - Budesonide-Formoterol Reliever Therapy in Mild Asthma.
AB  - BACKGROUND: Patients with mild asthma rarely take maintenance therapy. METHODS: We
      conducted a 52-week, double-blind, multicentre trial [12]. RESULTS: Severe
      exacerbations were fewer (rate ratio, 0.83). CONCLUSIONS: As-needed use was noninferior.
FAU - Bateman, Eric D
AU  - Bateman ED
LA  - eng
PT  - Journal Article
PT  - Randomized Controlled Trial
DEP - 20180516
TA  - N Engl J Med
JT  - The New England journal of medicine
MH  - Asthma/*drug therapy
MH  - *Budesonide
OT  - inhaled corticosteroids
AID - 10.1056/NEJMoa1715274 [doi]
LID - 10.1056/NEJMoa1715274 [doi]

PMID- 11111111
TI  - A second record without structure.
AB  - Plain abstract text that has no labels at all, and ends here.
DP  - 1998 Dec-1999 Jan
PT  - Review
"""

HTML = """\
<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Asthma reliever therapy | Journal</title>
<meta name="citation_title" content="Budesonide-formoterol reliever therapy in mild asthma">
<meta name="citation_journal_title" content="New England Journal of Medicine">
<meta name="citation_publication_date" content="2018/05/17">
<meta name="citation_doi" content="10.1056/NEJMoa1715274">
<meta name="citation_pmid" content="29768149">
<meta name="citation_keywords" content="asthma; inhaled corticosteroids, formoterol">
<meta name="dc.date.modified" content="2019-01-02">
<meta property="og:url" content="https://example.org/asthma">
<link rel="canonical" href="https://example.org/articles/asthma">
</head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article>
<h1>Budesonide-formoterol reliever therapy in mild asthma</h1>
<h2>Background</h2>
<p>Patients with mild asthma rarely take their maintenance therapy every day, and many rely on a short-acting
reliever alone. We asked whether budesonide-formoterol taken as needed is as good as daily budesonide.</p>
<h2>Methods</h2>
<p>We conducted a 52-week, double-blind, multicentre trial in adults and adolescents aged twelve years or older
who had mild asthma and were eligible for regular inhaled glucocorticoid treatment.</p>
<ul><li>As-needed budesonide-formoterol twice a week or less.</li>
<li>Daily budesonide with terbutaline as needed for symptoms.</li></ul>
<h2>Results</h2>
<p>The annualised rate of severe exacerbations was 0.11 with budesonide-formoterol and 0.12 with daily
budesonide; the rate ratio was 0.97 and noninferiority was shown for this primary outcome.</p>
</article>
<footer>Copyright 2018. All rights reserved. Cookie settings.</footer>
</body></html>
"""

MARKDOWN = """\
---
id: asthma-reliever
title: Budesonide-formoterol reliever therapy in mild asthma
source_type: research
publisher: New England Journal of Medicine
year: 2018
doi: 10.1056/NEJMoa1715274
keywords: [asthma, inhaled corticosteroids]
last_updated: 2019-01-02
---

# Background

Patients with mild asthma rarely take their maintenance therapy every day, and many rely on a reliever alone.

## Methods

- A 52-week, double-blind trial.
- Adults and adolescents with mild asthma.

1. As-needed budesonide-formoterol.
2. Daily budesonide.
"""

BEIR = "\n".join(
    json.dumps(row)
    for row in [
        {
            "_id": "d1",
            "title": "Iron deficiency anaemia in adults",
            "text": "Iron deficiency anaemia is the most common anaemia.\n\nOral iron is the usual first treatment.",
            "metadata": {
                "year": 2020,
                "source_type": "guideline",
                "pmid": "12345678",
                "url": "https://x.org/a",
            },
        },
        {"_id": "d2", "title": "Vitamin B12", "text": "Deficiency causes a macrocytic anaemia."},
    ]
)

TEXT = """\
Hypertension notes for the clinic

DIAGNOSIS
Confirm a raised clinic reading with ambulatory monitoring before starting treatment.

Treatment:
- Offer lifestyle advice to everyone.
* Start an ACE inhibitor in adults under 55.
1. Review in four weeks.
"""

PARAGRAPH = (
    "Confirm the diagnosis with ambulatory blood pressure monitoring. Offer treatment to adults whose "
    "blood pressure stays above the threshold, and review them every year."
)


def _pdf(compress: bool) -> bytes:
    pdf = FPDF()
    pdf.set_compression(compress)
    pdf.set_title("Hypertension in adults")
    pdf.set_keywords("hypertension; blood pressure, stroke")
    pdf.set_creation_date(datetime(2021, 3, 4, 10, 0, tzinfo=UTC))
    pdf.set_font("Helvetica", size=11)
    for number, heading in enumerate(["Diagnosis", "Treatment"], 1):
        pdf.add_page()
        pdf.start_section(heading)
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(text=heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, f"{PARAGRAPH} Page {number}.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Hypertension Guide", style="Title")
    document.add_paragraph("This guide is for clinicians who manage blood pressure in adults.")
    document.add_heading("Diagnosis", level=1)
    document.add_paragraph("Check the cuff size.", style="List Bullet")
    document.add_paragraph(PARAGRAPH)
    props = document.core_properties
    props.title = "Hypertension in adults"
    props.keywords = "hypertension; blood pressure"
    props.created = datetime(2020, 1, 2, 9, 0)
    props.modified = datetime(2022, 6, 7, 15, 30)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@cache
def seeds() -> dict[str, tuple[bytes, ...]]:
    """Seed files by suffix, built once per run; the real samples only when `shared/` is there."""
    found: dict[str, tuple[bytes, ...]] = {
        ".medline": (MEDLINE.encode(),),
        ".html": (HTML.encode(),),
        ".pdf": (_pdf(compress=True), _pdf(compress=False)),
        ".docx": (_docx(),),
        ".md": (MARKDOWN.encode(),),
        ".jsonl": (BEIR.encode(),),
        ".txt": (TEXT.encode(),),
    }
    pubmed = SAMPLES / "pubmed-29768149.xml"
    if pubmed.is_file():
        found[".xml"] = (pubmed.read_bytes(),)
    jats = tuple(p.read_bytes() for p in sorted(SAMPLES.glob("*.nxml")))
    if jats:
        found[".nxml"] = jats
    return found


def all_seeds() -> tuple[bytes, ...]:
    return tuple(data for group in seeds().values() for data in group)


# ---------------------------------------------------------------- mutations

# byte strings that mean something to one of the parsers: inserted as well as random bytes
TOKENS = [
    b"<",
    b">",
    b"&",
    b"&#0;",
    b"&#x85;",
    b"&#x1;",
    b"&amp;",
    b"&nbsp;",
    b"&undefined;",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b'<!DOCTYPE a [<!ENTITY e "x">]>',
    b'<?xml version="1.0" encoding="latin-1"?>',
    b"</sec>",
    b"<sec><title>",
    b"<p>",
    b"</p>",
    b"<xref ref-type='bibr'>1</xref>",
    b"<sub>",
    b"\x00",
    b"\xff",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"\r",
    b"\n",
    b"\n\n",
    b"\t",
    b"\x85",
    "\u2028".encode(),
    b"\xe2\x80\x8b",
    b"---\n",
    b"# ",
    b": ",
    b"- ",
    b"PMID- ",
    b"AB  - ",
    b"      ",
    b"{",
    b"}",
    b'"',
    b'"_id": ',
    b"[",
    b"null",
    b"1e999",
    b"\\u0000",
    b"\\ud800",
    b" 0 R",
    b"obj",
    b"endobj",
    b"stream\n",
    b"endstream",
    b"trailer",
    b"xref",
    b"startxref",
    b"/Outlines",
    b"/Encrypt",
    b"/Length 999999",
    b"-1",
    b"99999999999999999999",
    b"PK\x03\x04",
    b"<w:p><w:r><w:t>",
    b"</w:t></w:r></w:p>",
    b'w:val="Heading1"',
    b"<dcterms:created>",
    b"9999-99-99T99:99:99Z",
    b"<meta name='citation_date' content='",
    b"<script>",
    b"<table>",
    b"<li>",
    b"[" * 5000,  # nesting deeper than the parsers' recursion
    b"<sub>" * 2000,
    b"<div>" * 2000,
]

SPLICE_BYTES = 4096  # at most this much of another seed is spliced in: inputs stay small
position = st.integers(0, 1 << 20)  # taken modulo the current length: shrinks towards the start
edit = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(1, 255)),
    st.tuples(
        st.just("insert"), position, st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=16))
    ),
    st.tuples(st.just("delete"), position, st.integers(1, 64)),
    st.tuples(st.just("truncate"), position),
    st.tuples(st.just("splice"), position, st.integers(0, 1 << 16), position, st.integers(0, SPLICE_BYTES)),
)


def mutate(data: bytes, edits: list[tuple[Any, ...]]) -> bytes:
    """`data` with each edit applied in turn (positions modulo the current length)."""
    out = bytearray(data)
    for kind, at, *rest in edits:
        at %= len(out) + 1
        if kind == "flip" and at < len(out):
            out[at] ^= rest[0]
        elif kind == "insert":
            out[at:at] = rest[0]
        elif kind == "delete":
            del out[at : at + rest[0]]
        elif kind == "truncate":
            del out[at:]
        elif kind == "splice":  # this one's head, then a piece of another seed (to its end, if short)
            other = all_seeds()[rest[0] % len(all_seeds())]
            start = rest[1] % (len(other) + 1)
            out[at:] = other[start : start + rest[2]]
    return bytes(out)


def rezip(data: bytes, part: str, change: Callable[[bytes], bytes]) -> bytes:
    """The zip archive `data` with its member `part` replaced by `change(part's bytes)`."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in source.infolist():
            content = source.read(info.filename)
            out.writestr(info.filename, change(content) if info.filename == part else content)
    return buffer.getvalue()


DOCX_PARTS = ["word/document.xml", "docProps/core.xml", "word/styles.xml", "[Content_Types].xml"]


@st.composite
def inputs(draw: st.DrawFn, suffix: str) -> bytes:
    """Mostly a mutated seed of the format; sometimes random bytes or random text."""
    kind = draw(st.sampled_from(["seed"] * 8 + ["bytes", "text"]))
    if kind == "bytes":
        return draw(st.binary(max_size=512))
    if kind == "text":
        return draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    seed = draw(st.sampled_from(seeds()[suffix]))
    edits = draw(st.lists(edit, max_size=4))
    if suffix == ".docx" and draw(st.booleans()):  # mutate one XML part inside the zip, re-zipped
        part = draw(st.sampled_from(DOCX_PARTS))
        return rezip(seed, part, lambda xml: mutate(xml, edits))
    return mutate(seed, edits)


# ---------------------------------------------------------------- the property


class Hang(BaseException):
    """An example that ran too long; a BaseException, so that no reader's `except` can swallow it."""


def _hang(_signum: int, _frame: FrameType | None) -> None:
    raise Hang(f"a reader ran for more than {HANG_SECONDS} s: a hang")


class _Alarm:
    def __enter__(self) -> None:
        self.previous = signal.signal(signal.SIGALRM, _hang)
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)

    def __exit__(self, *_exc: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)


def _control(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cc"]


def _refusal(exc: IngestError, path: Path) -> None:
    message = str(exc)
    assert message.startswith(str(path)), f"the message does not start with the file path: {message!r}"
    assert "\n" not in message and "\r" not in message, f"a message of more than one line: {message!r}"


def check(suffix: str, data: bytes, workdir: Path) -> str:
    """Read `data` as a `suffix` file with its reader and with `read_file`: 'parsed' or 'refused'."""
    path = workdir / f"sample{suffix}"
    path.write_bytes(data)
    settings_ = IngestSettings()
    with _Alarm():
        try:
            docs = list(reader_for(path).read(path, settings_))
        except IngestError as exc:
            _refusal(exc, path)
            outcome = "refused"
        else:
            outcome = "parsed"
            for doc in docs:
                assert isinstance(doc, Parsed)
                assert isinstance(doc.blocks, list)
                for block in doc.blocks:
                    assert isinstance(block, Block)
                    assert isinstance(block.section, str) and isinstance(block.text, str)
                    assert block.page is None or (isinstance(block.page, int) and block.page >= 1)
                    assert not _control(block.text), f"control characters in {block!r}"
                    assert not _control(block.section), f"control characters in {block!r}"
        try:
            for _doc, found in read_file(path, settings_, defaults=DEFAULTS):
                assert found
        except IngestError as exc:
            _refusal(exc, path)
    return outcome


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A folder for the examples; sentence splitting memoised meanwhile (pysbd is pure and slow, and most
    mutated examples repeat most of their seed's paragraphs), so that `read_file` is cheap enough to run on
    every example. Counts are printed at the end."""
    memo = lru_cache(maxsize=8192)(passages.split_sentences)
    with tempfile.TemporaryDirectory(prefix="fuzz-readers-") as where, pytest.MonkeyPatch.context() as patch:
        patch.setattr(passages, "split_sentences", memo)
        yield Path(where)
    print()
    for suffix in sorted({s for s, _ in OUTCOMES}):
        parsed, refused = OUTCOMES[suffix, "parsed"], OUTCOMES[suffix, "refused"]
        print(f"fuzz {suffix:8} {parsed + refused:4} examples: {parsed:4} parsed, {refused:4} refused")


FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=5000,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

# examples per format
EXAMPLES = {
    ".xml": 200,
    ".nxml": 150,
    ".medline": 250,
    ".html": 200,
    ".pdf": 250,
    ".docx": 250,
    ".md": 250,
    ".jsonl": 250,
    ".txt": 250,
}


@pytest.mark.parametrize("suffix", list(EXAMPLES))
def test_readers_only_refuse_with_ingest_error(suffix: str, workdir: Path) -> None:
    if suffix not in seeds():
        pytest.skip(f"no {suffix} samples in {SAMPLES}")

    @settings(FUZZ, max_examples=EXAMPLES[suffix])
    @given(data=inputs(suffix))
    def fuzz(data: bytes) -> None:
        OUTCOMES[suffix, check(suffix, data, workdir)] += 1

    fuzz()


def test_every_seed_is_read(workdir: Path) -> None:
    """The unmutated seeds are good files: the fuzzing starts from documents that parse."""
    for suffix, group in seeds().items():
        for data in group:
            assert check(suffix, data, workdir) == "parsed", suffix


# ---------------------------------------------------------------- regressions: what the fuzzing found


def _refused(suffix: str, data: bytes, workdir: Path) -> None:
    assert check(suffix, data, workdir) == "refused"


def _central_directory(data: bytes, change: Callable[[bytearray, int], None]) -> bytes:
    """`data` (a zip) with `change(bytes, offset)` applied to its first central directory entry."""
    out = bytearray(data)
    change(out, out.find(b"PK\x01\x02"))
    return bytes(out)


def _method(number: int) -> Callable[[bytearray, int], None]:
    def change(out: bytearray, at: int) -> None:
        out[at + 10 : at + 12] = number.to_bytes(2, "little")

    return change


def _flag(bit: int) -> Callable[[bytearray, int], None]:
    def change(out: bytearray, at: int) -> None:
        out[at + 8] |= bit

    return change


def _broken_deflate(data: bytes) -> bytes:
    """The first member's deflate stream starting with an invalid block type (the zip directory intact)."""
    out = bytearray(data)
    name_len, extra_len = (int.from_bytes(out[at : at + 2], "little") for at in (26, 28))
    out[30 + name_len + extra_len] = 0xFF
    return bytes(out)


DOCX_BUGS: dict[str, Callable[[bytes], bytes]] = {
    # zlib.error: a damaged deflate stream of a part
    "deflate": _broken_deflate,
    # NotImplementedError: an unknown compression method, strong encryption or patched data flag
    "method": lambda data: _central_directory(data, _method(99)),
    "strong-encryption": lambda data: _central_directory(data, _flag(0x40)),
    # RuntimeError: a part marked encrypted
    "encrypted": lambda data: _central_directory(data, _flag(0x01)),
    # OSError: deflate data marked as bzip2
    "bzip2": lambda data: _central_directory(data, _method(12)),
    # AttributeError: [Content_Types].xml whose root is not <Types>
    "content-types": lambda data: rezip(
        data, "[Content_Types].xml", lambda xml: xml.replace(b"Types", b"Typez")
    ),
    # AttributeError: the core properties part is not of the core-properties content type
    "core-properties": lambda data: rezip(
        data,
        "[Content_Types].xml",
        lambda xml: xml.replace(
            b"application/vnd.openxmlformats-package.core-properties+xml", b"application/xml"
        ),
    ),
}


@pytest.mark.parametrize("bug", list(DOCX_BUGS))
def test_a_damaged_docx_is_an_ingest_error(bug: str, workdir: Path) -> None:
    _refused(".docx", DOCX_BUGS[bug](seeds()[".docx"][0]), workdir)


def test_a_pdf_stream_filter_pypdf_does_not_know_is_an_ingest_error(workdir: Path) -> None:
    """NotImplementedError from pypdf ("Unsupported filter /FlateDecodN")."""
    compressed = seeds()[".pdf"][0]
    assert b"/FlateDecode" in compressed
    _refused(".pdf", compressed.replace(b"/FlateDecode", b"/FlateDecodN"), workdir)


def test_a_pdf_outline_destination_without_a_page_reference_is_an_ingest_error(workdir: Path) -> None:
    """AssertionError from pypdf (an outline entry `/Dest [.54 null]`: the page is a number, not a reference)."""
    plain = seeds()[".pdf"][1]
    damaged = re.sub(rb"/Dest \[[^\]]*\]", b"/Dest [.54 null]", plain, count=1)
    assert damaged != plain
    _refused(".pdf", damaged, workdir)


def test_a_beir_line_nested_too_deeply_is_an_ingest_error(workdir: Path) -> None:
    """RecursionError from `json.loads` (a line of 5,000 nested arrays)."""
    _refused(".jsonl", b'{"_id": "d1", "text": ' + b"[" * 5000 + b"]" * 5000 + b"}", workdir)


def test_a_front_matter_date_that_does_not_exist_is_an_ingest_error(workdir: Path) -> None:
    """PyYAML builds a date of `2019-13-02` (month 13) and raises ValueError, not a YAMLError."""
    _refused(
        ".md", MARKDOWN.replace("last_updated: 2019-01-02", "last_updated: 2019-13-02").encode(), workdir
    )

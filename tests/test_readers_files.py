"""Readers of a team's own files: HTML, PDF, DOCX and plain text, on fixtures made inside each test.

PDFs are written with fpdf2 and DOCX files with python-docx, so each expectation below is derived from the
text the test itself wrote; nothing is downloaded and no model is loaded.
"""

from __future__ import annotations

import importlib
import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from assistant.errors import IngestError
from assistant.ingest import load_corpus
from assistant.readers import Block, Parsed, Reader, reader_for
from assistant.readers.docx import DocxReader
from assistant.readers.html import HtmlReader, decode_html, head_meta
from assistant.readers.pdf import PdfReader, looks_like_heading, page_paragraphs
from assistant.readers.text import TextReader
from assistant.settings import IngestSettings

SETTINGS = IngestSettings()

# sentences long enough that the ingest keeps them as passages of their own (>= 25 words)
DIAG = (
    "Measure blood pressure in both arms at the first visit and confirm the diagnosis with ambulatory "
    "monitoring over a full day before starting any drug treatment in adults."
)
CONT = (
    "Repeat the measurement in the arm with the higher reading at every later visit, and record the "
    "result in the notes together with the date and the cuff size used for it."
)
TREAT = (
    "Offer an ACE inhibitor or an angiotensin receptor blocker to adults under 55 years of age and to "
    "adults of any age who have type 2 diabetes and raised blood pressure."
)
FOLLOW = (
    "Review the response to treatment after four weeks and again every year, checking kidney function "
    "and potassium each time a dose is raised or a new drug is added."
)


def _one(parsed: list[Parsed]) -> Parsed:
    assert len(parsed) == 1
    return parsed[0]


def _read(path: Path, settings: IngestSettings = SETTINGS) -> Parsed:
    return _one(list(reader_for(path).read(path, settings)))


# ---------------------------------------------------------------- PDF fixtures


def _pdf() -> FPDF:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.set_creation_date(datetime(2021, 3, 4, 10, 0, tzinfo=UTC))
    return pdf


def _heading(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)


def _para(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")


def _write(pdf: FPDF, path: Path) -> Path:
    path.write_bytes(bytes(pdf.output()))
    return path


def _outlined_pdf(path: Path) -> Path:
    pdf = _pdf()
    pdf.add_page()
    pdf.start_section("Diagnosis")
    _heading(pdf, "Diagnosis")
    _para(pdf, DIAG)
    pdf.add_page()  # page 2: Diagnosis goes on, then "Treatment" starts halfway down
    _para(pdf, CONT)
    pdf.start_section("Treatment")
    _heading(pdf, "Treatment")
    _para(pdf, TREAT)
    pdf.add_page()  # page 3: a bookmark whose title is not printed, and a heading-like line
    pdf.start_section("Follow-up Care")
    _heading(pdf, "Key Points Summary")
    _para(pdf, FOLLOW)
    return _write(pdf, path)


def test_pdf_outline_gives_sections_and_every_block_its_page(tmp_path: Path) -> None:
    parsed = _read(_outlined_pdf(tmp_path / "bp.pdf"))
    # bookmarks are the sections; a printed bookmark title switches where it stands (page 2, halfway), an
    # unprinted one at the top of its page; with an outline, "Key Points Summary" is text, not a section
    assert parsed.blocks == [
        Block("Diagnosis", DIAG, 1),
        Block("Diagnosis", CONT, 2),
        Block("Treatment", TREAT, 2),
        Block("Follow-up Care", "Key Points Summary", 3),
        Block("Follow-up Care", FOLLOW, 3),
    ]
    assert parsed.where == str(tmp_path / "bp.pdf")
    assert parsed.doc_id is None


def test_pdf_without_outline_takes_short_title_case_lines_as_headings(tmp_path: Path) -> None:
    pdf = _pdf()
    pdf.add_page()
    _heading(pdf, "BACKGROUND")
    _para(pdf, DIAG)
    _heading(pdf, "Blood Pressure Targets")
    _para(pdf, "Aim for a clinic reading below 140/90 mmHg with a treat-")
    _para(pdf, "ment plan agreed with the person.")
    pdf.add_page()
    _para(pdf, TREAT)
    parsed = _read(_write(pdf, tmp_path / "targets.pdf"))
    assert parsed.blocks == [
        Block("BACKGROUND", DIAG, 1),
        # "treat-" at a line end + "ment" = one word
        Block(
            "Blood Pressure Targets",
            "Aim for a clinic reading below 140/90 mmHg with a treatment plan agreed with the person.",
            1,
        ),
        Block("Blood Pressure Targets", TREAT, 2),  # the section runs on over the page break
    ]


def test_pdf_metadata_title_keywords_and_dates(tmp_path: Path) -> None:
    pdf = _pdf()
    pdf.set_title("Hypertension in Adults")
    pdf.set_keywords("hypertension, blood pressure; stroke")
    pdf.add_page()
    _para(pdf, DIAG)
    meta = _read(_write(pdf, tmp_path / "meta.pdf")).meta
    assert meta == {
        "title": "Hypertension in Adults",
        "keywords": ["hypertension", "blood pressure", "stroke"],
        "year": 2021,  # /CreationDate D:20210304100000Z
        "last_updated": "2021-03-04",  # no /ModDate: the creation date
    }


@pytest.mark.parametrize("title", ["Microsoft Word - draft3.docx", "untitled", "   "])
def test_pdf_placeholder_titles_are_left_out(tmp_path: Path, title: str) -> None:
    pdf = _pdf()
    pdf.set_title(title)
    pdf.add_page()
    _para(pdf, DIAG)
    assert "title" not in _read(_write(pdf, tmp_path / "draft.pdf")).meta


def test_pdf_without_text_layer_says_run_ocr(tmp_path: Path) -> None:
    pdf = _pdf()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a page that is only a picture, as a scan is
    path = _write(pdf, tmp_path / "scan.pdf")
    with pytest.raises(IngestError, match=r"scan\.pdf: .*no text layer \(a scan\?\); run OCR first"):
        _read(path)


@pytest.mark.parametrize(
    "cut",
    [lambda b: b[: len(b) // 2], lambda b: b"%PDF-1.4\n garbage", lambda b: b""],
    ids=["half", "junk", "empty"],
)
def test_pdf_corrupt_or_truncated_is_an_ingest_error(tmp_path: Path, cut: Callable[[bytes], bytes]) -> None:
    data = bytes(_outlined_pdf(tmp_path / "whole.pdf").read_bytes())
    path = tmp_path / "broken.pdf"
    path.write_bytes(cut(data))
    with pytest.raises(IngestError, match=r"broken\.pdf: not a readable PDF .*re-save or re-export"):
        _read(path)


def test_pdf_with_user_password_is_refused(tmp_path: Path) -> None:
    pdf = _pdf()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    _para(pdf, DIAG)
    path = _write(pdf, tmp_path / "locked.pdf")
    with pytest.raises(
        IngestError, match=r"locked\.pdf: the PDF is encrypted with a password; save an unprotected"
    ):
        _read(path)


def test_pdf_with_owner_password_only_opens_with_the_empty_password(tmp_path: Path) -> None:
    pdf = _pdf()
    pdf.set_encryption(owner_password="owner")  # no user password: readable, only permissions restricted
    pdf.add_page()
    _para(pdf, DIAG)
    assert _read(_write(pdf, tmp_path / "restricted.pdf")).blocks == [Block("", DIAG, 1)]


def test_page_paragraphs_split_on_blank_lines_and_join_hyphenated_words() -> None:
    text = "Introduction\nThe first para-\ngraph runs over\ntwo lines\n\nA second paragraph.\n\n\n"
    assert list(page_paragraphs(text, set())) == [
        "Introduction",  # a heading-like first line stands alone
        "The first paragraph runs over two lines",
        "A second paragraph.",
    ]


def test_page_paragraphs_without_blank_lines_end_at_sentence_ends() -> None:
    text = "Take the reading\nseated. Then ask:\nIs the cuff the right size?\nrecord it\nin the notes"
    # only a line end closes a paragraph: "seated." mid-line does not
    assert list(page_paragraphs(text, set())) == [
        "Take the reading seated. Then ask:",
        "Is the cuff the right size?",
        "record it in the notes",
    ]
    # a bookmark title stands alone even inside a run of lines (compared without numbering and case)
    assert list(page_paragraphs("some words\n2.1 treatment\nmore words.", {"treatment"})) == [
        "some words",
        "2.1 treatment",
        "more words.",
    ]


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("Blood Pressure Targets", True),
        ("Management of Hypertension in Adults", True),  # small words may stay lower case
        ("RECOMMENDATIONS", True),
        ("2.1 Drug Treatment", True),
        ("Blood pressure targets", False),  # sentence case
        ("The Cuff Was Checked.", False),  # a final period
        ("One Two Three Four Five Six Seven Eight Nine", False),  # 9 words
        ("140/90", False),
    ],
)
def test_looks_like_heading(line: str, heading: bool) -> None:
    assert looks_like_heading(line) is heading


# ---------------------------------------------------------------- HTML

ARTICLE = """<!doctype html>
<html><head>
<title>Hypertension | Example Journal</title>
<meta name="citation_title" content="Managing hypertension in adults">
<meta name="citation_journal_title" content="Example Journal of Medicine">
<meta name="citation_publisher" content="Example Press">
<meta name="citation_publication_date" content="2021/03/04">
<meta name="citation_doi" content="10.1000/ejm.2021.42">
<meta name="citation_pmid" content="12345678">
<meta name="citation_pdf_url" content="https://example.org/article.pdf">
<meta name="citation_keywords" content="hypertension; blood pressure">
<meta name="citation_keywords" content="stroke">
<meta property="og:site_name" content="Example Site">
<meta property="article:modified_time" content="2023-05-01T10:00:00Z">
<link rel="canonical" href="https://example.org/articles/42">
<style>.banner { color: red } STYLETEXT</style>
<script>var trackingScriptText = "SCRIPTTEXT";</script>
</head><body>
<nav><a href="/">Home NAVTEXT</a> <a href="/journals">Journals NAVTEXT</a></nav>
<div id="cookie-banner" class="cookie-consent">We use cookies COOKIETEXT. Accept all cookies to continue.</div>
<article>
<h1>Managing hypertension in adults</h1>
<p>Hypertension is a common condition affecting many adults worldwide, and treating it lowers the risk of stroke.</p>
<h2>Diagnosis</h2>
<p>Measure blood pressure in both arms at the first visit and use ambulatory monitoring to confirm it.</p>
<ul><li>Check the cuff size before each reading.</li><li>Repeat the reading after five minutes of rest.</li></ul>
<h2>Treatment</h2>
<p>Offer an ACE inhibitor or an angiotensin receptor blocker to adults under 55 years with type 2 diabetes.</p>
<table><tr><td>TABLETEXT dose</td><td>TABLETEXT frequency</td></tr></table>
</article>
<footer><p>Copyright FOOTERTEXT 2024 Example Press. All rights reserved.</p></footer>
<script>console.log("SCRIPTTEXT again");</script>
</body></html>
"""


def test_html_citation_meta_and_main_text_with_sections(tmp_path: Path) -> None:
    path = tmp_path / "article.html"
    path.write_text(ARTICLE, encoding="utf-8")
    parsed = _read(path)
    assert parsed.meta == {
        "title": "Managing hypertension in adults",  # citation_title over <title>
        "publisher": "Example Journal of Medicine",  # the journal over citation_publisher
        "year": 2021,
        "doi": "10.1000/ejm.2021.42",
        "pmid": "12345678",
        "url": "https://example.org/articles/42",  # canonical, not the PDF link
        "keywords": ["hypertension", "blood pressure", "stroke"],  # both tags, split on ;
        "last_updated": "2023-05-01",
    }
    assert parsed.blocks == [
        Block(
            "Managing hypertension in adults",
            "Hypertension is a common condition affecting many adults worldwide, and treating it lowers the risk of stroke.",
        ),
        Block(
            "Diagnosis",
            "Measure blood pressure in both arms at the first visit and use ambulatory monitoring to confirm it.",
        ),
        Block("Diagnosis", "Check the cuff size before each reading."),
        Block("Diagnosis", "Repeat the reading after five minutes of rest."),
        Block(
            "Treatment",
            "Offer an ACE inhibitor or an angiotensin receptor blocker to adults under 55 years with type 2 diabetes.",
        ),
    ]
    text = " ".join(b.text + " " + b.section for b in parsed.blocks)
    for boilerplate in ("NAVTEXT", "SCRIPTTEXT", "STYLETEXT", "COOKIETEXT", "TABLETEXT", "FOOTERTEXT"):
        assert boilerplate not in text


def test_html_dublin_core_fallback() -> None:
    html = """<html><head><title>Page title</title>
    <meta name="DC.Title" content="Dublin Core title">
    <meta name="DC.Publisher" content="Health Agency">
    <meta name="DC.Date" content="2019-05-06">
    <meta name="DC.Identifier" content="doi:10.2000/agency.7">
    <meta name="DC.Date.Modified" content="2020-01-31">
    <meta property="og:site_name" content="Agency website">
    <meta property="og:url" content="https://agency.example/guide">
    <link rel="canonical" href="/guide">
    </head><body></body></html>"""
    assert head_meta(html) == {
        "title": "Dublin Core title",
        "publisher": "Health Agency",  # DC.publisher before og:site_name
        "year": 2019,
        "doi": "10.2000/agency.7",
        "url": "https://agency.example/guide",  # a relative canonical link is no URL: og:url
        "last_updated": "2020-01-31",
    }


def test_html_title_and_site_name_fallbacks_and_http_date() -> None:
    html = """<html><head><title> Blood  pressure
    advice </title><meta property="og:site_name" content="Clinic Site">
    <meta http-equiv="last-modified" content="Tue, 15 Nov 1994 12:45:26 GMT">
    <meta name="DC.Identifier" content="ISBN 978-3-16-148410-0"></head><body></body></html>"""
    # no year, no doi (an ISBN is not a DOI), no url: left out for a sidecar to supply
    assert head_meta(html) == {
        "title": "Blood pressure advice",
        "publisher": "Clinic Site",
        "last_updated": "1994-11-15",
    }


def test_html_without_main_text_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "menu.htm"
    path.write_text(
        "<html><head><title>Index</title><script>var x = 'only a script';</script></head>"
        "<body><nav><a href='/a'>A</a> <a href='/b'>B</a></nav></body></html>",
        encoding="utf-8",
    )
    with pytest.raises(IngestError, match=r"menu\.htm: no main text found; save the article page itself"):
        _read(path)


def test_html_in_a_legacy_encoding_is_decoded() -> None:
    page = "<html><head><meta charset='iso-8859-1'></head><body><p>Le café est très bon, dit le médecin à Genève.</p></body></html>"
    assert "médecin à Genève" in decode_html(page.encode("latin-1"))
    assert decode_html("\ufeff<p>café</p>".encode()) == "<p>café</p>"  # UTF-8 with a byte-order mark


# ---------------------------------------------------------------- DOCX


def _docx(path: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("Hypertension Guide", style="Title")
    document.add_paragraph("This guide is for clinicians who manage blood pressure in adults.")
    document.add_heading("Diagnosis", level=1)
    document.add_paragraph("Confirm the diagnosis with ambulatory monitoring.")
    document.add_paragraph("Check the cuff size.", style="List Bullet")
    document.add_paragraph("Repeat after five minutes.", style="List Bullet")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "TABLETEXT drug"
    table.cell(0, 1).text = "TABLETEXT dose"
    document.add_heading("First-line Drugs", level=2)
    document.add_paragraph("")  # empty paragraphs are no blocks
    document.add_paragraph("Offer an ACE inhibitor.")
    props = document.core_properties
    props.title = "Hypertension in adults"
    props.keywords = "hypertension; blood pressure, stroke"
    props.created = datetime(2020, 1, 2, 9, 0)
    props.modified = datetime(2022, 6, 7, 15, 30)
    document.save(str(path))
    return path


def test_docx_headings_lists_and_core_properties(tmp_path: Path) -> None:
    parsed = _read(_docx(tmp_path / "guide.docx"))
    assert parsed.blocks == [
        Block("Hypertension Guide", "This guide is for clinicians who manage blood pressure in adults."),
        Block("Diagnosis", "Confirm the diagnosis with ambulatory monitoring."),
        Block("Diagnosis", "Check the cuff size."),
        Block("Diagnosis", "Repeat after five minutes."),
        Block("First-line Drugs", "Offer an ACE inhibitor."),
    ]
    assert not any("TABLETEXT" in b.text for b in parsed.blocks)
    assert parsed.meta == {
        "title": "Hypertension in adults",
        "keywords": ["hypertension", "blood pressure", "stroke"],
        "year": 2020,  # created
        "last_updated": "2022-06-07",  # modified
    }


def test_docx_import_is_python_docx_not_the_reader_module() -> None:
    reader_module = importlib.import_module("assistant.readers.docx")
    assert reader_module.docx is docx
    assert reader_module.docx.__file__ != reader_module.__file__


@pytest.mark.parametrize(
    "content",
    [b"this is not a zip archive", b""],
    ids=["text", "empty"],
)
def test_docx_not_a_zip_is_an_ingest_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.docx"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=r"fake\.docx: not a valid \.docx file \(not a zip archive\)"):
        _read(path)


def test_docx_zip_without_a_word_document_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "other.docx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a Word document")
    path.write_bytes(buffer.getvalue())
    with pytest.raises(IngestError, match=r"other\.docx: not a readable Word document"):
        _read(path)


def test_docx_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 3_000_000)  # ~3 kB packed
    path.write_bytes(buffer.getvalue())
    small = IngestSettings(max_file_bytes=100_000)  # unpacked limit 20 x 100 kB = 2 MB < 3 MB
    with pytest.raises(IngestError, match=r"bomb\.docx: the \.docx unpacks to 3,000,[0-9,]+ bytes"):
        _read(path, small)


def test_docx_with_only_headings_has_no_body_text(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Only a heading", level=1)
    path = tmp_path / "empty.docx"
    document.save(str(path))
    with pytest.raises(IngestError, match=r"empty\.docx: the Word document has no body text"):
        list(DocxReader().read(path, SETTINGS))


# ---------------------------------------------------------------- plain text


def test_text_title_headings_bullets_and_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(
        "\nHypertension notes for the clinic\n\n"
        "Blood pressure rises with age and\nis often silent.\n\n"
        "DIAGNOSIS\nUse ambulatory monitoring.\n\n"
        "Treatment options:\n- ACE inhibitor\n- Calcium channel blocker\n  taken once a day\n",
        encoding="utf-8",
    )
    parsed = _read(path)
    assert parsed.meta == {"title": "Hypertension notes for the clinic"}
    assert parsed.blocks == [
        Block("", "Blood pressure rises with age and is often silent."),
        Block("DIAGNOSIS", "Use ambulatory monitoring."),
        Block("Treatment options", "ACE inhibitor"),
        Block("Treatment options", "Calcium channel blocker taken once a day"),
    ]


def test_text_first_line_that_is_a_sentence_or_runs_on_is_not_a_title(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("Blood pressure rises with age.\n\nIt is often silent.\n", encoding="utf-8")
    assert _read(path).meta == {}  # ends with a period
    path.write_text("Blood pressure rises with age and\nis often silent.\n", encoding="utf-8")
    parsed = _read(path)  # no blank line after the first line: a wrapped paragraph
    assert (parsed.meta, parsed.blocks) == (
        {},
        [Block("", "Blood pressure rises with age and is often silent.")],
    )


def test_text_empty_or_not_utf8_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("Just a title\n\n\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"blank\.txt: the text file has no paragraphs"):
        list(TextReader().read(path, SETTINGS))
    path.write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(IngestError, match=r"blank\.txt: cannot read the file as UTF-8 text"):
        list(TextReader().read(path, SETTINGS))


# ---------------------------------------------------------------- all four


@pytest.mark.parametrize(
    ("name", "reader"),
    [("a.html", HtmlReader()), ("a.pdf", PdfReader()), ("a.docx", DocxReader()), ("a.txt", TextReader())],
)
def test_every_reader_refuses_a_file_over_the_size_limit(tmp_path: Path, name: str, reader: Reader) -> None:
    path = tmp_path / name
    path.write_bytes(b"x" * 2_000)
    with pytest.raises(IngestError, match=r"a\.\w+: the file is 2,000 bytes, over the limit of 1,000"):
        list(reader.read(path, IngestSettings(max_file_bytes=1_000)))


def test_registry_names_the_four_readers() -> None:
    names = {s: reader_for(Path("x" + s)).name for s in (".html", ".htm", ".pdf", ".docx", ".txt")}
    assert names == {".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx", ".txt": "text"}


# ---------------------------------------------------------------- end to end


def test_load_corpus_reads_a_pdf_with_its_sidecar_and_keeps_pages(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    pdf = _pdf()
    pdf.set_title("Hypertension in Adults")
    pdf.add_page()
    pdf.start_section("Diagnosis")
    _para(pdf, DIAG)
    pdf.add_page()
    pdf.start_section("Treatment")
    _para(pdf, TREAT)
    _write(pdf, library / "bp-guide.pdf")
    (library / "bp-guide.meta.yaml").write_text(
        "source_type: guideline\npublisher: Example Health Agency\nyear: 2022\n", encoding="utf-8"
    )
    corpus = load_corpus([library], IngestSettings())
    doc = corpus.documents["bp-guide"]  # the id is the file name
    assert (doc.title, doc.publisher, doc.year, doc.source_type) == (
        "Hypertension in Adults",  # from the PDF
        "Example Health Agency",  # from the sidecar
        2022,  # the sidecar overrides the PDF's creation year (2021)
        "guideline",
    )
    assert doc.last_updated == "2021-03-04"
    assert [(p.section, p.text, p.page) for p in corpus.passages] == [
        ("Diagnosis", DIAG, 1),
        ("Treatment", TREAT, 2),
    ]


def test_pdf_page_numbers_and_running_heads_are_no_text_or_headings(tmp_path: Path) -> None:
    pdf = _pdf()
    for number, text in enumerate((DIAG, CONT, TREAT), start=1):
        pdf.add_page()
        _para(pdf, "Hypertension in Adults Guideline")  # a running head: on all 3 pages
        _para(pdf, text)
        _para(pdf, f"Page {number} of 3")
    parsed = _read(_write(pdf, tmp_path / "running.pdf"))
    # without them the running head would be the section of every page and the footer a paragraph
    assert parsed.blocks == [Block("", DIAG, 1), Block("", CONT, 2), Block("", TREAT, 3)]


def test_html_with_a_control_character_reference_still_has_its_main_text(tmp_path: Path) -> None:
    """A single `&#1;` made trafilatura return nothing (found by tests/test_readers_fuzz.py)."""
    body = "Adults should do at least 150 minutes of moderate aerobic activity every week."
    page = f"<html><head><title>Activity</title></head><body><article><h1>Activity</h1><p>{body}&#1;</p>" \
           f"<p>Muscle-strengthening activity on two or more days a week adds to the benefit.&#x1b;</p>" \
           "</article></body></html>"  # fmt: skip
    path = tmp_path / "activity.html"
    path.write_text(page, encoding="utf-8")
    parsed = _read(path)
    assert parsed.blocks[0].text == body

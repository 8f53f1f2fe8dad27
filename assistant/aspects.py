"""Clinical aspects a question asks about (diagnosis, treatment, ...), matched to the corpus's section headings."""

from __future__ import annotations

# Section heading (lower case) -> word beginnings that show a question asks about that aspect.
ASPECT_CUES: dict[str, tuple[str, ...]] = {
    "presentation": ("present", "symptom", "sign", "feature", "clinical picture"),
    "diagnosis": ("diagnos", "test", "criteria", "investigat", "confirm", "work-up", "workup", "imaging"),
    "treatment": ("treat", "therap", "manag", "drug", "medication", "first-line", "first line"),
    "prognosis": ("prognos", "surviv", "outlook", "life expectancy", "mortality"),
    "monitoring": ("monitor", "follow-up", "follow up"),
    "special populations": ("pregnan", "child", "paediatric", "pediatric", "elderly", "older", "breastfeed"),
    "prevention": ("prevent", "prophyla"),
    "differential diagnosis": ("differential", "mimic"),
    "causes and risk factors": ("risk factor", "cause", "genetic", "inherit"),
    "referral": ("refer",),
    "epidemiology": ("how common", "incidence", "prevalence", "epidemiolog"),
}


def aspects_of(question: str) -> frozenset[str]:
    """The section headings whose aspect `question` asks about (empty when it names none)."""
    low = question.lower()
    return frozenset(section for section, cues in ASPECT_CUES.items() if any(cue in low for cue in cues))

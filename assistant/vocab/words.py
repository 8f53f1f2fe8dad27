"""Word lists of the clinical vocabulary, matched on whole tokens (a cue matches the beginning of a word)."""

from __future__ import annotations

import re
from functools import lru_cache

from ..lexical import terms
from .abbreviations import PROJECT_ABBREVIATIONS

_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# Drug names (by their stems: -pril, -sartan, -xaban ...) and classes, as clinical text writes them.
DRUG = re.compile(
    r"\b(?:\w+(?:mab|vir|tinib|pril|sartan|olol|alol|statin|gliflozin|glutide|gliptin|xaban|gatran|parin|cillin|mycin|"
    r"floxacin|cycline|azole|dipine|zepam|zolam|triptan|dronate|prazole|formin|oxetine|aline|pramine|tiapine|"
    r"apine|idone|semide|thiazide)|inhibitors?|blockers?|agonists?|antagonists?|"
    r"statins?|anticoagula\w*|antibiotics?|antiplatelet\w*|insulin|aspirin|warfarin|heparin|levothyroxine|lithium|"
    r"clozapine|riluzole|adrenaline|epinephrine|noradrenaline|norepinephrine|vasopressin|steroids?|"
    r"corticosteroids?|prednisolone|benzodiazepines?|thiamine|levodopa|denosumab|bisphosphonates?|DOACs?|"
    r"LMWH|SSRIs?|SNRIs?|ICS|LABA|LAMA|SABA|alteplase|tenecteplase|thrombolysis|antidepressants?|"
    r"antipsychotics?|iron|fluids?|crystalloids?|salbutamol|budesonide|formoterol|oxygen|valproate|"
    r"lamotrigine|levetiracetam|carbamazepine|topiramate|propranolol|amitriptyline|memantine|donepezil|"
    r"rivastigmine|galantamine|ticagrelor|clopidogrel|prasugrel|metformin|furosemide|rifampicin|isoniazid|"
    r"nitrofurantoin|trimethoprim|amoxicillin|doxycycline|azithromycin|macrolides?|ceftriaxone)\b",
    re.I,
)

# Section heading (lower case) -> cues that show a question asks about that aspect. A cue is one or more words;
# each of its words matches the beginning of a question word, in order ("diagnos" matches "diagnosed").
ASPECT_CUES: dict[str, tuple[str, ...]] = {
    "presentation": ("present", "symptom", "sign", "signs", "feature", "clinical picture"),
    "diagnosis": ("diagnos", "test", "tests", "testing", "criteria", "investigat", "confirm", "work-up", "workup",
                  "imaging"),
    "treatment": ("treat", "therap", "manag", "drug", "medication", "first-line", "first line", "tx", "rx"),
    "prognosis": ("prognos", "surviv", "outlook", "life expectancy", "mortality"),
    "monitoring": ("monitor", "follow-up", "follow up"),
    "special populations": ("pregnan", "child", "children", "kid", "kids", "paediatric", "pediatric", "elderly",
                            "older", "breastfeed"),
    "prevention": ("prevent", "prophyla"),
    "differential diagnosis": ("differential", "mimic"),
    "causes and risk factors": ("risk factor", "cause", "causes", "caused", "causing", "genetic", "inherit",
                                "aetiolog", "etiolog"),
    "referral": ("refer",),
    "epidemiology": ("how common", "incidence", "prevalence", "epidemiolog"),
}  # fmt: skip

# Cues that are whole words, not word beginnings ("test" must not match "testosterone", "kid" not "kidney").
_WHOLE = frozenset({"test", "tests", "testing", "cause", "causes", "caused", "causing", "kid", "kids", "child",
                    "children", "sign", "signs", "tx", "rx", "older"})  # fmt: skip


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (hyphenated words kept whole)."""
    return _TOKEN.findall(text.lower())


def _word_matches(cue: str, word: str) -> bool:
    return word == cue if cue in _WHOLE else word.startswith(cue)


def has_cue(words: list[str], cue: str) -> bool:
    """Whether the tokens `words` contain the cue: its words, in order, each starting a token."""
    parts = cue.split()
    n = len(parts)
    for i in range(len(words) - n + 1):
        if all(_word_matches(p, w) for p, w in zip(parts, words[i : i + n], strict=True)):
            return True
    # "first-line" written as one hyphenated token, or the cue hyphenated and the text not ("work up")
    joined = "-".join(parts)
    if n > 1 and any(w.startswith(joined) for w in words):
        return True
    return n == 1 and "-" in cue and has_cue(words, cue.replace("-", " "))


@lru_cache(maxsize=4096)
def aspects_of(question: str) -> frozenset[str]:
    """The section headings whose aspect `question` asks about (empty when it names none)."""
    words = tokens(question)
    return frozenset(
        section for section, cues in ASPECT_CUES.items() if any(has_cue(words, cue) for cue in cues)
    )


# Words that ask for an aspect rather than name a topic: their absence from the evidence is no reason to abstain,
# and a question made of them alone names no topic of its own.
QUESTION_WORDS = frozenset(
    terms(
        "what which when where who why how is are was were does do can should could would may might treat treated "
        "treatment treatments therapy therapies manage managed management diagnose diagnosed diagnosis diagnostic "
        "criteria symptom symptoms sign signs present presentation presenting patient patients people adult adults "
        "first line first-line best recommended recommendation recommendations guideline guidelines evidence "
        "prognosis outlook risk risks factor factors cause causes caused test tests testing exam screening screen "
        "dose dosing drug drugs medication medications option options use used using role typical typically usual "
        "common commonly clinical clinically main key type types about also other define definition mean means "
        "need needs indication indicated prevent prevention prevented long term effect effects outcome outcomes "
        "difference between versus compared start started stop stopped initial initially target goal level levels "
        "approach features feature evaluate evaluation assess assessment workup work up care follow refer referral "
        "i me my we our you your he him his she her someone anyone somebody person happen happens happened after "
        "before already well still further actually really much many more less good right take takes taking show "
        "shows has have had get gets give given go know make made apply applies work works choose would will "
        "there any some something anything tell explain describe list please compare contrast discuss "
        "information info interested learn ok okay worth worthwhile still actually any anything else extra history "
        "try trying tried keep keeping watch watching"
    )
)

# Words that narrow a question (who, which aspect) without naming a topic of their own.
MODIFIERS = frozenset(
    terms(
        "child children kids paediatric pediatric infant infants adolescent adolescents teenager teenagers "
        "pregnancy pregnant breastfeeding elderly older age aged women woman men man side adverse complication "
        "complications duration survival life expectancy mortality cure inherited genetic contagious spread "
        "severe mild moderate early late onset stage progression worse better recovery acute chronic home "
        "lifestyle diet exercise surgery alternatives alternative renal kidney kidneys liver impairment dose doses "
        "hospital admitted admission discharge response monitored monitoring harms benefit benefits safe safety"
    )
)

QUANTITY = re.compile(
    r"\b(?:what|which) (?:\w+ ){0,4}(?:dose|dosing|dosage|rate|percentage|proportion|concentration|interval)\b|"
    r"\bhow (?:much|many)\b|\bby how\b|\btime in (?:therapeutic )?range\b",
    re.IGNORECASE,
)


PATIENT_WORDS = frozenset(terms("year years old aged man woman men women adult child infant patient"))

# Units of the values a question gives ("58 kg", "25 mg/mmol"): neither a topic nor a word the library lacks.
UNITS = frozenset(terms("kg mg mcg ml mmol mmhg iu units"))


# Section heading -> the follow-up question offered when the answer's sources have that section.
FOLLOWUP_TEMPLATES: dict[str, str] = {
    "presentation": "What are the presenting features of {t}?",
    "diagnosis": "How is {t} diagnosed?",
    "treatment": "How is {t} treated?",
    "prognosis": "What is the prognosis of {t}?",
    "monitoring": "How should {t} be monitored?",
    "special populations": "Which groups of patients need a different approach to {t}?",
    "prevention": "How can {t} be prevented?",
    "differential diagnosis": "What is the differential diagnosis of {t}?",
    "causes and risk factors": "What are the risk factors for {t}?",
    "referral": "When should {t} be referred to a specialist?",
    "epidemiology": "How common is {t}?",
}


# Lower-case shorthand of the project list: replaced outright (the library writes the long form).
SHORTHAND = {k: v[0] for k, v in PROJECT_ABBREVIATIONS.items() if k.islower()}
SHORTHAND |= {
    "1st": "first", "2nd": "second", "3rd": "third", "2ndary": "secondary", "b4": "before", "w": "with",
    "shld": "should", "shud": "should", "yrs": "years", "yr": "year", "mo": "month", "mos": "months",
    "wk": "week", "wks": "weeks", "hrs": "hours", "hr": "hour", "mgmt": "management", "outpt": "outpatient",
    "inpt": "inpatient", "meds": "medications", "med": "medication", "dz": "disease", "sx": "symptoms",
    "vs": "versus", "pos": "positive", "neg": "negative", "cx": "culture", "mod": "moderate", "paeds": "children",
    "peds": "children", "kids": "children", "kid": "child", "comorbs": "comorbidities", "ca": "cancer",
    "pressor": "vasopressor", "pressors": "vasopressors", "thrombolyse": "thrombolysis",
    "sats": "oxygen saturation", "pyelo": "pyelonephritis", "cipro": "ciprofloxacin", "moxi": "moxifloxacin",
    "amox": "amoxicillin", "prn": "as-needed", "preg": "pregnant", "yo": "year old", "std": "standard",
    "ex": "former", "eg": "for example", "flu": "influenza", "bloods": "blood tests", "od": "once daily",
    "bicarb": "bicarbonate", "mammo": "mammography", "mammos": "mammography", "norad": "noradrenaline", "pk": "pack",
    # contractions typed without their apostrophe
    "shes": "she is", "hes": "he is", "theyre": "they are", "dont": "do not", "doesnt": "does not",
    "didnt": "did not", "isnt": "is not", "arent": "are not", "wasnt": "was not", "cant": "cannot",
    "wont": "will not", "shouldnt": "should not", "whats": "what is",
}  # fmt: skip

# A user's word -> the words a library may use for the same thing: added to what is searched, in brackets.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "prophylaxis": ("prevention",), "preventive": ("prevention",), "steroid": ("corticosteroid",),
    "steroids": ("corticosteroids",), "elderly": ("older people",), "thrombolysis": ("alteplase",),
    "anticoagulate": ("anticoagulation",), "anticoagulating": ("anticoagulation",), "screened": ("screening",),
    "mammograms": ("mammography",), "mammogram": ("mammography",), "thinners": ("anticoagulants",),
    "admit": ("hospital",), "children": ("young people",), "weighs": ("weight",), "weighing": ("weight",),
    "fits": ("seizures",), "detox": ("assisted withdrawal", "detoxification"),
}  # fmt: skip

# A condition -> the broader class sources often name instead ("a history of cardiovascular disease" covers a
# past myocardial infarction): the question's words are also found through it in the evidence. Classes as the
# NICE CVD risk guideline (NG238) defines cardiovascular disease: coronary heart disease (angina, myocardial
# infarction), stroke and transient ischaemic attack, and peripheral arterial disease.
BROADER: dict[str, str] = {
    "myocardial infarction": "cardiovascular disease", "heart attack": "cardiovascular disease",
    "angina": "cardiovascular disease", "coronary heart disease": "cardiovascular disease",
    "coronary artery disease": "cardiovascular disease", "ischaemic heart disease": "cardiovascular disease",
    "ischemic heart disease": "cardiovascular disease", "stroke": "cardiovascular disease",
    "transient ischaemic attack": "cardiovascular disease", "peripheral arterial disease": "cardiovascular disease",
}  # fmt: skip
BROADER_NAMES = re.compile(r"\b(?:" + "|".join(map(re.escape, BROADER)) + r")\b", re.IGNORECASE)

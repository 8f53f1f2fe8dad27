"""Typo correction against the library's own words (symspellpy), never against general English."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """symspellpy's English frequency list: a word in it is a real word, never a typo to correct (it is never
    a correction either: corrections come from the library's own words)."""
    text = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text("utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


class Speller:
    """Corrects a word the library does not use to the most frequent library word within a small edit distance
    (Damerau-Levenshtein: one edit for words of up to five letters, two for longer ones).

    A real English word is left alone ("stain" is no typo of "statin", though one edit away). A word with a
    trailing "s" that matches nothing is tried without it ("statinss"); a possessive is known without its
    apostrophe ("alzheimrs" is "alzheimers"). `shorthand` adds words the reader replaces itself ("pressor"), so
    that their typos are corrected to them too.
    """

    def __init__(self, words: Mapping[str, int], min_length: int = 4, shorthand: Iterable[str] = ()) -> None:
        from symspellpy import SymSpell

        self.min_length = min_length
        self._sym: Any = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in words.items():
            word = word.replace("'", "").replace("’", "")  # "alzheimer's" is typed "alzheimers"
            if len(word) >= 3 and word.isalpha():
                self._sym.create_dictionary_entry(word, count)
        for word in shorthand:
            if len(word) >= 5 and word.isalpha() and word not in words:
                self._sym.create_dictionary_entry(word, 1)

    def correct(self, word: str) -> str | None:
        """The library word `word` is probably a misspelling of, or None."""
        low = word.lower()
        if len(low) < self.min_length or not low.isalpha():
            return None
        if low in english_words():
            return None
        fixed = self._closest(low, 1 if len(low) <= 5 else 2)
        if fixed is None and low.endswith("s") and len(low) > self.min_length:
            fixed = self._closest(low[:-1], 1 if len(low) <= 6 else 2)
        return fixed

    def _closest(self, low: str, distance: int) -> str | None:
        from symspellpy import Verbosity

        found = self._sym.lookup(low, Verbosity.CLOSEST, max_edit_distance=distance, transfer_casing=False)
        if not found or found[0].distance == 0:
            return None
        return str(found[0].term)

"""How well a decoded text reads as a language written outside the Latin script.

A legacy code page maps the same bytes to Cyrillic, Greek, Hebrew, Arabic or, two
bytes at a time, to CJK characters, and for a short text every reading can look like
one script. fit() scores a reading as the log-likelihood of its non-ASCII characters
under per-language letter frequencies (approximate percentages of running text), plus
penalties for spellings a language does not have: an uppercase letter after a
lowercase one, a Greek final sigma inside a word, a Hebrew final letter before another
letter. All readings of one sample decode the same bytes, so their fits compare
directly; fit().per_byte sets them against an absolute floor.

Pure Python, no Django (extractors run in the sandbox).
"""

# ruff: noqa: RUF001, RUF003 - the tables and rules are meant to hold Cyrillic, Greek... letters

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache

__all__ = ["Fit", "fit", "is_latin"]

_FREQUENCIES: dict[str, tuple[str, str]] = {
    # language: (script, "letter percent ...") over lowercase letters
    "ru": (
        "CYRILLIC",
        "о 11.0 е 8.5 а 8.0 и 7.4 н 6.7 т 6.3 с 5.5 р 4.7 в 4.5 л 4.4 к 3.5 м 3.2 д 3.0 "
        "п 2.8 у 2.6 я 2.0 ы 1.9 ь 1.7 г 1.7 з 1.7 б 1.6 ч 1.4 й 1.2 х 1.0 ж 0.9 ш 0.7 "
        "ю 0.6 ц 0.5 щ 0.4 э 0.3 ф 0.3 ё 0.2 ъ 0.04",
    ),
    "uk": (
        "CYRILLIC",
        "о 9.4 а 8.2 н 7.0 и 6.2 і 5.6 в 5.3 т 5.3 е 4.9 р 4.6 с 4.2 к 3.9 л 3.6 у 3.4 "
        "д 3.3 м 3.2 п 2.8 з 2.2 я 2.2 ь 1.6 б 1.6 г 1.4 й 1.3 ч 1.3 х 1.1 ж 0.9 ц 0.9 "
        "ї 0.8 ш 0.8 ю 0.7 є 0.5 щ 0.5 ф 0.3 ґ 0.05",
    ),
    "bg": (
        "CYRILLIC",
        "а 11.0 о 8.6 и 8.6 е 8.5 н 7.4 т 7.2 р 5.1 с 4.6 в 4.3 к 3.6 л 3.3 д 3.3 п 3.0 "
        "м 2.8 ъ 2.2 я 2.1 з 2.0 у 1.6 г 1.5 б 1.4 ч 1.4 ц 0.9 ж 0.7 й 0.6 х 0.6 щ 0.5 "
        "ш 0.5 ф 0.3 ю 0.2 ь 0.05",
    ),
    "sr": (
        "CYRILLIC",
        "а 11.7 и 9.8 о 9.1 е 8.5 н 6.3 р 5.0 с 4.9 т 4.6 ј 4.3 у 4.2 к 3.9 д 3.5 в 3.4 "
        "м 3.3 п 2.9 л 2.9 г 1.6 з 1.6 б 1.5 ч 1.1 ц 1.0 ш 0.9 ћ 0.9 ж 0.6 њ 0.6 љ 0.5 "
        "х 0.4 ђ 0.2 ф 0.2 џ 0.1",
    ),
    "el": (
        "GREEK",
        "α 9.5 ο 8.0 τ 8.0 ε 6.6 ν 6.4 ι 6.3 ρ 4.5 σ 4.3 η 4.1 κ 4.0 π 4.0 υ 3.6 μ 3.4 "
        "ς 2.9 λ 2.6 ά 1.9 γ 1.8 ό 1.7 δ 1.6 ί 1.5 ω 1.3 έ 1.3 θ 1.3 ή 1.2 χ 1.2 φ 0.8 "
        "ύ 0.6 ώ 0.6 β 0.6 ξ 0.4 ζ 0.3 ψ 0.15 ϊ 0.05 ϋ 0.02 ΐ 0.01 ΰ 0.01",
    ),
    "he": (
        "HEBREW",
        "י 11.0 ו 10.0 ה 8.8 ל 7.2 א 6.2 ר 5.5 ת 5.5 מ 5.2 ב 4.8 ש 4.3 נ 3.8 ע 3.2 ם 2.9 "
        "ד 2.6 ח 2.3 ק 2.2 כ 2.0 פ 1.5 ן 1.3 ג 1.2 ס 1.1 ט 1.0 צ 1.0 ז 0.8 ך 0.6 ף 0.2 "
        "ץ 0.2",
    ),
    "ar": (
        "ARABIC",
        "ا 12.5 ل 11.0 ي 7.0 م 6.0 و 6.0 ن 6.0 ر 4.5 ت 4.0 ب 3.7 ع 3.2 ة 3.0 د 2.8 أ 2.6 "
        "س 2.5 ف 2.5 ه 2.5 ك 2.2 ق 2.2 ح 1.9 ج 1.3 ش 1.0 ى 1.0 إ 1.0 ط 0.9 ص 0.9 خ 0.8 "
        "ذ 0.6 ز 0.5 ث 0.5 ض 0.5 ئ 0.5 غ 0.4 ء 0.3 ظ 0.2 آ 0.2 ؤ 0.2",
    ),
}

# Log-probabilities of characters outside a language's frequency table.
_SAME_SCRIPT = math.log(1e-4)  # a rare letter of the language's script
_FOREIGN = math.log(1e-5)  # a letter of another script, a control character
_MARK = math.log(0.02)  # a combining mark (Hebrew points, Arabic vowel signs)
_PUNCTUATION = math.log(0.01)  # typographic punctuation common in any language
_SYMBOL = math.log(1e-4)  # any other symbol: box drawing, ¤, ¦, ±...
_VIOLATION = -5.0  # a spelling the language does not have
_SHOUTING = -1.0  # an uppercase letter inside a word
_COMMON_PUNCTUATION = frozenset("«»„“”‘’‚–—…•·№°§\u00a0\u00ad€׳״،؛؟")

# CJK characters, two bytes each: kana and hangul are frequent, ideographs in the
# common sets of GB2312, JIS X 0208 or Big5 likely, others (what random bytes give) rare.
_KANA = math.log(1 / 80)
_COMMON_SYLLABLE = math.log(1 / 1500)
_COMMON_IDEOGRAPH = math.log(1 / 2500)
_RARE = math.log(1e-6)

_LETTER = r"[^\W\d_]"
_UPPER_AFTER_LOWER: dict[str, re.Pattern[str]] = {}  # per script, built below
_SCRIPT_RULES: dict[str, list[re.Pattern[str]]] = {
    "CYRILLIC": [re.compile(rf"(?<!{_LETTER})[ьъыЬЪЫ]")],  # no word starts with them
    "GREEK": [
        re.compile(rf"σ(?!{_LETTER})"),  # final sigma is ς
        re.compile(rf"ς(?={_LETTER})"),
        re.compile(r"[άέήίόύώΐΰ][^\W\d_]*[άέήίόύώΐΰ]"),  # one accent per word
        # Greek words end in a vowel, ν or ς ("κλπ" aside).
        re.compile(rf"(?<=[α-ωάέήίόύώϊϋ])[βγδζθκλμπρτφχψξ](?!{_LETTER})"),
    ],
    "HEBREW": [
        re.compile(r"[ךםןףץ](?=[\u05d0-\u05ea])"),  # final letters end a word
        re.compile(r"(?<=[\u05d0-\u05ea])[כמנפצ](?![\u0591-\u05ea])"),
        re.compile(r"(?<![\u0591-\u05ea])[\u0591-\u05c7]"),  # points follow a letter
    ],
    "ARABIC": [re.compile(r"(?<![\u0621-\u0652])[\u064b-\u0652]")],
}


_GREEK_LOWER_WORD = re.compile(rf"(?<!{_LETTER})[α-ωϊϋ]+(?!{_LETTER})")
_GREEK_DIPHTHONG = re.compile("αι|ει|οι|υι|ου|αυ|ευ|ηυ")
_GREEK_VOWEL = re.compile("[αεηιουω]")


def _unaccented_greek_words(text: str) -> int:
    """Lowercase words of two syllables or more without an accent, which monotonic Greek
    always writes ("ηεα" is cp1255 "טוב" read as cp1253)."""
    return sum(
        1
        for word in _GREEK_LOWER_WORD.findall(text)
        if len(_GREEK_VOWEL.findall(_GREEK_DIPHTHONG.sub("α", word))) >= 2
    )


@dataclass(frozen=True)
class _Language:
    script: str
    log_p: dict[str, float]  # lowercase and uppercase letters
    rules: list[re.Pattern[str]]
    upper_inside: re.Pattern[str] | None

    def shouting(self, text: str) -> int:
        """Uppercase letters after another letter: fine in a heading, rare in running text."""
        return len(self.upper_inside.findall(text)) if self.upper_inside else 0

    def violations(self, text: str) -> int:
        found = sum(len(rule.findall(text)) for rule in self.rules)
        return found + (_unaccented_greek_words(text) if self.script == "GREEK" else 0)


def _language(script: str, table: str) -> _Language:
    items = table.split()
    percents = {letter: float(p) for letter, p in zip(items[::2], items[1::2], strict=True)}
    total = sum(percents.values())
    log_p = {ch: math.log(p / total) for ch, p in percents.items()}
    log_p |= {ch.upper(): p for ch, p in log_p.items() if len(ch.upper()) == 1}
    rules = list(_SCRIPT_RULES.get(script, []))
    cased = "".join(sorted(ch for ch in percents if ch.upper() != ch))
    if not cased:
        return _Language(script, log_p, rules, None)
    upper = "".join(ch.upper() for ch in cased if len(ch.upper()) == 1)
    rules.append(re.compile(f"[{cased}][{upper}]"))
    return _Language(script, log_p, rules, re.compile(f"(?<=[{cased}{upper}])[{upper}]"))


_LANGUAGES = {key: _language(script, table) for key, (script, table) in _FREQUENCIES.items()}


@dataclass(frozen=True)
class Fit:
    language: str  # a key of _FREQUENCIES, or "cjk"
    log_likelihood: float
    per_byte: float  # log_likelihood over the sample's non-ASCII bytes


@cache
def script(ch: str) -> str:
    try:
        name = unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"
    return "CJK" if name in {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "FULLWIDTH"} else name


def is_latin(text: str) -> bool:
    """Whether every non-ASCII letter of the text is a Latin one."""
    return all(script(ch) == "LATIN" for ch in set(text) if ch.isalpha() and not ch.isascii())


def _other(ch: str, language_script: str) -> float:
    if ch.isalpha():
        return _SAME_SCRIPT if script(ch) == language_script else _FOREIGN
    category = unicodedata.category(ch)
    if category == "Mn":
        return _MARK if script(ch) == language_script else _FOREIGN
    if ch in _COMMON_PUNCTUATION:
        return _PUNCTUATION
    return _FOREIGN if category.startswith("C") else _SYMBOL


@cache
def _cjk_log_p(ch: str) -> float:
    if "\u3040" <= ch <= "\u30ff" or "\u3000" <= ch <= "\u303f" or "\uff01" <= ch <= "\uff5e":
        return _KANA  # kana, CJK and fullwidth punctuation
    if "\uac00" <= ch <= "\ud7a3":
        return _COMMON_SYLLABLE if _encodes(ch, "euc_kr") else _RARE
    if script(ch) == "CJK" and ch.isalpha():
        common = (
            _lead_in(ch, "gb2312", 0xB0, 0xD7)
            or _code_in(ch, "shift_jis", 0x889F, 0x9872)
            or _code_in(ch, "big5", 0xA440, 0xC67E)
        )
        return _COMMON_IDEOGRAPH if common else _RARE
    return _other(ch, "CJK")


def _encodes(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _code_in(ch: str, encoding: str, low: int, high: int) -> bool:
    try:
        data = ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return len(data) == 2 and low <= int.from_bytes(data, "big") <= high


def _lead_in(ch: str, encoding: str, low: int, high: int) -> bool:
    try:
        data = ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return len(data) == 2 and low <= data[0] <= high


def _cjk_sum(counts: Counter[str]) -> float:
    return sum(n * _cjk_log_p(ch) for ch, n in counts.items())


def _language_sum(counts: Counter[str], language: _Language) -> float:
    log_p = language.log_p
    return sum(
        n * (log_p[ch] if ch in log_p else _other(ch, language.script)) for ch, n in counts.items()
    )


def fit(text: str, high_bytes: int) -> Fit:
    """The language the text's non-ASCII characters fit best, and how well.

    high_bytes: how many bytes >= 0x80 the decoded sample holds (the same for every
    reading of it), to turn the log-likelihood into a per-byte figure.
    """
    counts = Counter(text)
    for ch in [ch for ch in counts if ch.isascii()]:
        del counts[ch]
    best = Fit("cjk", _cjk_sum(counts), 0.0)
    for key, language in _LANGUAGES.items():
        total = _language_sum(counts, language)
        total += _VIOLATION * language.violations(text) + _SHOUTING * language.shouting(text)
        if total > best.log_likelihood:
            best = Fit(key, total, 0.0)
    return Fit(best.language, best.log_likelihood, best.log_likelihood / max(high_bytes, 1))

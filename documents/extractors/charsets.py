"""Choosing among the legacy encodings charset-normalizer finds equally likely.

charset-normalizer scores candidate encodings by "chaos" (odd character sequences) and
"coherence" (letter frequencies of a language). For a short text every Latin code page
gets coherence 0, and for many longer ones cp1250, cp1252, cp1257... tie, so its first
candidate (often cp1250, or even a CJK code page) wins and "crème" becomes "crčme".

Here the candidates whose chaos is close to the best one's, plus cp1252 itself, are
ranked by how plausible their letters are: a real text's accented letters belong to one
language's alphabet ("è", "û", "ï" are all French), a wrong code page's mix alphabets
("č", "ű", "ď"), glue symbols into words ("Pchn¹æ") or drop single ideographs into Latin
words ("re蓰"). Ties go to the candidate whose best-fitting language has more of its
common short words in the text, then to cp1252 (the legacy encoding of Western Europe)
over rivals that read as Latin script too, then to the detector's order. A single
ambiguous letter stays ambiguous: "Proszę" (cp1250) and "Proszê" (cp1252) both fit.

Pure Python, no Django (extractors run in the sandbox).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from itertools import islice

__all__ = ["ALPHABETS", "choose_encoding", "plausibility"]

WESTERN = "cp1252"
# Candidates whose chaos is this much above the detector's best are not considered.
CHAOS_MARGIN = 0.1
_PREFIX_BYTES = 32 * 1024
_SCAN_BYTES = 4 * 1024 * 1024
_LATER_WORDS = 1000
# Words holding a non-ASCII byte (ASCII whitespace never occurs inside a character of
# the code pages considered: UTF-16/32 are left to the detector).
_HIGH_WORD = re.compile(rb"[^\s]*[\x80-\xff][^\s]*")
_WORD = re.compile(r"[^\W\d_]+")
# A non-ASCII character between two letters; _intrudes() decides whether it belongs.
_INSIDE = re.compile(r"(?<=[^\W\d_])[^\x00-\x7f](?=[^\W\d_])")
_WORD_JOINERS = frozenset("\u2019\u02bc\u00b7\u00ad\u2010\u2011")
# Scripts written without spaces between words, often next to Latin words ("Pythonで").
_EAST_ASIAN = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH", "FULLWIDTH", "HANGUL"})


def _alphabet(letters: str) -> frozenset[str]:
    return frozenset(letters) | frozenset(ch for ch in letters.upper() if len(ch) == 1)


# Accented letters, then common short words, of languages written in Latin code pages.
ALPHABETS: dict[str, frozenset[str]] = {
    "fr": _alphabet("àâæçéèêëîïôœùûüÿ"),
    "es": _alphabet("áéíóúñü"),
    "pt": _alphabet("áâãàçéêíóôõú"),
    "ca": _alphabet("àçéèíïòóúü"),
    "it": _alphabet("àèéìíîòóùú"),
    "de": _alphabet("äöüßé"),
    "nl": _alphabet("áéíóúàèëïöüêô"),
    "da_no": _alphabet("æøåéóô"),
    "sv": _alphabet("åäöé"),
    "fi_et": _alphabet("äöåõüšž"),
    "is_fo": _alphabet("áðéíóúýþæöø"),
    "ga": _alphabet("áéíóú"),
    "cs": _alphabet("áčďéěíňóřšťúůýž"),
    "sk": _alphabet("áäčďéíĺľňóôŕšťúýž"),
    "pl": _alphabet("ąćęłńóśźż"),
    "hu": _alphabet("áéíóöőúüű"),
    "ro": _alphabet("ăâîșțşţ"),
    "hr_sl_bs": _alphabet("čćđšž"),
    "sq": _alphabet("çë"),
    "lt": _alphabet("ąčęėįšųūž"),
    "lv": _alphabet("āčēģīķļņšūž"),
    "tr_az": _alphabet("çğıöşüâîûə") | {"İ"},
    "mt": _alphabet("ċġħż"),
}
COMMON_WORDS: dict[str, frozenset[str]] = {
    key: frozenset(words.split())
    for key, words in {
        "fr": "le la les de des du et est un une il elle ce que qui pas pour dans sur avec "
        "à au aux ne se en par ou où très",
        "es": "el la los las de del y es un una que en por para con no se su al lo como "
        "está muy más",
        "pt": "o a os as de do da dos das e é um uma que em no na por para com não se ao "
        "há está você",
        "ca": "el la els les de del i és un una que en per amb no al molt",
        "it": "il lo la gli le di del della e è un una che in per con non si da al più",
        "de": "der die das und ist nicht ein eine zu den von mit sich auf für dem im aus",
        "nl": "de het een en is van dat niet op te in met zijn voor",
        "da_no": "og i at det er en til på som med har de ikke den et",
        "sv": "och i att det är en som på med för av den inte till",
        "fi_et": "ja on ei se että hän oli ovat mutta kuin ning see et",
        "is_fo": "og að er í á það sem ekki við en",
        "ga": "agus an na is ar le i go",
        "cs": "a je se na v že to s z do jak ale o jsem",
        "sk": "a je sa na v že to s z do ako ale o som",
        "pl": "i w z na się nie jest to że do jak o a",
        "hu": "a az és hogy nem egy van is meg de",
        "ro": "și şi în de la a cu nu pe un o este",
        "hr_sl_bs": "i je u na se da za od su ne",
        "sq": "të e në dhe për një me nuk",
        "lt": "ir yra kad su į ne bet",
        "lv": "un ir ka ar uz no par kā",
        "tr_az": "ve bir bu da de için ile çok ne",
        "mt": "il u ta fil li",
    }.items()
}
# Letters common enough in any Latin text (units, ordinals) to never count against it.
_NEUTRAL = frozenset("µªº")


@dataclass(frozen=True)
class Score:
    plausibility: float  # 0..1, see plausibility()
    support: int  # common words of the best-fitting language(s)


@dataclass(frozen=True)
class _Candidate:
    encoding: str
    text: str  # the sample, decoded
    western: bool  # decodes the sample exactly as cp1252 does


def _script(ch: str) -> str:
    try:
        script = unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"
    return "CJK" if script in _EAST_ASIAN else script


def _foreign_word(word: str, scripts: set[str]) -> tuple[int, int]:
    """(plausible, implausible) letters of a word holding non-Latin letters."""
    letters = [ch for ch in word if not ch.isascii()]
    if len(scripts) != 1:
        return 0, len(letters)
    if not any(ch.isascii() for ch in word):
        return len(letters), 0
    if scripts != {"CJK"}:
        return 0, len(letters)
    # "Pythonで" is Japanese; a lone ideograph inside a Latin word ("re蓰") is mojibake.
    runs = [len(run) for run in re.findall(r"[^\x00-\x7f]+", word)]
    lone = sum(1 for run in runs if run == 1)
    return len(letters) - lone, lone


def _intrudes(text: str, index: int) -> bool:
    """A non-letter inside a Latin word (CJK punctuation, Thai vowel signs are at home)."""
    ch = text[index]
    if ch.isalpha() or ch in _WORD_JOINERS:
        return False
    return "LATIN" in (_script(text[index - 1]), _script(text[index + 1]))


def score(text: str) -> Score:
    """How plausible the non-ASCII letters of a decoded text are (see plausibility())."""
    text = unicodedata.normalize("NFC", text)
    latin: Counter[str] = Counter()
    words: Counter[str] = Counter()
    plausible = implausible = 0
    for match in _WORD.finditer(text):
        word = match.group()
        words[word.lower()] += 1
        if word.isascii():
            continue
        scripts = {_script(ch) for ch in word if not ch.isascii() and ch not in _NEUTRAL}
        if not scripts:
            continue
        if scripts == {"LATIN"}:
            latin.update(ch for ch in word if not ch.isascii() and ch not in _NEUTRAL)
            continue
        good, bad = _foreign_word(word, scripts)
        plausible += good
        implausible += bad
    implausible += sum(1 for m in _INSIDE.finditer(text) if _intrudes(text, m.start()))
    fits = {
        key: sum(n for ch, n in latin.items() if ch in alphabet)
        for key, alphabet in ALPHABETS.items()
    }
    best_fit = max(fits.values(), default=0)
    total = plausible + implausible + sum(latin.values())
    # Without accented letters every language fits, and its common words all count.
    support = max(
        sum(words[w] for w in COMMON_WORDS[key]) for key, n in fits.items() if n == best_fit
    )
    share = (plausible + best_fit) / total if total else 1.0
    return Score(round(share, 6), support)


def plausibility(text: str) -> float:
    """Share (0..1) of the non-ASCII letters that fit one language's alphabet.

    A word in one non-Latin script (Cyrillic, Greek, Hebrew...) counts as plausible;
    a word mixing scripts, or a digit or symbol inside a word ("Pchn¹æ"), does not.
    """
    return score(text).plausibility


def _sample(data: bytes) -> bytes:
    """The first 32 KB (cut at a space) and later words holding non-ASCII bytes."""
    if len(data) <= _PREFIX_BYTES:
        return data
    prefix = data[:_PREFIX_BYTES]
    cut = max(prefix.rfind(b" "), prefix.rfind(b"\n"))
    prefix = prefix[: cut + 1] if cut > 0 else prefix
    later = _HIGH_WORD.finditer(data, len(prefix), _SCAN_BYTES)
    words = [match.group() for match in islice(later, _LATER_WORDS)]
    return prefix + b"\n" + b" ".join(words)


def _decode_sample(sample: bytes, encoding: str) -> str | None:
    try:
        text = sample.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    return None if "\x00" in text else text  # NULs: UTF-16/32 or binary, not a code page


def choose_encoding(data: bytes, candidates: list[tuple[str, float]]) -> str:
    """The encoding to use among the detector's (encoding, chaos) candidates, best first.

    The first is kept unless another one, or cp1252 (always considered when it decodes
    the bytes), ranks higher as described in this module's docstring.
    """
    best_encoding, best_chaos = candidates[0]
    sample = _sample(data)
    western_text = _decode_sample(sample, WESTERN)
    pool: list[_Candidate] = []
    for encoding, chaos in candidates:
        first = encoding == best_encoding
        if chaos > best_chaos + CHAOS_MARGIN and not first:
            continue
        text = _decode_sample(sample, encoding)
        if text is None:
            if not first:
                continue
            text = sample.decode(encoding, "replace")
        pool.append(_Candidate(encoding, text, text == western_text))
    if western_text is not None and not any(c.western for c in pool):
        pool.append(_Candidate(WESTERN, western_text, True))
    if len(pool) < 2:
        return best_encoding
    scores = [score(candidate.text) for candidate in pool]
    top = max((s.plausibility, s.support) for s in scores)
    tied = [c for c, s in zip(pool, scores, strict=True) if (s.plausibility, s.support) == top]
    # Among equals, cp1252 wins over Latin-script rivals (cp1250 "nińo" vs "niño"), not
    # over the detector's Cyrillic, Greek... reading of a short text.
    rival = next((c for c in tied if not c.western), None)
    if any(c.western for c in tied) and (rival is None or _latin(rival.text)):
        return WESTERN
    return tied[0].encoding


def _latin(text: str) -> bool:
    return all(_script(ch) == "LATIN" for ch in text if ch.isalpha() and not ch.isascii())

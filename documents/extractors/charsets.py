"""Choosing the legacy encoding of a text that is not UTF-8.

charset-normalizer scores candidate encodings by "chaos" (odd character sequences) and
"coherence" (letter frequencies of a language). For a short text every Latin code page
gets coherence 0, and for many longer ones cp1250, cp1252, cp1257... tie, so its first
candidate (often cp1250, or even a CJK code page) wins and "crème" becomes "crčme". For
a short Cyrillic, Greek, Hebrew or Polish text it often proposes CJK readings only
("Привет" → "砎魤殣").

So its candidates whose chaos is close to the best one's, plus the code pages of LEGACY,
are ranked by how plausible their letters are: a real text's accented letters belong to
one language's alphabet ("è", "û", "ï" are all French), a wrong code page's mix
alphabets ("č", "ű", "ď"), glue symbols into or onto words ("Pchn¹æ", "Gê¶"), drop
single ideographs into Latin words ("re蓰") or put capitals inside Cyrillic words
("рТЙЧЕФ", KOI8-R read as cp1251). Among equally plausible readings:

- if one is not in Latin script, the one whose letters fit a language best wins
  (letter_frequencies.py: "שלום" is Hebrew, not Greek "ωμεν" nor Cyrillic "щьхэ"),
  unless a Latin reading is as plausible and the other's letters fit poorly or are a
  few among Latin words;
- among Latin readings, the one whose best-fitting language has more of its common
  short words in the text, then cp1252 (the legacy encoding of Western Europe), then
  the detector's order. A single ambiguous letter stays ambiguous: "Proszę" (cp1250)
  and "Proszê" (cp1252) both fit.

Pure Python, no Django (extractors run in the sandbox).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import islice, pairwise

from documents.extractors.letter_frequencies import Fit, fit, is_latin

__all__ = ["ALPHABETS", "LEGACY", "choose_encoding", "plausibility"]

WESTERN = "cp1252"
# Tried on every file besides the detector's candidates, which for a short text are
# often CJK readings only. Earlier ones win ties (Russian reads alike in KOI8-R and -U).
LEGACY = (
    *(WESTERN, "cp1250", "iso8859_2"),
    *("cp1251", "koi8_r", "koi8_u", "iso8859_5", "cp866"),
    *("cp1253", "iso8859_7", "cp1255", "iso8859_8", "cp1256"),
)
# A non-Latin reading whose letters fit their language worse than this per non-ASCII
# byte (correct readings score about -3, mojibake -5 and below) loses to a Latin one.
FIT_FLOOR = -4.5
NON_LATIN_SHARE = 0.2
# Among equally plausible non-Latin readings these win over rare (Mac, DOS, EBCDIC...)
# code pages: "Україна" is cp1251, not mac_cyrillic "”крањна".
_FAMILIAR = frozenset(
    {
        *LEGACY,
        *("utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"),
        *("cp1254", "cp1257", "cp1258", "cp874", "tis_620", "iso8859_4", "iso8859_6"),
        *("iso8859_9", "iso8859_13", "iso8859_15", "iso8859_16", "latin_1"),
        *("big5", "big5hkscs", "cp950", "gb2312", "gbk", "gb18030", "hz"),
        *("shift_jis", "shift_jis_2004", "shift_jisx0213", "cp932"),
        *("euc_jp", "euc_jis_2004", "euc_jisx0213", "euc_kr", "cp949"),
    }
)
# Candidates whose chaos is this much above the detector's best are not considered.
CHAOS_MARGIN = 0.1
_PREFIX_BYTES = 32 * 1024
_SCAN_BYTES = 4 * 1024 * 1024
_LATER_WORDS = 1000
# Later words longer than this are left out of the sample (the prefix already shows such a
# file's bytes; scoring a megabyte-long "word" once per candidate took seconds), and the
# later words stop at _LATER_BYTES in all.
_LONG_WORD = 1024
_LATER_BYTES = 16 * 1024
# Words holding a non-ASCII byte (ASCII whitespace never occurs inside a character of
# the code pages considered: UTF-16/32 are left to the detector). Found by _high_words(),
# in linear time: a pattern such as rb"[^\s]*[\x80-\xff][^\s]*" backtracks over every
# long run without one (quadratic: 30 s of CPU for a 185 KB file).
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_BYTE_SPACE = re.compile(rb"\s")
_BYTE_SPACES = (b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c")  # what rb"\s" matches
# Candidate filtering on the first non-ASCII words (see _finalists()).
_FEW = 3
_QUICK_WORDS = 300
_QUICK_MARGIN = 0.15
_QUICK_FIT_GAP = 50.0  # log-likelihood: e**50 times less likely
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_WORD = re.compile(r"[^\W\d_]+")
# A non-ASCII character between two letters; _intrudes() decides whether it belongs.
_INSIDE = re.compile(r"(?<=[^\W\d_])[^\x00-\x7f](?=[^\W\d_])")
# Symbols no text glues to a letter, even through (up to 8) other symbols: ISO-8859-2 or
# cp1250 letters read as cp1252 ("Gê¶", "©»astný"). "©" may follow a word, not start one.
# The bound keeps the scan linear: an unbounded run backtracks over a long row of symbols
# once per symbol (a minute for 30 KB of "©").
_GLUED = re.compile(
    r"(?<=[^\W\d_])[^\w\s\x00-\x7f]{0,8}[¤¦¨¬¯±¶\xb8¹¼½¾]"
    r"|[¤¦¨¬¯±¶\xb8¹¼½¾©][^\w\s\x00-\x7f]{0,8}(?=[^\W\d_])"
)
_WORD_JOINERS = frozenset("\u2019\u02bc\u00b7\u00ad\u2010\u2011\u05f3\u05f4\u200c")
# Alphabets written with spaces between words: a symbol inside one of their words is odd.
_SPACED = frozenset({"LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC"})
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


@cache
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
        # "рТЙЧЕФ" is KOI8-R read as cp1251: no uppercase letter follows a lowercase one.
        breaks = sum(1 for a, b in pairwise(word) if a.islower() and b.isupper())
        return len(letters) - breaks, breaks
    if scripts != {"CJK"}:
        return 0, len(letters)
    # "Pythonで" is Japanese; a lone ideograph inside a Latin word ("re蓰") is mojibake.
    runs = [len(run) for run in re.findall(r"[^\x00-\x7f]+", word)]
    lone = sum(1 for run in runs if run == 1)
    return len(letters) - lone, lone


def _intrudes(text: str, index: int) -> bool:
    """A symbol inside a Latin, Cyrillic... word (CJK punctuation, Thai vowel signs,
    Hebrew points are at home)."""
    ch = text[index]
    if ch.isalpha() or ch in _WORD_JOINERS:
        return False
    if unicodedata.category(ch) == "Mn":  # a mark belongs to its own script's letters
        return _script(ch) != _script(text[index - 1])
    return not _SPACED.isdisjoint((_script(text[index - 1]), _script(text[index + 1])))


def score(text: str) -> Score:
    """How plausible the non-ASCII letters of a decoded text are (see plausibility())."""
    text = unicodedata.normalize("NFC", text)
    latin: Counter[str] = Counter()
    words: Counter[str] = Counter()
    plausible = implausible = 0
    for word, count in Counter(_WORD.findall(text)).items():  # each distinct word once
        words[word.lower()] += count
        if word.isascii():
            continue
        scripts = {_script(ch) for ch in word if not ch.isascii() and ch not in _NEUTRAL}
        if not scripts:
            continue
        if scripts == {"LATIN"}:
            accented = [ch for ch in word if not ch.isascii() and ch not in _NEUTRAL]
            if word[-1] in "œŒ":  # French "œ" never ends a word: cp1250 "ś" read as cp1252
                accented.remove(word[-1])
                implausible += count
            latin.update({ch: n * count for ch, n in Counter(accented).items()})
            continue
        good, bad = _foreign_word(word, scripts)
        plausible += good * count
        implausible += bad * count
    implausible += sum(1 for m in _INSIDE.finditer(text) if _intrudes(text, m.start()))
    implausible += len(_GLUED.findall(text))
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
    words: list[bytes] = []
    size = 0
    for word in islice(_high_words(data, len(prefix), _SCAN_BYTES), _LATER_WORDS):
        if len(word) <= _LONG_WORD:
            words.append(word)
            size += len(word) + 1
            if size >= _LATER_BYTES:
                break
    return prefix + b"\n" + b" ".join(words)


def _high_words(data: bytes, start: int, end: int) -> Iterator[bytes]:
    """The whitespace-delimited words of data[start:end] that hold a non-ASCII byte, in
    order. Every byte is looked at a bounded number of times."""
    position = start
    while True:
        high = _HIGH_BYTE.search(data, position, end)
        if high is None:
            return
        at = high.start()
        left = max(position, *(data.rfind(space, position, at) + 1 for space in _BYTE_SPACES))
        space = _BYTE_SPACE.search(data, at, end)
        right = space.start() if space is not None else end
        yield data[left:right]
        position = right


def _decode_sample(sample: bytes, encoding: str) -> str | None:
    try:
        text = sample.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    # Control characters (NULs above all): UTF-16/32 or binary, not this code page.
    return None if _CONTROL.search(text) else text


def choose_encoding(data: bytes, candidates: list[tuple[str, float]]) -> str:
    """The encoding to use among the detector's (encoding, chaos) candidates, best first,
    and the legacy code pages of LEGACY (always considered when they decode the bytes).

    The first is kept unless another one ranks higher as described in this module's
    docstring.
    """
    best_encoding, best_chaos = candidates[0] if candidates else (WESTERN, 0.0)
    sample = _sample(data)
    western_text = _decode_sample(sample, WESTERN)
    pool: list[_Candidate] = []
    seen: dict[str, int] = {}  # text -> index in pool
    for encoding, chaos in [*candidates, *((legacy, best_chaos) for legacy in LEGACY)]:
        first = encoding == best_encoding
        if chaos > best_chaos + CHAOS_MARGIN and not first:
            continue
        # UTF-16/32 (without a BOM): the sample's cuts fall anywhere, read the start.
        unicode = encoding.startswith("utf") and len(data) > _PREFIX_BYTES
        text = _decode_sample(data[:_PREFIX_BYTES] if unicode else sample, encoding)
        if text is None:
            if not first:
                continue
            text = sample.decode(encoding, "replace")
        candidate = _Candidate(encoding, text, text == western_text)
        index = seen.get(text)  # cp1250 and ISO-8859-2 often read a text alike
        if index is None:
            seen[text] = len(pool)
            pool.append(candidate)
        elif encoding in _FAMILIAR and pool[index].encoding not in _FAMILIAR:
            pool[index] = candidate  # cp866 rather than cp1125 for Russian
    if len(pool) < 2:
        return best_encoding
    finalists = _finalists(sample, pool)
    if len(finalists) == 1:
        return finalists[0].encoding
    scores = {candidate: score(candidate.text) for candidate in finalists}
    top = max(s.plausibility for s in scores.values())
    tied = [c for c in scores if scores[c].plausibility == top]
    latin = [c for c in tied if is_latin(c.text)]
    others = [c for c in tied if c not in latin]
    if others:
        fits = {c: fit(c.text, _high_bytes(sample)) for c in others}
        best = max(others, key=lambda c: (c.encoding in _FAMILIAR, fits[c].log_likelihood))
        if not latin or _reads_as_a_language(best.text, fits[best]):
            return best.encoding
    return _choose_latin(latin, scores)


def _finalists(sample: bytes, pool: list[_Candidate]) -> list[_Candidate]:
    """The candidates worth a full score, picked on the sample's first words holding
    non-ASCII bytes (a wrong code page shows in those), which keeps a 20 MB file fast."""
    if len(pool) <= _FEW:
        return pool
    short = (word for word in _high_words(sample, 0, len(sample)) if len(word) <= _LONG_WORD)
    words = b" ".join(islice(short, _QUICK_WORDS))
    texts = {c: words.decode(c.encoding, "replace") for c in pool}
    quick = {c: plausibility(texts[c]) for c in pool}
    best = max(quick.values())
    near = [c for c in pool if quick[c] >= best - _QUICK_MARGIN]
    fits = {c: fit(texts[c], 1).log_likelihood for c in near if not is_latin(texts[c])}
    best_fit = max(fits.values(), default=0.0)
    return [c for c in near if fits.get(c, best_fit) >= best_fit - _QUICK_FIT_GAP]


def _high_bytes(data: bytes) -> int:
    return len(data) - len(data.decode("ascii", "ignore"))


def _reads_as_a_language(text: str, best: Fit) -> bool:
    """Whether a non-Latin reading beats an equally plausible Latin one (is byte E0 a
    cp1252 "à" or a cp1251 Cyrillic "a"?): its letters fit their language and are not a
    few among Latin words."""
    if best.per_byte < FIT_FLOOR:
        return False
    words = _WORD.findall(text)
    own = sum(len(word) for word in words if not word.isascii())
    return own >= NON_LATIN_SHARE * sum(len(word) for word in words)


def _choose_latin(tied: list[_Candidate], scores: dict[_Candidate, Score]) -> str:
    top = max(scores[c].support for c in tied)
    best = [c for c in tied if scores[c].support == top]
    # Among equals cp1252 wins (cp1250 "nińo" vs "niño"), else the detector's order.
    return WESTERN if any(c.western for c in best) else best[0].encoding

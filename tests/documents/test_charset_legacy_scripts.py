"""Text in the legacy code pages of Central Europe (cp1250, ISO-8859-2), Cyrillic
(cp1251, KOI8-R/U, ISO-8859-5, cp866), Greek (cp1253, ISO-8859-7) and Hebrew (cp1255,
ISO-8859-8) decodes to what was written, down to one word: charset-normalizer alone
reads many of them as CJK ("Привет" → "砎魤殣") or the wrong Cyrillic code page. An
upload in those encodings is searchable by its words."""

# ruff: noqa: RUF001, RUF003 - the samples are meant to hold Cyrillic, Greek and Hebrew letters

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest
from charset_normalizer import from_bytes
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from documents import filetypes
from documents.extractors.charsets import LEGACY, choose_encoding
from documents.extractors.registry import extract_file
from documents.extractors.text import decode_text
from documents.pipeline import process_document
from tests.documents import samples

# Each language: (code pages, short texts down to one word, a longer paragraph).
CORPUS: dict[str, tuple[tuple[str, ...], list[str]]] = {
    "pl": (
        ("cp1250", "iso8859_2"),
        [
            "źdźbło",
            "Źdźbło trawy.",
            "Gęś",
            "Żółw śpi.",
            "Zażółć gęślą jaźń.",
            "Świeże jabłka są w koszyku.",
            "Wczoraj poszliśmy do sklepu, żeby kupić chleb, masło i świeże jabłka. "
            "Pogoda była piękna, więc wróciliśmy pieszo przez park.",
        ],
    ),
    "cs": (
        ("cp1250", "iso8859_2"),
        [
            "Řeka teče.",
            "Šťastný nový rok!",
            "Příliš žluťoučký kůň úpěl ďábelské ódy.",
            "Včera jsme šli do obchodu koupit chléb, máslo a čerstvá jablka. Počasí bylo "
            "krásné, takže jsme se vrátili pěšky parkem.",
        ],
    ),
    "hu": (
        ("cp1250", "iso8859_2"),
        [
            "Köszönöm szépen.",
            "Árvíztűrő tükörfúrógép.",
            "Tegnap elmentünk a boltba, hogy kenyeret, vajat és friss almát vegyünk. "
            "Az idő szép volt, ezért gyalog jöttünk haza.",
        ],
    ),
    "he": (
        ("cp1255", "iso8859_8"),
        [
            "שלום",
            "שלום עולם",
            "תודה רבה",
            "ספר טוב",
            "אתמול הלכנו לחנות לקנות לחם, חמאה ותפוחים טריים. מזג האוויר היה יפה, "
            "אז חזרנו ברגל דרך הפארק.",
        ],
    ),
    "el": (
        ("cp1253", "iso8859_7"),
        [
            "Καλημέρα",
            "Καλημέρα κόσμε",
            "Ευχαριστώ πολύ.",
            "Η Αθήνα είναι όμορφη.",
            "Χθες πήγαμε στο κατάστημα για να αγοράσουμε ψωμί, βούτυρο και φρέσκα μήλα. "
            "Ο καιρός ήταν ωραίος, οπότε γυρίσαμε με τα πόδια.",
        ],
    ),
    "ru": (
        ("cp1251", "koi8_r", "iso8859_5", "cp866"),
        [
            "Привет",
            "Привет, мир!",
            "Спасибо большое.",
            "Ёжик в тумане.",
            "Вчера мы пошли в магазин, чтобы купить хлеб, масло и свежие яблоки. Погода "
            "была прекрасная, поэтому мы вернулись пешком через парк.",
        ],
    ),
    "uk": (
        ("cp1251", "koi8_u"),
        ["Доброго ранку", "Дякую, все добре. Їжак і ґанок.", "Україна — це держава."],
    ),
    "bg": (("cp1251",), ["Здравей, свят!", "Благодаря много, довиждане."]),
}


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:  # "—" is not in KOI8-U
        return False
    return True


CASES = [
    pytest.param(text, encoding, id=f"{lang}-{encoding}-{index}")
    for lang, (encodings, texts) in CORPUS.items()
    for encoding in encodings
    for index, text in enumerate(texts)
    if _encodable(text, encoding)
]


def _detector_candidates(data: bytes) -> list[tuple[str, float]]:
    matches = from_bytes(data)
    best = matches.best()
    assert best is not None
    return [(m.encoding, m.chaos) for m in [best, *(m for m in matches if m is not best)]]


@pytest.mark.parametrize(("text", "encoding"), CASES)
def test_legacy_encoded_text_decodes_as_written(text: str, encoding: str) -> None:
    # Also when the detector's first guess is BOM-less UTF-16 (short texts of even length).
    assert decode_text(text.encode(encoding)) == text


@pytest.mark.parametrize(("text", "encoding"), CASES)
def test_the_code_page_written_is_chosen_among_all_detector_guesses(
    text: str, encoding: str
) -> None:
    data = text.encode(encoding)
    chosen = choose_encoding(data, _detector_candidates(data))
    assert data.decode(chosen) == text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("Hello world, UTF-16 without a BOM. Grüße.", "utf-16-le"), ("Привет, мир!", "utf-16-be")],
)
def test_a_real_utf16_guess_still_wins(text: str, encoding: str) -> None:
    data = text.encode(encoding)
    assert data.decode(choose_encoding(data, _detector_candidates(data))) == text


def test_without_any_detector_guess_the_best_legacy_reading_is_chosen() -> None:
    data = CORPUS["ru"][1][-1].encode("cp1251")
    assert choose_encoding(data, []) == "cp1251"
    assert choose_encoding(bytes(range(0x80, 0x100)), []) in LEGACY


@pytest.mark.parametrize(
    ("lang", "encoding"),
    [(lang, encoding) for lang, (encodings, _) in CORPUS.items() for encoding in encodings],
)
def test_a_long_legacy_file_decodes_as_written(lang: str, encoding: str) -> None:
    paragraph = next(t for t in reversed(CORPUS[lang][1]) if _encodable(t, encoding))
    text = "\n".join(f"{number}. {paragraph}" for number in range(800))  # over 100 KB
    assert decode_text(text.encode(encoding)) == text


def test_legacy_letters_appearing_only_after_the_first_32_kb() -> None:
    text = "plain ascii words " * 4000 + "\n" + CORPUS["ru"][1][-1] * 20
    assert decode_text(text.encode("koi8_r")) == text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Pchnąć łódź", "cp1250"),  # ą is B9 in cp1250, š in ISO-8859-2
        ("Pchnąć łódź", "iso8859_2"),  # ą is B1, ± in cp1250
        ("Šťastný", "iso8859_2"),  # Š is A9, © in cp1250
        ("Привет, мир!", "koi8_r"),  # "рТЙЧЕФ" in cp1251
        ("Привет, мир!", "cp1251"),
        ("Їжак і ґанок.", "koi8_u"),  # box drawing in KOI8-R
    ],
)
def test_sibling_code_pages_are_told_apart(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


@pytest.mark.parametrize(
    ("meta", "text", "encoding"),
    [
        ('<meta charset="windows-1251">', "Привет", "cp1251"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">',
            "Привет",
            "koi8_r",
        ),
        ('<meta charset="iso-8859-7">', "Καλημέρα", "iso8859_7"),
        ('<meta charset="windows-1255">', "שלום", "cp1255"),
        ('<meta charset="iso-8859-2">', "źdźbło", "iso8859_2"),
        ("", "Привет, как дела? Всё хорошо.", "cp1251"),  # no charset: detected
        ("", "שלום עולם, מה שלומך?", "cp1255"),
    ],
)
def test_html_keeps_its_declared_or_detected_charset(
    tmp_path: Path, meta: str, text: str, encoding: str
) -> None:
    page = f"<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"
    path = samples.write(tmp_path, "page.html", page.encode(encoding))
    result = extract_file(path, filetypes.HTML)
    assert text in "\n".join(block.text for block in result.blocks)


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")],
)
def test_a_byte_order_mark_decides_over_detection(bom: bytes, encoding: str) -> None:
    text = "Привет"
    assert decode_text(bom + text.encode(encoding)) == text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Il est à Paris.", "cp1252"),  # "à" is also Cyrillic "а" in cp1251
        ("Le cœur et l'œil.", "cp1252"),
        ("Où est le café ?", "cp1252"),
        ("Voilà ça.", "latin-1"),
        ("źdźbło, שלום, Καλημέρα, Привет", "utf-8"),
    ],
)
def test_utf8_and_western_text_still_decode_as_before(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


@pytest.mark.parametrize(
    ("text", "encoding", "word"),
    [
        ("Źdźbło trawy rośnie na łące.", "cp1250", "źdźbło"),
        ("שלום לכולם, זה מסמך בעברית.", "cp1255", "שלום"),
        ("Καλημέρα σε όλους, αυτό είναι ένα έγγραφο.", "cp1253", "Καλημέρα"),
        ("Привет всем, это документ на русском.", "koi8_r", "Привет"),
    ],
    ids=["polish-cp1250", "hebrew-cp1255", "greek-cp1253", "russian-koi8r"],
)
@pytest.mark.django_db
def test_an_uploaded_legacy_file_is_searchable_by_its_words(
    make_tenant: Any, text: str, encoding: str, word: str
) -> None:
    handle = make_tenant("legacyscripts")
    client = handle.logged_in_client()
    response = client.post(
        "/api/v1/documents/", {"file": SimpleUploadedFile("note.txt", text.encode(encoding))}
    )
    assert response.status_code == 202, response.content
    document_id = response.json()["id"]
    with schema_context(handle.schema):
        assert process_document(document_id).outcome == "ready"
    found = client.post(
        "/api/v1/search/", {"query": word, "mode": "lexical"}, content_type="application/json"
    )
    assert found.status_code == 200, found.content
    results = found.json()["results"]
    assert [r["document_id"] for r in results] == [document_id]
    assert word.lower() in results[0]["text"].lower()


# Bytes in which charset-normalizer finds no encoding at all.
ODD = (
    b"Inventory list\n"
    + b"\xcc\xe2\xc3\xf3\xba\xe9\xf6\xc9\xf6\x9c\xb7H\xa8\xfc\x8a\xb4\xeb\xf3\xf2 \x97\xf3\xa5\n"
)


@pytest.mark.django_db
def test_an_upload_whose_encoding_cannot_be_told_is_not_a_server_error(
    make_tenant: Any,
) -> None:
    handle = make_tenant("legacyguess")
    response = handle.logged_in_client().post(
        "/api/v1/documents/", {"file": SimpleUploadedFile("odd.txt", ODD)}
    )
    assert response.status_code in {202, 415}, response.content  # never a 500
    if response.status_code == 415:
        assert "not a plain text file" in response.json()["error"]["message"]
    else:
        with schema_context(handle.schema):
            assert process_document(response.json()["id"]).outcome == "ready"

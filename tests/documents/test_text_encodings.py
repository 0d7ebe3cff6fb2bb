"""Legacy single-byte encodings: Western European text in cp1252 / Latin-1 is read as
written (charset-normalizer alone picks cp1250 for many of them: "crème" → "crčme"),
and text that really is cp1250, Cyrillic, Greek or CJK still decodes as before."""

# ruff: noqa: RUF001 - the samples are meant to hold Cyrillic, Turkish and typographic letters

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from documents import filetypes
from documents.extractors.charsets import plausibility
from documents.extractors.registry import extract_file
from documents.extractors.text import decode_text
from documents.models import Chunk
from documents.pipeline import process_document
from tests.documents import samples

WESTERN = {
    "fr_qa": "Café crème brûlée, une idée naïve.",
    "fr_short": "Où est le café de la gare ?",
    "fr_short2": "La fenêtre était déjà ouverte.",
    "fr_short3": "Il a reçu une lettre.",
    "fr_short4": "Le cœur et l'œil.",
    "fr_long": (
        "Le garçon a mangé une crème brûlée à la terrasse du café. Où est la "
        "bibliothèque ? Noël approche et les élèves préparent une fête très joyeuse "
        "près de la forêt. Le cœur a ses raisons que la raison ne connaît point."
    ),
    "es_short": "El niño comió una piña.",
    "es_short2": "¿Dónde está la estación de autobuses?",
    "es_short3": "Mañana es el cumpleaños de mi hermana.",
    "es_long": (
        "El niño comió una piña en la montaña. ¿Dónde está la estación? ¡Qué alegría! "
        "La señora habló con el pingüino sobre la canción del corazón."
    ),
    "de_short": "Schöne Grüße aus Köln.",
    "de_long": (
        "Die Größe der Straße ist für Fußgänger und Bürger ungewöhnlich. Übermäßig "
        "schöne Äpfel wachsen im Süden. Grüße aus München."
    ),
    "pt_short": "Não há razão para ações.",
    "pt_short2": "A atenção das crianças é importante.",
    "pt_short3": "Amanhã vou à praia com os meus irmãos.",
    "pt_long": (
        "A informação sobre a educação é essencial. O coração da nação está em São "
        "Paulo. Não há razão para ações tão difíceis. Você já comeu pão?"
    ),
    "it": "Perché la città è così bella? Però non è più quella di una volta.",
    "sv": "Vår båt är större än din, och vi åker till Göteborg på måndag.",
    "da": "Jeg har købt en rødgrød med fløde på vej hjem fra skolen.",
    "nl": 'Ze zeiden: "ruïne" en "reünie" zijn moeilijke woorden.',
    "mixed_names": "Résumé of José Müller: naïve façade, Zoë and Björk visited Malmö.",
}


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:  # "œ", "€", "…" are in cp1252, not in Latin-1
        return False
    return True


@pytest.mark.parametrize(
    ("key", "encoding"),
    [
        (key, encoding)
        for key in sorted(WESTERN)
        for encoding in ("cp1252", "latin-1")
        if _encodable(WESTERN[key], encoding)
    ],
)
def test_western_european_text_in_a_legacy_code_page(key: str, encoding: str) -> None:
    text = WESTERN[key]
    assert decode_text(text.encode(encoding)) == text


def test_the_qa_sample_with_cp1252_punctuation() -> None:
    text = "Café crème brûlée … naïve “quoted” – 5 €"
    assert decode_text(text.encode("cp1252")) == text


def test_a_long_latin1_file_with_accents_only_after_the_first_32_kb() -> None:
    text = "plain ascii words " * 4000 + "\n" + WESTERN["pt_long"] * 20
    assert decode_text(text.encode("latin-1")) == text


@pytest.mark.parametrize(
    "text",
    [
        "Příliš žluťoučký kůň úpěl ďábelské ódy. Dobrý den, jak se máte? Děkuji, mám se dobře.",
        "Dobrý den, děkuji.",
        "Čeština je krásný jazyk.",
        "Město Brno je druhé největší v České republice.",
        "Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig. Dzień dobry, jak się masz?",
        "Dzień dobry, jak się masz?",
        "Łódź jest dużym miastem w Polsce.",
        "Árvíztűrő tükörfúrógép. Jó napot kívánok, hogy van? Köszönöm, jól vagyok.",
        "Ő az én barátom, és nagyon kedves.",
    ],
)
def test_central_european_cp1250_still_decodes_as_cp1250(text: str) -> None:
    assert decode_text(text.encode("cp1250")) == text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Это длинный русский текст. В нём много слов и предложений.", "cp1251"),
        ("Это длинный русский текст. В нём много слов и предложений.", "koi8_r"),
        ("Спасибо большое.", "cp1251"),
        ("Αυτό είναι ένα μεγαλύτερο ελληνικό κείμενο με πολλές λέξεις.", "cp1253"),
        ("Merhaba, nasılsınız? Bu Türkçe bir örnek cümledir.", "cp1254"),
        ("İstanbul'da yağmur yağıyor.", "cp1254"),
        ("Labdien, kā jums klājas? Šis ir latviešu teikums.", "cp1257"),
        ("זהו טקסט עברי ארוך מספיק כדי לבדוק את הגלאי.", "cp1255"),
        ("هذا نص عربي طويل بما فيه الكفاية لاختبار الكاشف.", "cp1256"),
        ("これは日本語のテキストです。Pythonで書かれたプログラムを実行します。", "shift_jis"),
        ("こんにちは、世界。", "shift_jis"),
        ("这是一个中文文本的例子。我们在北京学习汉语。今天天气很好。", "gbk"),
        ("이것은 한국어 텍스트입니다. 서울은 큰 도시입니다.", "euc_kr"),
        ("It’s a “quoted” phrase — isn’t it?", "cp1252"),
        ("Hello world, this is UTF-16 without a BOM. Grüße.", "utf-16-le"),
        ("Hello world, this is UTF-16 without a BOM. Grüße.", "utf-16-be"),
    ],
)
def test_other_encodings_are_still_detected(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


GERMAN = "Grüße aus Köln: die Straße ist groß. "


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (GERMAN.encode() * 30 + b"caf\xe9 " + GERMAN.encode(), GERMAN * 30 + "café " + GERMAN),
        (GERMAN.encode() * 20 + "Crème brûlée. ".encode("latin-1") * 20, None),
        (GERMAN.encode() * 20 + "Привет, как дела? ".encode("cp1251") * 20, None),
    ],
    ids=["one stray byte", "latin-1 lines", "cp1251 lines"],
)
def test_utf8_with_lines_in_a_legacy_code_page_keeps_both(
    data: bytes, expected: str | None
) -> None:
    text = decode_text(data)
    if expected is not None:
        assert text == expected
    assert text.startswith(GERMAN * 20)  # never read as mojibake ("GrÃ¼ÃŸe")
    assert text.endswith(("café " + GERMAN, "Crème brûlée. ", "Привет, как дела? "))


def test_plausibility_prefers_one_alphabet_over_a_mix() -> None:
    assert plausibility("Café crème brûlée naïve") == 1.0
    assert plausibility("Café crčme brűlée naďve") < 1.0
    assert plausibility("Pchn¹æ w tê ³ódŸ") < 0.5
    assert plausibility("Привет, как дела?") == 1.0
    assert plausibility("Il a re蓰 une lettre.") < 1.0
    assert plausibility("plain ASCII") == 1.0


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("a.txt", "Café crème brûlée … naïve".encode("cp1252"), filetypes.TEXT),
        ("a.md", "# Crème\n\nUne crème brûlée, très naïve.".encode("latin-1"), filetypes.MARKDOWN),
        ("a.csv", "plat;prix\ncrème brûlée;5\n".encode("cp1252"), filetypes.CSV),
        ("a.html", "<p>Une crème brûlée, très naïve.</p>".encode("latin-1"), filetypes.HTML),
    ],
    ids=["text", "markdown", "csv", "html-without-charset"],
)
def test_every_text_format_keeps_the_accents(
    tmp_path: Path, name: str, data: bytes, content_type: str
) -> None:
    result = extract_file(samples.write(tmp_path, name, data), content_type)
    text = "\n".join(block.text for block in result.blocks)
    assert "crème" in text.lower()
    assert "crčme" not in text


@pytest.mark.django_db
def test_an_uploaded_cp1252_file_is_stored_with_its_accents(make_tenant: Any) -> None:
    handle = make_tenant("legacytext")
    data = "Menu du jour : crème brûlée, café noir … très naïve.".encode("cp1252")
    response = handle.logged_in_client().post(
        "/api/v1/documents/", {"file": SimpleUploadedFile("menu.txt", data)}
    )
    assert response.status_code == 202, response.content
    with schema_context(handle.schema):
        assert process_document(response.json()["id"]).outcome == "ready"
        text = " ".join(Chunk.objects.values_list("text", flat=True))
    assert "crème brûlée" in text
    assert "naïve" in text

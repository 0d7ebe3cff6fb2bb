"""The formats table (documents/formats.py) and what is derived from it; the plugin registries'
shared shape on the documents side (extractors, embedders, and where a tenant's embedder is set)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role
from documents import filetypes, formats, sandbox_host
from documents.embeddings import (
    available_backends,
    check_backend,
    clear_embedder_cache,
    get_embedder,
    register_backend,
    registry,
)
from documents.embeddings.hashing import HashingEmbedder
from documents.extractors.base import ExtractionError, Extractor
from documents.extractors.registry import extract_file, get_extractor, load_extractor
from documents.extractors.warmup import sample_bytes
from documents.models import Document
from tenants.models import Tenant
from tests.accounts.helpers import signed_in

ENTRIES = [pytest.param(entry, id=entry.label) for entry in formats.FORMATS]


# --- the table ---------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_entry_has_an_extractor_that_loads_and_claims_its_type(entry) -> None:
    extractor = load_extractor(entry.extractor)
    assert isinstance(extractor, Extractor)
    assert entry.content_type in extractor.content_types
    assert type(get_extractor(entry.content_type)) is type(extractor)


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_warm_up_sample_is_detected_and_read_as_its_format(entry, tmp_path: Path) -> None:
    data = sample_bytes(entry)
    for extension in entry.extensions:
        assert filetypes.detect_content_type(data, f"sample{extension}") == entry.content_type
    path = tmp_path / f"sample{entry.stored_extension}"
    path.write_bytes(data)
    result = extract_file(path, entry.content_type)
    if entry.content_type in formats.IMAGE_TYPES:
        assert result.ocr_pages == [1]  # pictures are read by the OCR stage, never here
    else:
        assert any(block.text.strip() for block in result.blocks)


def test_every_accepted_extension_maps_to_a_table_entry() -> None:
    assert set(formats.EXTENSIONS.values()) == formats.ALLOWED_TYPES
    for extension, content_type in formats.EXTENSIONS.items():
        assert extension in formats.BY_CONTENT_TYPE[content_type].extensions
        assert extension == extension.lower()
        assert extension.startswith(".")
    for entry in formats.FORMATS:
        assert formats.STORED_EXTENSIONS[entry.content_type] in entry.extensions


def test_allowed_types_are_the_table_and_every_one_has_an_extractor() -> None:
    assert {entry.content_type for entry in formats.FORMATS} == formats.ALLOWED_TYPES
    assert filetypes.ALLOWED_TYPES is formats.ALLOWED_TYPES
    assert len(formats.FORMATS) == len(formats.ALLOWED_TYPES)


def test_the_derived_sentences_name_every_format_in_the_words_users_know() -> None:
    for entry in formats.FORMATS:
        assert entry.list_name in formats.ALLOWED_SENTENCE
        assert entry.hint_name in formats.UPLOAD_HINT
    assert formats.ALLOWED_SENTENCE == (
        "Upload PDF, DOCX, PPTX, XLSX, HTML, Markdown, CSV, PNG, JPEG, TIFF or plain text files."
    )
    assert formats.UPLOAD_HINT == (
        "PDF, Word, PowerPoint, Excel, HTML, Markdown, CSV, PNG, JPEG, TIFF or plain text"
    )
    assert formats.spoken_list(["A"]) == "A"
    assert formats.spoken_list(["A", "B"]) == "A or B"


def test_labels_sandbox_policy_and_stored_extensions_keep_their_values() -> None:
    assert formats.TYPE_LABELS == {
        formats.PDF: "PDF", formats.DOCX: "Word", formats.PPTX: "PowerPoint",
        formats.XLSX: "Excel", formats.HTML: "HTML", formats.MARKDOWN: "Markdown",
        formats.TEXT: "Text", formats.CSV: "CSV", formats.PNG: "PNG", formats.JPEG: "JPEG",
        formats.TIFF: "TIFF",
    }  # fmt: skip
    assert {formats.TEXT, formats.MARKDOWN, formats.CSV} == formats.REUSABLE_TYPES
    assert sandbox_host.REUSABLE_TYPES is formats.REUSABLE_TYPES
    assert formats.STORED_EXTENSIONS[formats.MARKDOWN] == ".md"
    assert formats.STORED_EXTENSIONS[formats.TEXT] == ".txt"
    assert formats.STORED_EXTENSIONS[formats.HTML] == ".html"


def test_a_table_naming_a_type_or_an_extension_twice_is_refused() -> None:
    pdf = formats.BY_CONTENT_TYPE[formats.PDF]
    with pytest.raises(ValueError, match="declared twice"):
        formats._check((pdf, pdf))
    other = pdf.__class__(**{**pdf.__dict__, "content_type": "application/x-other"})
    with pytest.raises(ValueError, match=r"'\.pdf' is repeated"):
        formats._check((pdf, other))


def test_an_unknown_extension_is_refused_with_the_derived_sentence() -> None:
    with pytest.raises(filetypes.UnsupportedFileType) as caught:
        filetypes.detect_content_type(b"hello", "notes.rtf2")
    assert caught.value.message == (
        f"Files ending in .rtf2 are not supported. {formats.ALLOWED_SENTENCE}"
    )


# --- registries: register, list, get; unknown names refused with a sentence --------------


def test_the_extractor_registry_refuses_an_unknown_type_with_a_sentence() -> None:
    with pytest.raises(ExtractionError) as caught:
        get_extractor("application/x-nothing")
    assert caught.value.message == (
        "Files of type application/x-nothing cannot be read. Upload PDF, DOCX, PPTX, XLSX, "
        "HTML, Markdown, CSV, PNG, JPEG, TIFF or plain text files."
    )


def test_a_reference_to_something_that_is_not_an_extractor_is_refused() -> None:
    with pytest.raises(TypeError, match="not a class satisfying the Extractor protocol"):
        load_extractor("documents.formats:spoken_list")


def test_the_embedder_registry_refuses_an_unknown_name_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="Unknown embedding backend") as caught:
        check_backend("nope")
    choices = ", ".join(available_backends())
    assert str(caught.value) == f"Unknown embedding backend 'nope'; choose one of {choices}."
    assert check_backend("hashing") == "hashing"


@pytest.fixture
def spare_embedder() -> Iterator[str]:
    register_backend("spare", lambda **_: HashingEmbedder(dimension=32))
    yield "spare"
    registry._FACTORIES.pop("spare", None)
    clear_embedder_cache()


def test_an_embedder_name_is_registered_once_unless_replaced(spare_embedder) -> None:
    assert spare_embedder in available_backends()
    assert get_embedder(spare_embedder).dimension == 32
    with pytest.raises(ValueError, match="'spare' is already registered"):
        register_backend(spare_embedder, lambda **_: HashingEmbedder(dimension=16))
    register_backend(spare_embedder, lambda **_: HashingEmbedder(dimension=16), replace=True)
    assert get_embedder(spare_embedder).dimension == 16  # the cached instance was dropped


# --- where a tenant's embedder is chosen: the admin's select and reindex -----------------


@pytest.fixture
def operator(db) -> Client:
    get_user_model().objects.create_superuser(email="op@example.com", password="Op-pass-42-x")
    client = Client(HTTP_HOST="localhost")
    assert client.login(username="op@example.com", password="Op-pass-42-x")
    return client


def test_the_admin_offers_the_registered_embedders_and_refuses_others(
    operator, make_tenant, spare_embedder
) -> None:
    handle = make_tenant("emb_choice")
    tenant = Tenant.objects.get(schema_name=handle.schema)
    change = f"/admin/tenants/tenant/{tenant.pk}/change/"
    page = operator.get(change).content.decode()
    select = re.search(r'<select name="embedding_backend".*?</select>', page, re.S)
    assert select is not None
    assert re.findall(r'<option value="([^"]*)"', select.group(0)) == ["", *available_backends()]
    fields = {
        "name": tenant.name, "plan": tenant.plan, "is_active": "on", "time_zone": "UTC",
        "domains-TOTAL_FORMS": "0", "domains-INITIAL_FORMS": "0",
    }  # fmt: skip
    refused = operator.post(change, {**fields, "embedding_backend": "nope"})
    assert refused.status_code == 200
    assert "Select a valid choice. nope is not one of the available choices." in (
        refused.content.decode()
    )
    assert operator.post(change, {**fields, "embedding_backend": "spare"}).status_code == 302
    assert Tenant.objects.get(pk=tenant.pk).embedding_backend == "spare"


def test_reindex_refuses_a_tenant_whose_embedder_is_not_registered(make_tenant) -> None:
    handle = make_tenant("emb_gone")
    Tenant.objects.filter(schema_name=handle.schema).update(embedding_backend="retired")
    with pytest.raises(CommandError) as caught:
        call_command("reindex", "--tenant", handle.schema)
    assert str(caught.value) == (
        f"{handle.schema}: Unknown embedding backend 'retired'; choose one of "
        f"{', '.join(available_backends())}. Set the tenant's embedding backend in the "
        "operators admin, then run reindex again."
    )


# --- the documents page: labels and the upload hint come from the table ------------------


def test_the_documents_page_shows_the_table_labels_and_upload_hint(make_tenant) -> None:
    handle = make_tenant("fmt_page")
    with schema_context(handle.schema):
        Document.objects.create(
            filename="deck.pptx", content_type=formats.PPTX, size=10, sha256="1" * 64
        )
    page = signed_in(handle, Role.OWNER).get("/documents/").content.decode()
    assert (
        "PDF, Word, PowerPoint, Excel, HTML, Markdown, CSV, PNG, JPEG, TIFF or plain text, up to"
        in page
    )
    script = re.search(r'<script id="type-labels" type="application/json">(.*?)</script>', page)
    assert script is not None
    assert json.loads(script.group(1)) == formats.TYPE_LABELS
    assert re.search(r'data-col="type"[^>]*>\s*PowerPoint\s*<', page)

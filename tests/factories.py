"""factory_boy factories for the rows tests set up: documents and their chunks, people, API
keys, query-log rows and their feedback.

Each factory writes to the schema the test is in (`with schema_context(handle.schema):`), or
to a tenant's when given `tenant=` (a TenantHandle from `make_tenant` or `committed_tenants`):

    DocumentFactory(tenant=handle, filename="contract.txt")     # a ready document, no file
    DocumentFactory(filename="wings.txt", chunks=["Supersonic flow over a swept wing."])
    UserFactory(tenant=handle, role=Role.VIEWER)                # viewer@<schema>.test
    ApiKeyFactory(tenant=handle, scopes=["read", "write"]).raw  # the plaintext key
    QueryFactory(created_at=moment, text="holiday allowance", kind="ask")
    QueryFeedbackFactory(query=query, comment="Quoted the wrong policy.", updated_at=moment)

Fields the database stamps itself (`created_at`, `updated_at`) take the value given to the
factory too: it is written after the insert. Every person signs in with
tests.conftest.PASSWORD.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.db import models
from django_tenants.utils import schema_context
from factory.django import DjangoModelFactory

from accounts.collection_access import default_collection
from accounts.models import ApiKey, Collection, Role, User
from accounts.services import create_api_key
from documents import index_changes
from documents.embedder_choice import embedder_for_current_tenant
from documents.models import Chunk, Document, DocumentStatus
from queries.models import Query, QueryFeedback, QueryKind
from search.retrieval import normalize_query
from tenants.db import current_schema
from tests.conftest import PASSWORD

if TYPE_CHECKING:

    class IssuedApiKey(ApiKey):
        raw: str  # what ApiKeyFactory adds: the plaintext, which exists only at creation


Row = TypeVar("Row")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class TenantRowFactory(DjangoModelFactory[Row]):
    """Creates its row in `tenant`'s schema when given one, else in the current schema."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # factory_boy's metaclass makes `DocumentFactory(...)` return the Document it made.
        def __new__(cls, **kwargs: Any) -> Row: ...  # type: ignore[misc]

    @classmethod
    def _generate(cls, strategy: str, params: dict[str, Any]) -> Any:
        tenant = params.pop("tenant", None)
        if tenant is None:
            return super()._generate(strategy, params)
        with schema_context(tenant.schema):
            return super()._generate(strategy, params)

    @classmethod
    def _create(cls, model_class: type[models.Model], *args: Any, **kwargs: Any) -> Any:
        stamped = {
            field.name
            for field in model_class._meta.concrete_fields
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        }
        stamps = {name: kwargs.pop(name) for name in stamped & set(kwargs)}
        instance = super()._create(model_class, *args, **kwargs)
        if stamps:  # auto_now(_add) ignores a given value on insert: set it afterwards
            model_class._default_manager.filter(pk=instance.pk).update(**stamps)
            for name, value in stamps.items():
                setattr(instance, name, value)
        return instance


class DocumentFactory(TenantRowFactory[Document]):
    """A ready document: the row only, no file in storage (the pipeline cannot run on it).

    `chunks=[text, …]` adds one chunk per text, embedded with the tenant's embedder and
    searchable at once (the index's delta), as ingestion leaves them; `chunks__section=…`
    gives them a section heading.
    """

    class Meta:
        model = Document
        skip_postgeneration_save = True

    filename = factory.Sequence(lambda n: f"document-{n}.txt")
    content_type = "text/plain"
    size = 10
    sha256 = factory.LazyAttribute(lambda document: _sha256(document.filename))
    status = DocumentStatus.READY

    @factory.post_generation
    def collections(document: Document, create: bool, chosen: list[Collection] | None) -> None:
        """`collections=[…]`: where the document is; the default collection otherwise."""
        if create:
            document.collections.set(chosen or [default_collection()])

    @factory.post_generation
    def chunks(
        document: Document, create: bool, texts: list[str] | None, section: str = ""
    ) -> None:
        if not create or not texts:
            return
        embedder = embedder_for_current_tenant()
        # Named before the chunks are written: compaction takes only the chunks of documents
        # embedded with the tenant's embedder, so none is ever written under an unnamed one.
        document.embedder = embedder.name
        document.chunk_count = len(texts)
        document.save(update_fields=["embedder", "chunk_count", "updated_at"])
        vectors = embedder.embed_documents(texts)
        Chunk.objects.bulk_create(
            Chunk(
                document=document,
                ordinal=ordinal,
                text=text,
                section=section,
                embedding=vectors[ordinal].astype("<f4").tobytes(),
            )
            for ordinal, text in enumerate(texts)
        )
        index_changes.chunks_changed()


class ChunkFactory(TenantRowFactory[Chunk]):
    """A chunk without an embedding (lexical search finds it; vector search does not)."""

    class Meta:
        model = Chunk

    document = factory.SubFactory(DocumentFactory, chunk_count=1)
    ordinal = factory.Sequence(lambda n: n)
    text = "A passage about supersonic flow over a swept wing."


class UserFactory(TenantRowFactory[User]):
    """A person of the tenant, a member unless `role=` says otherwise, named <role>@<schema>.test.

    Made with the user manager, as sign-up and the members page make people.
    """

    class Meta:
        model = User

    role = Role.MEMBER
    email = factory.LazyAttribute(
        lambda user: f"{user.role}@{current_schema().replace('_', '-')}.test"
    )
    password = PASSWORD

    @classmethod
    def _create(cls, model_class: type[models.Model], *args: Any, **kwargs: Any) -> Any:
        return User.objects.create_user(*args, **kwargs)


def _first_owner() -> User:
    owner = User.objects.filter(role=Role.OWNER).order_by("pk").first()
    assert owner is not None, "the tenant has no owner to create the key"
    return owner


class ApiKeyFactory(TenantRowFactory["IssuedApiKey"]):
    """An API key, made as the API-keys page makes one (by the tenant's first owner unless
    `created_by=` says who); its plaintext is `.raw`, the only time it exists."""

    class Meta:
        model = ApiKey

    name = "test key"
    scopes = factory.LazyFunction(lambda: ["read"])
    created_by = factory.LazyFunction(_first_owner)
    expires_at = None

    @classmethod
    def _create(cls, model_class: type[models.Model], *args: Any, **kwargs: Any) -> Any:
        key: Any
        key, raw = create_api_key(**kwargs)
        key.raw = raw
        return key


class QueryFactory(TenantRowFactory[Query]):
    """A query-log row as the log writes it (hashed like it); `created_at=` moves it in time."""

    class Meta:
        model = Query

    kind = QueryKind.SEARCH
    text = "termination clause"
    normalized_hash = factory.LazyAttribute(lambda query: _sha256(normalize_query(query.text)))
    total_ms = 10.0
    result_count = 3


class QueryFeedbackFactory(TenantRowFactory[QueryFeedback]):
    """Someone's verdict on a logged query; `updated_at=` says when it was last given."""

    class Meta:
        model = QueryFeedback

    query = factory.SubFactory(QueryFactory)
    helpful = False
    comment = ""

"""Request bodies of search, ask and feedback, and how they are read.

`read_body` refuses what a serializer would silently accept or answer in DRF's own words: a
body that is not an object, and fields the endpoint does not know (`"mode"` sent to ask, or
a misspelt `"topk"`, would otherwise be ignored without a word).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from search.retrieval import MODES
from search.settings import search_settings

MAX_DOCUMENT_FILTER = 1000
MAX_ID = 2**63 - 1  # PostgreSQL's bigint: ids above it exist nowhere
MAX_TEXT = 2000
DEFAULT_SEARCH_TOP_K = 10
# Sent by HTML forms (the browsable API); never a field of ours.
_FORM_EXTRAS = frozenset({"csrfmiddlewaretoken"})


class _CappedListField(serializers.ListField):
    """A ListField whose max_length is checked before its items, not after all of them."""

    def to_internal_value(self, data: Any) -> list[Any]:
        # A 1 MB list would otherwise cost ~600 ms of validating items it then refuses.
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class _Filters(serializers.Serializer[Any]):
    document_ids = _CappedListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_null=True,
        max_length=MAX_DOCUMENT_FILTER,
        help_text="Only these documents; an empty list searches nothing.",
    )
    collection_ids = _CappedListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_null=True,
        max_length=MAX_DOCUMENT_FILTER,
        help_text="Only these collections (of those the caller reads); an empty list searches "
        "nothing.",
    )
    no_cache = serializers.BooleanField(required=False, default=False)


class SearchInput(_Filters):
    query = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=MAX_TEXT)
    mode = serializers.ChoiceField(choices=MODES, required=False, default="hybrid")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # The cap is a setting, read per instance so the schema and the check agree with it.
        limit = search_settings().max_top_k
        fields["top_k"] = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=DEFAULT_SEARCH_TOP_K,
            min_value=1,
            max_value=limit,
            error_messages={"max_value": f"top_k can be at most {limit}."},
            help_text=f"Results to return (default {DEFAULT_SEARCH_TOP_K}; null means that).",
        )
        return fields


class AskInput(_Filters):
    question = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=MAX_TEXT)
    top_k = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=20)
    stream = serializers.BooleanField(required=False, default=False)


class FeedbackInput(serializers.Serializer[Any]):
    helpful = serializers.BooleanField()
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, default=""
    )


def body_of(request: Request, example: str) -> Mapping[str, Any]:
    """The request's body as a mapping, or a 400 saying what shape it must have."""
    data = request.data
    if not isinstance(data, Mapping):
        sent = "nothing (null)" if data is None else f"a JSON {_json_type(data)}"
        raise ValidationError(
            f"The body must be a JSON object such as {example}, not {sent}.", code="invalid"
        )
    return data


def read_body(
    serializer_class: type[serializers.Serializer[Any]], request: Request, example: str
) -> dict[str, Any]:
    """Validated fields of the body; unknown fields are a 400 naming the known ones."""
    data = body_of(request, example)
    serializer = serializer_class(data=data)
    known = set(serializer.fields)
    unknown = sorted(str(name) for name in data if name not in known | _FORM_EXTRAS)[:10]
    if unknown:
        accepted = ", ".join(serializer.fields)
        raise ValidationError(
            {name[:60]: [f"Unknown field; this endpoint accepts {accepted}."] for name in unknown}
        )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else type(value).__name__

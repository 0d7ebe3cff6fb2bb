"""Forms for the dashboard's account pages (the API uses DRF serializers instead)."""

from __future__ import annotations

from django import forms

from accounts.models import ApiKeyScope, Role
from tenants.time_zones import canonical_time_zone, unknown_time_zone_message


class ForgotPasswordForm(forms.Form):
    email = forms.EmailField(max_length=254)


# What a new key reads: every collection (also those made later) or only the ticked ones.
ALL_COLLECTIONS = "all"
CHOSEN_COLLECTIONS = "chosen"


# The page's refusals, in the page's words (the API's name collection_ids instead).
NOTHING_TICKED = (
    "Choose “All collections”, or tick at least one collection: a key for none of them "
    "could read nothing."
)
TICKED_ONE_DELETED = (
    "A ticked collection was deleted meanwhile; tick collections from the list as it is now, "
    "or choose “All collections”."
)


class CollectionIdsField(forms.Field):
    """The ticked collections' ids; whether they still exist is the service's to check
    (accounts/services.py), which the page then says in its own words."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: object) -> list[int]:
        values = value if isinstance(value, list) else []
        try:
            return [int(str(item)) for item in values]
        except ValueError:
            raise forms.ValidationError(
                "Tick collections from the list: one of the values sent is not a collection id."
            ) from None


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses the key, e.g. 'nightly import'.")
    scopes = forms.MultipleChoiceField(
        choices=ApiKeyScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiKeyScope.READ],
        error_messages={"required": "Choose at least one scope."},
    )
    reads = forms.ChoiceField(
        choices=[
            (ALL_COLLECTIONS, "All collections, also those made later"),
            (CHOSEN_COLLECTIONS, "Only the ticked collections"),
        ],
        required=False,
        initial=ALL_COLLECTIONS,
    )
    collection_ids = CollectionIdsField(required=False)

    def clean(self) -> dict[str, object]:
        """`key_collections` is what create_api_key takes: None (all) or the ticked ids."""
        cleaned = super().clean() or {}
        ticked = cleaned.get("collection_ids") or []
        if cleaned.get("reads") == CHOSEN_COLLECTIONS:
            if not ticked and not self.has_error("collection_ids"):
                self.add_error("collection_ids", NOTHING_TICKED)
            cleaned["key_collections"] = ticked
        elif ticked:
            self.add_error(
                "collection_ids",
                "Choose “Only the ticked ones” to limit the key to the ticked "
                "collections, or untick them for a key that reads all collections.",
            )
        else:
            cleaned["key_collections"] = None
        return cleaned


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    full_name = forms.CharField(max_length=200, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TimeZoneForm(forms.Form):
    """The workspace's time zone; any case is accepted and stored as the tz database spells it."""

    time_zone = forms.CharField(
        max_length=64,
        error_messages={
            "required": "Choose a time zone, e.g. Europe/Berlin or UTC.",
            "max_length": "No time zone has a name that long; use one such as Europe/Berlin.",
        },
    )

    def clean_time_zone(self) -> str:
        value = str(self.cleaned_data["time_zone"])
        name = canonical_time_zone(value)
        if name is None:
            raise forms.ValidationError(unknown_time_zone_message(value), code="unknown_time_zone")
        return name

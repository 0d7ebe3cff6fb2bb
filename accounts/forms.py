"""Forms for the dashboard's account pages (the API uses DRF serializers instead)."""

from __future__ import annotations

from django import forms

from accounts.models import ApiKeyScope, Role
from tenants.time_zones import canonical_time_zone, unknown_time_zone_message


class ForgotPasswordForm(forms.Form):
    email = forms.EmailField(max_length=254)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses the key, e.g. 'nightly import'.")
    scopes = forms.MultipleChoiceField(
        choices=ApiKeyScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiKeyScope.READ],
        error_messages={"required": "Choose at least one scope."},
    )


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

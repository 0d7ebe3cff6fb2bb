"""Forms for the dashboard's account pages (the API uses DRF serializers instead)."""

from __future__ import annotations

from django import forms

from accounts.models import ApiKeyScope, Role


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

"""`/settings/account/`: every signed-in person's own name and password.

The password form checks the current password under the same per-account budget as the API
(`POST auth/password/`, accounts/signin_limits.py), validates the new one with the
configured validators, revokes every refresh token issued before (other devices sign in
again) and keeps this browser signed in.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import User
from accounts.ratelimits import RateLimited, RateLimitUnavailable
from accounts.services import revoke_refresh_tokens
from accounts.signin_limits import check_password_rate


class NameForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name"]
        labels = {"full_name": "Your name"}


def _refused(form: PasswordChangeForm, error: Exception) -> None:
    form.add_error(None, str(getattr(error, "detail", error)))


def _change_password(request: HttpRequest, user: User) -> tuple[PasswordChangeForm, bool]:
    form = PasswordChangeForm(user, request.POST)
    try:
        attempt = check_password_rate(user)
    except (RateLimited, RateLimitUnavailable) as exc:
        _refused(form, exc)
        return form, False
    if not user.check_password(request.POST.get("old_password", "")):
        form.is_valid()  # fills the field errors, "Your old password was entered incorrectly"
        return form, False
    attempt.succeeded()
    if not form.is_valid():
        return form, False
    form.save()
    revoke_refresh_tokens(user=user)
    update_session_auth_hash(request, user)
    return form, True


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required
    name_form = NameForm(instance=user)
    password_form = PasswordChangeForm(user)
    if request.method == "POST" and request.POST.get("form") == "name":
        name_form = NameForm(request.POST, instance=user)
        if name_form.is_valid():
            name_form.save()
            messages.success(request, "Your name is saved.")
            return redirect("account-page")
    elif request.method == "POST" and request.POST.get("form") == "password":
        password_form, changed = _change_password(request, user)
        if changed:
            messages.success(
                request,
                "Your password is changed. Other browsers and apps signed in as you must sign "
                "in again.",
            )
            return redirect("account-page")
    status = 400 if request.method == "POST" else 200
    context = {"name_form": name_form, "password_form": password_form, "active": "account"}
    return render(request, "accounts/account.html", context, status=status)

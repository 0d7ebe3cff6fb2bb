"""Dashboard pages: sign in (rate-limited), forgotten and invited passwords, home.

The admin pages for API keys and members live in accounts/workspace_views.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from accounts.forms import ForgotPasswordForm
from accounts.invitations import deliver_password_reset, password_set_link
from accounts.models import User
from accounts.ratelimits import RateLimited, RateLimitUnavailable
from accounts.signin_limits import (
    Attempt,
    check_login_rate,
    check_reset_rate,
    may_send_reset_link,
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("documents")


def _rate_refusal(
    check: Callable[[], object], render_refusal: Callable[[int, str], HttpResponse]
) -> HttpResponse | None:
    """None when `check()` passes the limits, else the refusal page (429 / 503)."""
    try:
        check()
    except RateLimited as exc:
        response = render_refusal(429, str(exc.detail))
        response["Retry-After"] = str(int(getattr(exc, "wait", None) or 60))
        return response
    except RateLimitUnavailable as exc:
        response = render_refusal(503, str(exc.detail))
        response["Retry-After"] = "60"
        return response
    return None


class LoginView(auth_views.LoginView):
    """Django's login page, with the same limits as the token endpoint (signin_limits)."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    _attempt: Attempt | None = None

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = str(request.POST.get("username", ""))

        def count() -> None:
            self._attempt = check_login_rate(request, email)

        refusal = _rate_refusal(count, lambda s, m: self._refuse(request, s, m))
        return refusal or super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        if self._attempt is not None:
            self._attempt.succeeded()
        return super().form_valid(form)

    def _refuse(self, request: HttpRequest, status: int, message: str) -> HttpResponse:
        context = self.get_context_data(form=self.get_form(), refusal=message)
        return render(request, self.template_name, context, status=status)


class LogoutView(auth_views.LogoutView):
    """Logging out is a POST (a link must not log people out); a GET asks to confirm."""

    http_method_names = ["get", "post", "options"]
    next_page = "login"  # a URL name: LogoutView resolves it

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "accounts/logout_confirm.html")


@require_http_methods(["GET", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    """Sends a one-time link when the email belongs to an active member; says the same either way.

    The identical answer keeps the page from revealing who is a member of the workspace. It
    has limits of its own (signin_limits): asking for links never uses a sign-in budget.
    """
    form = ForgotPasswordForm(request.POST or None)
    template = "accounts/password_forgot.html"
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        refusal = _rate_refusal(
            lambda: check_reset_rate(request),
            lambda s, m: render(request, template, {"form": form, "refusal": m}, status=s),
        )
        if refusal:
            return refusal
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        # Past the account's budget no link is sent, and the answer is the same.
        if user is not None and may_send_reset_link(user):
            deliver_password_reset(user=user, link=password_set_link(request, user))
        return redirect("password-forgot-sent")
    return render(request, template, {"form": form})


def forgot_password_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_forgot_sent.html")


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Where an invited member (or someone resetting) chooses a password, via a one-time link."""

    template_name = "accounts/password_set.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Log in with it now.")
        return response

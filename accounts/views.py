"""Dashboard pages: sign in (rate-limited), set a password from an invitation, home."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from accounts.ratelimits import RateLimited, RateLimitUnavailable, check_login_rate


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/home.html", {"tenant": request.tenant})  # type: ignore[attr-defined]


class LoginView(auth_views.LoginView):
    """Django's login page, with the same per-IP and per-email limits as the token endpoint."""

    template_name = "accounts/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            check_login_rate(request, str(request.POST.get("username", "")))
        except RateLimited as exc:
            response = self._refuse(request, 429, str(exc.detail))
            response["Retry-After"] = str(int(getattr(exc, "wait", None) or 60))
            return response
        except RateLimitUnavailable as exc:
            response = self._refuse(request, 503, str(exc.detail))
            response["Retry-After"] = "60"
            return response
        return super().post(request, *args, **kwargs)

    def _refuse(self, request: HttpRequest, status: int, message: str) -> HttpResponse:
        context = self.get_context_data(form=self.get_form(), refusal=message)
        return render(request, self.template_name, context, status=status)


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Where an invited member (or someone resetting) chooses a password, via a one-time link."""

    template_name = "accounts/password_set.html"
    success_url = reverse_lazy("login")

"""My Account: the customer's orders (with their masked keys) and claims, one page each."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User

from .selectors import dashboard_context_get


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)  # login_required let only a signed-in user in
    context = dashboard_context_get(
        user=request.user,
        orders_page=request.GET.get("orders"),
        claims_page=request.GET.get("claims"),
    )
    response = render(request, "accounts/dashboard.html", context)
    response["Cache-Control"] = "no-store"
    return response

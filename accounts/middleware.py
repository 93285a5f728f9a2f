"""Staff reach the admin only with a second factor (TOTP), superusers included.

A signed-in staff member without a TOTP authenticator is sent to allauth's TOTP
enrolment; one with TOTP whose session never passed it (signed in before enrolling, or
by any path that skipped allauth's MFA stage) is sent to allauth's MFA check. The admin's
own login page already goes through allauth's login (``config.urls``), where
allauth asks for the code of anyone who has TOTP.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .selectors import STAFF_MFA_ENROL, STAFF_MFA_OK, staff_mfa_step_get


class StaffMFAMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and request.path_info.startswith(reverse("admin:index"))
            and request.path_info != reverse("admin:logout")
        ):
            step = staff_mfa_step_get(
                user=user, authentication_records=get_authentication_records(request, user)
            )
            if step != STAFF_MFA_OK:
                target = "mfa_activate_totp" if step == STAFF_MFA_ENROL else "mfa_reauthenticate"
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse(target)}?{query}")
        return self.get_response(request)

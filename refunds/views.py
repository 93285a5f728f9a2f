"""Customer pages for claims: file (with a policy preview), follow, reply, see evidence.

Views parse input and call one service. Access: the account that owns the order (or a
verified email of it), or a guest whose order-tracking session covers the order (the
orders app's tracking access). Anything else is a 404.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.http import client_ip_get
from keys.selectors import keys_for_order
from orders.selectors import order_get_for_viewer, order_queryset_for_user, refund_get

from . import conf
from .access import session_access_get
from .evidence import EvidenceRejected, evidence_open
from .forms import ClaimForm, MessageForm, preview_matches, preview_signature
from .models import REASONS_WITHOUT_KEY, ClaimEventKind, ClaimStatus, MessageAuthor
from .selectors import (
    NoActivePreset,
    claim_get_for_customer,
    claim_rows_values,
    claims_for_user,
    clause_title_get,
    clause_url_get,
    evidence_get_for_viewer,
    evidence_pending_list,
    preset_rules_get,
    reason_options_for_order_get,
)
from .services import (
    ClaimError,
    ClaimNotAccepted,
    EvidenceLimited,
    claim_message_post,
    claim_preview,
    claim_submit,
    evidence_create,
    evidence_uploads_allowed,
)

UPLOAD_TOKEN_SESSION_KEY = "refunds_upload_token"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


def _tracked_order_ids(request: HttpRequest) -> list[str]:
    """Orders this browser may see without an account: opened through the tracking page, or
    the order page shown after its own checkout (orders' session access)."""
    return [
        oid
        for oid, channel in session_access_get(request).items()
        if channel in ("tracking", "screen")
    ]


def _upload_token(request: HttpRequest) -> str:
    token = request.session.get(UPLOAD_TOKEN_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(24)
        request.session[UPLOAD_TOKEN_SESSION_KEY] = token
    return token


def _order_for_claim(request: HttpRequest, number: str):
    """The order this visitor may claim on, and how ('account', 'tracking' or 'screen'), or 404."""
    found = order_get_for_viewer(
        number=number, user=request.user, session_access=session_access_get(request)
    )
    if found is None:
        raise Http404
    # Whoever may see the order (its account, the tracking page, or the browser that
    # paid for it and was shown its keys) may open a claim for it.
    return found


def _items_for(order) -> tuple[list[tuple[str, str]], dict[str, tuple]]:
    """Choices "key-<id>" for each key sold on the order, "line-<id>" for each line."""
    choices: list[tuple[str, str]] = []
    lookup: dict[str, tuple] = {}
    lines = {line.pk: line for line in order.lines.all()}
    for key in keys_for_order(order=order):
        if key.status not in ("delivered", "defective", "revoked"):
            continue
        line = lines.get(key.order_line_id)
        if line is None:
            continue
        value = f"key-{key.pk}"
        choices.append((value, f"{line.product_name} · {key.masked}"))
        lookup[value] = (line, key)
    for line in lines.values():
        value = f"line-{line.pk}"
        choices.append(
            (
                value,
                _("%(product)s · the whole order line (no key needed)")
                % {"product": line.product_name},
            )
        )
        lookup[value] = (line, None)
    return choices, lookup


def _evidence_ids_str(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids)


def _uploads_refused_early(request: HttpRequest, *, claim_ref: str) -> HttpResponse | None:
    """Refuse, before the body is parsed, a claim form bigger than its screenshots can be,
    or one carrying screenshots from a client or for a claim already over its limits (the
    browser keeps what was typed: going back shows the form as it was)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > conf.evidence_request_max_bytes():
        message, status = (
            _("This message is too large. Please send fewer or smaller screenshots."),
            413,
        )
    elif length > conf.CLAIM_FORM_TEXT_BYTES and not evidence_uploads_allowed(
        ip=client_ip_get(request=request), claim_ref=claim_ref
    ):
        message, status = (
            _(
                "Too many screenshots were sent in a short time. Please wait a few minutes, "
                "then go back: what you typed is still in the form."
            ),
            429,
        )
    else:
        return None
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _store_uploads(
    request, files, form, *, claim_ref: str, field: str = "screenshots"
) -> list[int]:
    """Store each good image; add a clear error for each bad one (the rest is kept)."""
    stored: list[int] = []
    for upload in files[: conf.evidence_max_files()]:
        try:
            evidence = evidence_create(
                upload=upload,
                uploaded_by=request.user,
                upload_token=_upload_token(request),
                ip=client_ip_get(request=request),
                claim_ref=claim_ref,
            )
        except EvidenceLimited as exc:
            form.add_error(field, str(exc))
            break  # the next files would be refused the same way
        except EvidenceRejected as exc:
            form.add_error(field, f"{upload.name}: {exc}")
        else:
            stored.append(evidence.pk)
    if len(files) > conf.evidence_max_files():
        form.add_error(
            field, _("At most %(n)s screenshots per message.") % {"n": conf.evidence_max_files()}
        )
    return stored


@require_http_methods(["GET", "POST"])
def claim_new(request: HttpRequest, number: str) -> HttpResponse:
    order, channel = _order_for_claim(request, number)
    if request.method == "POST":
        refused = _uploads_refused_early(request, claim_ref=f"order:{order.pk}")
        if refused is not None:
            return refused
    try:
        preset = preset_rules_get()
    except NoActivePreset:
        return render(request, "refunds/claims_closed.html", {"order": order}, status=503)
    offered, not_offered = reason_options_for_order_get(preset=preset, order=order)
    reasons = offered + not_offered
    items, lookup = _items_for(order)
    tz = preset.calendar.tz
    context = {
        "order": order,
        "channel": channel,
        "preset": preset,
        "covered": offered,
        "excluded": not_offered,
        "preview": None,
        "evidence": [],
    }
    if request.method == "GET":
        form = ClaimForm(items=items, reasons=reasons, tz_name=preset.calendar.time_zone)
        context["form"] = form
        return _no_store(render(request, "refunds/claim_form.html", context))

    with timezone.override(tz):
        form = ClaimForm(
            request.POST,
            request.FILES,
            items=items,
            reasons=reasons,
            tz_name=preset.calendar.time_zone,
        )
        valid = form.is_valid()
    kept_ids = form.cleaned_data.get("evidence_ids", []) if hasattr(form, "cleaned_data") else []
    upload_token = _upload_token(request)
    kept = evidence_pending_list(ids=kept_ids, upload_token=upload_token)
    new_ids = _store_uploads(
        request, request.FILES.getlist("screenshots"), form, claim_ref=f"order:{order.pk}"
    )
    evidence = kept + evidence_pending_list(ids=new_ids, upload_token=upload_token)
    evidence_ids = [e.pk for e in evidence]
    context.update(form=form, evidence=evidence)
    # keep what was uploaded across re-renders (the file input itself cannot be refilled)
    data = request.POST.copy()
    data["evidence_ids"] = _evidence_ids_str(evidence_ids)
    form.data = data

    if not valid or form.errors:
        return _no_store(render(request, "refunds/claim_form.html", context, status=400))

    item = form.cleaned_data["item"]
    line, key = lookup[item]
    reason = form.cleaned_data["reason"]
    failed_at: datetime | None = form.cleaned_data.get("failed_at")
    if failed_at is not None and failed_at > timezone.now():
        form.add_error("failed_at", _("This date is in the future."))
        return _no_store(render(request, "refunds/claim_form.html", context, status=400))
    if key is None and reason not in REASONS_WITHOUT_KEY:
        form.add_error("item", _("Please choose the key that does not work."))
        return _no_store(render(request, "refunds/claim_form.html", context, status=400))

    submitting = "submit" in request.POST and preview_matches(
        token=form.cleaned_data.get("preview_token") or "",
        item=item,
        reason=reason,
        failed_at=failed_at,
    )
    if not submitting:
        preview = claim_preview(
            order=order, order_line=line, key=key, reason=reason, failed_at=failed_at
        )
        data["preview_token"] = preview_signature(item=item, reason=reason, failed_at=failed_at)
        context["preview"] = preview
        return _no_store(render(request, "refunds/claim_form.html", context))

    try:
        claim = claim_submit(
            order=order,
            order_line=line,
            key=key,
            reason=reason,
            failed_at=failed_at,
            description=form.cleaned_data["description"],
            user=request.user,
            guest_email=order.email,
            language=getattr(request, "LANGUAGE_CODE", "en"),
            evidence_ids=evidence_ids,
            upload_token=upload_token,
        )
    except ClaimNotAccepted as exc:
        context["preview"] = claim_preview(
            order=order, order_line=line, key=key, reason=reason, failed_at=failed_at
        )
        form.add_error(None, str(exc))
        return _no_store(render(request, "refunds/claim_form.html", context, status=400))
    except ClaimError as exc:
        form.add_error(None, str(exc))
        return _no_store(render(request, "refunds/claim_form.html", context, status=400))
    messages.success(
        request,
        _("Your claim %(number)s is registered. We have sent you a confirmation email.")
        % {"number": claim.number},
    )
    return redirect("refunds:detail", number=claim.number)


@require_http_methods(["GET", "POST"])
def claim_detail(request: HttpRequest, number: str) -> HttpResponse:
    claim = claim_get_for_customer(
        number=number, user=request.user, tracked_order_ids=_tracked_order_ids(request)
    )
    if claim is None:
        raise Http404
    form = MessageForm()
    status = 200
    if request.method == "POST":
        refused = _uploads_refused_early(request, claim_ref=f"claim:{claim.pk}")
        if refused is not None:
            return refused
        form = MessageForm(request.POST, request.FILES)
        valid = form.is_valid()
        ids = _store_uploads(
            request, request.FILES.getlist("screenshots"), form, claim_ref=f"claim:{claim.pk}"
        )
        if valid and not form.errors:
            try:
                claim_message_post(
                    claim=claim,
                    author_role=MessageAuthor.CUSTOMER,
                    body=form.cleaned_data["body"],
                    author=request.user,
                    evidence_ids=ids,
                    upload_token=_upload_token(request),
                )
            except ClaimError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Your message was sent to our team."))
                return redirect("refunds:detail", number=claim.number)
        status = 400

    refund = refund_get(refund_id=claim.refund_reference) if claim.refund_reference else None
    context = {
        "claim": claim,
        "events": claim.events.filter(kind=ClaimEventKind.STATUS),
        "messages_list": claim.messages.all(),
        "evidence": claim.evidence.all(),
        "form": form,
        "is_open": claim.status
        in (ClaimStatus.SUBMITTED, ClaimStatus.NEEDS_INFO, ClaimStatus.VERIFYING),
        "submitted_clause_url": clause_url_get(clause_id=claim.submitted_clause),
        "submitted_clause_title": clause_title_get(clause_id=claim.submitted_clause),
        "decision_clause_url": clause_url_get(clause_id=claim.decision_clause),
        "decision_clause_title": clause_title_get(clause_id=claim.decision_clause),
        "refund": refund,
        "shop_time_zone": _claim_time_zone(claim),
    }
    return _no_store(render(request, "refunds/claim_detail.html", context, status=status))


def _claim_time_zone(claim) -> str:
    """The time zone the claim's deadlines are counted in: its preset's business calendar."""
    try:
        return preset_rules_get(slug=claim.preset_slug or None).calendar.time_zone
    except (NoActivePreset, LookupError, ValueError):
        return timezone.get_current_timezone_name()


CLAIMS_PER_PAGE = 20


@login_required
def claim_list(request: HttpRequest) -> HttpResponse:
    """The customer's claims, and their orders with a link to report a problem."""
    claims = Paginator(claims_for_user(user=request.user), CLAIMS_PER_PAGE).get_page(
        request.GET.get("claims")
    )
    listed = order_queryset_for_user(user=request.user).only("number", "total", "currency")
    orders = Paginator(listed, CLAIMS_PER_PAGE).get_page(request.GET.get("orders"))
    context = {
        "claims_page": claims,
        "claims": claims.object_list,
        "claims_values": claim_rows_values(claims=claims.object_list),
        "orders_page": orders,
        "orders": orders.object_list,
        # what the order list shows (kept rendered under these values, core.fragments)
        "orders_values": tuple((o.pk, o.number, o.total, o.currency) for o in orders.object_list),
    }
    return _no_store(render(request, "refunds/claim_list.html", context))


def evidence_view(request: HttpRequest, evidence_id: int) -> HttpResponseBase:
    """The image, only to staff, the claim's owner or the browser that uploaded it."""
    evidence = evidence_get_for_viewer(
        evidence_id=evidence_id,
        user=request.user,
        tracked_order_ids=_tracked_order_ids(request),
        upload_tokens=[request.session.get(UPLOAD_TOKEN_SESSION_KEY, "")],
    )
    if evidence is None:
        raise Http404
    try:
        # Streamed from the private storage (local disk or the bucket): never a public URL.
        handle = evidence_open(storage_name=evidence.storage_name)  # FileResponse closes it
    except FileNotFoundError:
        raise Http404
    extension = evidence.storage_name.rsplit(".", 1)[-1]
    response = FileResponse(handle, content_type=evidence.content_type)
    response["Content-Disposition"] = f'inline; filename="evidence-{evidence.pk}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response

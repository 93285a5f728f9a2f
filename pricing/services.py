"""Pricing services: the shop's tax settings, coupon rules, the quote that cart, checkout
and order creation share, coupon reservations and campaign batches.

A *quote* is the one computation behind every price the customer reads: coupon discount
per line, then tax per line (``pricing.taxes.tax_compute``). The cart shows a quote for the
shop's country (or the country the customer picked), the checkout for the declared billing
country, and the order stores the quote made inside its own transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.exports import csv_cell_safe
from core.identity import shop_identity_get
from core.money import currency_precision, money_format, money_quantize

from .choices import TaxRegime, TaxTreatment
from .countries import country_choices
from .models import (
    COUNTED_STATUSES,
    Coupon,
    CouponBatch,
    CouponKind,
    CouponRedemption,
    RedemptionStatus,
)
from .rates import country_in_eu, vat_rate_get
from .taxes import TaxLineIn, TaxResult, tax_compute
from .vat_numbers import VatNumberCheck, vat_number_check

logger = logging.getLogger(__name__)
ZERO = Decimal("0")
# The code a customer entered in the cart, kept in their session until checkout.
COUPON_SESSION_KEY = "coupon_code"


# --- the shop's tax settings -------------------------------------------------------------------


@dataclass(frozen=True)
class ShopTaxSettings:
    regime: str
    country: str

    @property
    def charges_vat(self) -> bool:
        return self.regime in (TaxRegime.EU_OSS, TaxRegime.NATIONAL)


def shop_tax_settings_get() -> ShopTaxSettings:
    """The regime and home country, from the shop identity (edited in the admin)."""
    identity = shop_identity_get()
    regime = identity.tax_regime or TaxRegime.NONE
    country = (identity.country or "").upper()
    problem = shop_tax_settings_problem(regime=regime, country=country)
    if problem:
        # never a broken cart: prices without tax, and the deploy check (keystore.E060)
        # and this log line tell the owner
        logger.error("tax regime ignored: %s", problem)
        regime = TaxRegime.NONE
    return ShopTaxSettings(regime=regime, country=country)


def shop_tax_settings_problem(*, regime: str, country: str) -> str:
    """Why ``regime`` cannot apply to a shop in ``country`` ("" when it can)."""
    if regime == TaxRegime.NONE:
        return ""
    if not country:
        return "the shop identity has no country"
    if regime == TaxRegime.EU_OSS and not country_in_eu(country=country):
        return f"EU OSS needs a shop in an EU member state, not {country}"
    if vat_rate_get(country=country, on=timezone.localdate()) is None:
        return f"pricing/data/vat_rates.json has no current rate for {country}"
    return ""


# --- coupons ---------------------------------------------------------------------------------


class CouponError(Exception):
    """A coupon cannot be used; ``reason`` is a stable key, ``str()`` the customer's text."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PriceLineIn:
    key: Any
    product_id: int
    category_id: int | None
    unit_gross: Decimal
    quantity: int

    @property
    def gross(self) -> Decimal:
        return self.unit_gross * self.quantity


def _when(value: dt.datetime) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def coupon_find(*, code: str, lock: bool = False) -> Coupon:
    """The active coupon with ``code`` (any case); ``lock`` takes its row lock."""
    cleaned = (code or "").strip().upper()
    queryset = Coupon.objects.filter(code=cleaned, active=True)
    if lock:
        queryset = queryset.select_for_update()
    coupon = queryset.first() if cleaned else None
    if coupon is None:
        raise CouponError("unknown", _("This code does not exist or is no longer offered."))
    return coupon


def _eligible(coupon: Coupon, lines: Sequence[PriceLineIn]) -> list[bool]:
    product_ids = set(coupon.products.values_list("pk", flat=True))
    category_ids = set(coupon.categories.values_list("pk", flat=True))
    if not product_ids and not category_ids:
        return [True for _line in lines]
    return [li.product_id in product_ids or li.category_id in category_ids for li in lines]


# The smallest amount a card payment may be for (Stripe's documented minimum charge amounts;
# other currencies: the default).
MINIMUM_CHARGE = {"EUR": Decimal("0.50"), "USD": Decimal("0.50"), "GBP": Decimal("0.30"),
                  "SAR": Decimal("2.00"), "AED": Decimal("2.00")}  # fmt: skip
DEFAULT_MINIMUM_CHARGE = Decimal("0.50")


def coupon_usage_counts(*, coupon: Coupon, email: str = "") -> tuple[int, int]:
    """(uses in total, uses by ``email``) counting reserved and redeemed redemptions."""
    live = CouponRedemption.objects.filter(coupon=coupon, status__in=COUNTED_STATUSES)
    by_email = live.filter(email__iexact=email.strip()).count() if email else 0
    return live.count(), by_email


def coupon_discounts_allocate(
    *,
    kind: str,
    value: Decimal,
    grosses: Sequence[Decimal],
    eligible: Sequence[bool],
    currency: str,
) -> list[Decimal]:
    """The discount of each line. Percent: per eligible line, rounded. Fixed: the amount
    (at most the eligible total) spread over eligible lines in proportion to their gross,
    in minor units, the remainder going one unit at a time to the largest fractional
    parts (ties: the earlier line), so the line discounts add up to the discount exactly."""
    if kind == CouponKind.PERCENT:
        return [
            min(money_quantize(amount=g * value / 100, currency=currency), g) if ok else ZERO
            for g, ok in zip(grosses, eligible, strict=True)
        ]
    scale = 10 ** currency_precision(currency=currency)
    minors = [int(g * scale) if ok else 0 for g, ok in zip(grosses, eligible, strict=True)]
    base = sum(minors)
    wanted = min(int(money_quantize(amount=value, currency=currency) * scale), base)
    if base == 0 or wanted <= 0:
        return [ZERO for _g in grosses]
    shares = [wanted * m // base for m in minors]
    remainders = sorted(range(len(minors)), key=lambda i: (-(wanted * minors[i] % base), i))
    left = wanted - sum(shares)
    for i in remainders:
        if left == 0:
            break
        if minors[i] and shares[i] < minors[i]:
            shares[i] += 1
            left -= 1
    return [money_quantize(amount=Decimal(s) / scale, currency=currency) for s in shares]


@dataclass(frozen=True)
class CouponApplied:
    coupon: Coupon
    discounts: list[Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.discounts, ZERO)


def coupon_apply(
    *,
    code: str,
    lines: Sequence[PriceLineIn],
    currency: str,
    email: str = "",
    now: dt.datetime | None = None,
    lock: bool = False,
) -> CouponApplied:
    """Check every rule of the coupon against this basket; raise ``CouponError`` with the
    customer's reason, or return the discount of each line. ``email`` (checkout) enables
    the per-customer limit; ``lock`` (order creation) holds the coupon row until commit."""
    now = now or timezone.now()
    coupon = coupon_find(code=code, lock=lock)
    if coupon.valid_from and now < coupon.valid_from:
        raise CouponError(
            "not_yet_valid",
            _("This code can be used from %(when)s.") % {"when": _when(coupon.valid_from)},
        )
    if coupon.valid_until and now > coupon.valid_until:
        raise CouponError(
            "expired", _("This code expired on %(when)s.") % {"when": _when(coupon.valid_until)}
        )
    if coupon.kind == CouponKind.FIXED and coupon.currency != currency.upper():
        raise CouponError(
            "currency",
            _("This code is for orders paid in %(currency)s.") % {"currency": coupon.currency},
        )
    subtotal = sum((li.gross for li in lines), ZERO)
    if coupon.minimum_amount and subtotal < coupon.minimum_amount:
        raise CouponError(
            "minimum",
            _("This code needs an order of at least %(amount)s.")
            % {
                "amount": money_format(
                    amount=coupon.minimum_amount,
                    currency=currency,
                    language=_current_language(),
                )
            },
        )
    eligible = _eligible(coupon, lines)
    if not any(eligible):
        raise CouponError(
            "not_applicable", _("This code does not apply to the items in your cart.")
        )
    total_uses, email_uses = coupon_usage_counts(coupon=coupon, email=email)
    if coupon.max_redemptions is not None and total_uses >= coupon.max_redemptions:
        raise CouponError("used_up", _("This code has been used up."))
    limit = coupon.max_redemptions_per_customer
    if email and limit is not None and email_uses >= limit:
        raise CouponError("already_used", _("You have already used this code."))
    discounts = coupon_discounts_allocate(
        kind=coupon.kind,
        value=coupon.value,
        grosses=[li.gross for li in lines],
        eligible=eligible,
        currency=currency,
    )
    left = subtotal - sum(discounts, ZERO)
    if left < MINIMUM_CHARGE.get(currency.upper(), DEFAULT_MINIMUM_CHARGE):
        # A card payment cannot be for nothing (Stripe's smallest charge is about 0.50 in
        # most currencies); the shop has no payment-free checkout, so say so up front.
        raise CouponError(
            "nothing_to_pay",
            _(
                "This code would leave less than the smallest card payment to pay. "
                "Add another item to use it, or contact us."
            ),
        )
    return CouponApplied(coupon=coupon, discounts=discounts)


def _current_language() -> str:
    return translation.get_language() or "en"


# --- the quote ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    tax: TaxResult
    settings: ShopTaxSettings
    billing_country: str
    vat: VatNumberCheck
    coupon: Coupon | None = None
    coupon_error: CouponError | None = None
    line_keys: tuple[Any, ...] = field(default=())

    @property
    def total(self) -> Decimal:
        return self.tax.total

    @property
    def coupon_code(self) -> str:
        return self.coupon.code if self.coupon else ""

    def line_for(self, key: Any):
        return self.tax.lines[self.line_keys.index(key)]

    @property
    def tax_label(self) -> str:
        return price_tax_label(treatment=self.tax.treatment)

    @property
    def billing_country_name(self) -> str:
        names = dict(country_choices(language=_current_language()))
        return names.get(self.billing_country, self.billing_country)


def catalogue_price_tax_label() -> str:
    """What customers read next to a catalogue price: "incl. VAT" when the shop charges
    VAT, else nothing."""
    return price_tax_label(treatment="domestic") if shop_tax_settings_get().charges_vat else ""


def price_tax_label(*, treatment: str) -> str:
    """What customers read next to a total under ``treatment``."""
    labels: dict[str, str] = {
        TaxTreatment.DOMESTIC: _("incl. VAT"),
        TaxTreatment.OSS: _("incl. VAT"),
        TaxTreatment.NATIONAL: _("incl. VAT"),
        TaxTreatment.REVERSE_CHARGE: _("VAT reverse charged"),
        TaxTreatment.OUTSIDE_SCOPE: _("no VAT (outside the EU)"),
    }
    return labels.get(treatment, "")


def pricing_quote(
    *,
    lines: Iterable[PriceLineIn],
    currency: str,
    billing_country: str = "",
    vat_number: str = "",
    coupon_code: str = "",
    email: str = "",
    now: dt.datetime | None = None,
    lock_coupon: bool = False,
    coupon_required: bool = False,
) -> Quote:
    """The prices of a basket for this buyer. A coupon that cannot be used is reported on
    ``coupon_error`` (the quote is then without it), or raised when ``coupon_required``."""
    now = now or timezone.now()
    lines = list(lines)
    tax_settings = shop_tax_settings_get()
    country = (billing_country or tax_settings.country).upper()
    vat = (
        vat_number_check(number=vat_number, country=country)
        if vat_number
        else VatNumberCheck(number="", valid=False)
    )
    coupon = None
    coupon_error = None
    discounts = [ZERO for _li in lines]
    if coupon_code:
        try:
            applied = coupon_apply(
                code=coupon_code, lines=lines, currency=currency, email=email, now=now,
                lock=lock_coupon,
            )  # fmt: skip
        except CouponError as exc:
            if coupon_required:
                raise
            coupon_error = exc
        else:
            coupon, discounts = applied.coupon, applied.discounts
    tax = tax_compute(
        regime=tax_settings.regime,
        shop_country=tax_settings.country,
        billing_country=country,
        business_vat_valid=vat.valid,
        lines=[
            TaxLineIn(key=li.key, unit_gross=li.unit_gross, quantity=li.quantity, discount=d)
            for li, d in zip(lines, discounts, strict=True)
        ],
        currency=currency,
        on=timezone.localdate(now),
    )
    return Quote(
        tax=tax,
        settings=tax_settings,
        billing_country=country,
        vat=vat,
        coupon=coupon,
        coupon_error=coupon_error,
        line_keys=tuple(li.key for li in lines),
    )


# --- reservations --------------------------------------------------------------------------------


def coupon_reserve(
    *, coupon: Coupon, order_id: Any, order_number: str, email: str, discount_total: Decimal
) -> CouponRedemption:
    """Hold one use of ``coupon`` for an order being created. Call inside the order's
    transaction after ``coupon_apply(lock=True)`` checked the limits under the row lock;
    the single-use constraint backs the count."""
    return CouponRedemption.objects.create(
        coupon=coupon,
        order_id=order_id,
        order_number=order_number,
        email=email.strip(),
        single_use=coupon.single_use,
        discount_total=discount_total,
        status=RedemptionStatus.RESERVED,
    )


def coupon_redemption_release(*, order_id: Any) -> int:
    """Give back the use an unpaid order held (payment failed, expired, cancelled)."""
    return CouponRedemption.objects.filter(
        order_id=order_id, status=RedemptionStatus.RESERVED
    ).update(status=RedemptionStatus.RELEASED, updated_at=timezone.now())


def coupon_redemption_redeem(*, order_id: Any) -> list[str]:
    """Mark the order's redemption used (on payment). A use released earlier (a failed
    attempt paid after all) is taken back when the limits still allow it; otherwise it
    stays released and the coupon codes are returned so the caller can alert staff."""
    over: list[str] = []
    for redemption in CouponRedemption.objects.filter(order_id=order_id).select_related("coupon"):
        if redemption.status == RedemptionStatus.REDEEMED:
            continue
        if redemption.status == RedemptionStatus.RELEASED:
            coupon = Coupon.objects.select_for_update().get(pk=redemption.coupon_id)
            used, _by_email = coupon_usage_counts(coupon=coupon)
            if coupon.max_redemptions is not None and used >= coupon.max_redemptions:
                over.append(coupon.code)
                continue
        redemption.status = RedemptionStatus.REDEEMED
        try:
            with transaction.atomic():
                redemption.save(update_fields=["status", "updated_at"])
        except IntegrityError:
            over.append(redemption.coupon.code)
    return over


# --- campaign batches ----------------------------------------------------------------------------

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def coupon_batch_generate(*, batch: CouponBatch, actor: Any = None) -> int:
    """Create the batch's single-use codes (once; calling again adds nothing)."""
    with transaction.atomic():
        locked = CouponBatch.objects.select_for_update().get(pk=batch.pk)
        missing = locked.count - locked.coupons.count()
        made = 0
        while made < missing:
            code = (locked.prefix or "").upper() + "".join(
                secrets.choice(CODE_ALPHABET) for _ in range(10)
            )
            if Coupon.objects.filter(code=code).exists():
                continue
            Coupon.objects.create(
                code=code,
                kind=locked.kind,
                value=locked.value,
                currency=locked.currency,
                minimum_amount=locked.minimum_amount,
                valid_from=locked.valid_from,
                valid_until=locked.valid_until,
                max_redemptions=1,
                max_redemptions_per_customer=1,
                batch=locked,
            )
            made += 1
        if made:
            locked.generated_at = timezone.now()
            locked.save(update_fields=["generated_at"])
    return made


def coupon_batch_csv(*, batches: Iterable[CouponBatch]) -> str:
    """The codes of ``batches`` as CSV: campaign, code, kind, value, currency, valid until, used."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["campaign", "code", "kind", "value", "currency", "valid_until", "used"])
    for batch in batches:
        coupons = batch.coupons.order_by("code").prefetch_related("redemptions")
        for coupon in coupons:
            used = any(r.status == RedemptionStatus.REDEEMED for r in coupon.redemptions.all())
            writer.writerow(
                csv_cell_safe(cell)
                for cell in [
                    batch.name,
                    coupon.code,
                    coupon.kind,
                    coupon.value,
                    coupon.currency,
                    coupon.valid_until.isoformat() if coupon.valid_until else "",
                    "yes" if used else "no",
                ]
            )
    return out.getvalue()


def cart_price_lines(*, cart: Any) -> list[PriceLineIn]:
    """The basket of a storefront cart (prices read from the database by ``cart_get``)."""
    return [
        PriceLineIn(
            key=line.product.pk,
            product_id=line.product.pk,
            category_id=line.product.category_id,
            unit_gross=line.unit_price,
            quantity=line.quantity,
        )
        for line in cart.lines
    ]


def cart_quote(
    *,
    cart: Any,
    billing_country: str = "",
    vat_number: str = "",
    coupon_code: str = "",
    email: str = "",
    lock_coupon: bool = False,
    coupon_required: bool = False,
) -> Quote:
    """``pricing_quote`` for a storefront cart."""
    return pricing_quote(
        lines=cart_price_lines(cart=cart),
        currency=cart.currency,
        billing_country=billing_country,
        vat_number=vat_number,
        coupon_code=coupon_code,
        email=email,
        lock_coupon=lock_coupon,
        coupon_required=coupon_required,
    )

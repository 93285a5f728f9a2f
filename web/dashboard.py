"""The staff dashboard (the admin's front page): every figure it shows, read in SQL.

This module sits on the top floor (it reads orders, refunds, keys and the catalog) and
writes nothing. Each selector runs a fixed number of queries whatever the number of
orders, claims or keys: totals are aggregated in the database (``aggregate``,
``annotate``, ``TruncDate`` in the store's time zone), never summed row by row in Python.

Definitions (shown on the page too):

* a period is the last N calendar days in the store's time zone, today included ("today"
  is since local midnight), up to now;
* revenue and orders: orders whose payment arrived in the period (``paid_at``), whatever
  happened to them since; average order value = revenue / orders, per currency;
* refunds: refunds that succeeded, created in the period; refund rate = refunded amount /
  revenue of the same currency in the period;
* claims opened (submitted in the period), decided (``decided_at`` in the period) and the
  median time from submission to decision of the claims decided in the period;
* stock cover: sellable keys / units sold per day over the last ``VELOCITY_DAYS`` days.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from core.money import money_quantize
from keys.models import Key, KeyBatch, KeyStatus
from keys.selectors import key_sellable_q
from orders.models import Order, OrderLine, OrderStatus, Refund, RefundStatus
from refunds.models import OPEN_CLAIM_STATUSES, Claim, ClaimReason, Dispute

VELOCITY_DAYS = 30
PERIODS = {
    "today": (1, _("Today")),
    "7": (7, _("7 days")),
    "30": (30, _("30 days")),
    "90": (90, _("90 days")),
}
DEFAULT_PERIOD = "7"
CHART_ROWS = 10  # bars in the per-reason, per-batch and stock-cover charts
DISPUTE_NEEDS_RESPONSE = ("needs_response", "warning_needs_response")


# --------------------------------------------------------------------------- period


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    days: int
    start: datetime  # aware, local midnight of the first day
    end: datetime  # aware, now
    first_day: date
    last_day: date


def dashboard_period_get(*, key: str | None, now: datetime, tz: ZoneInfo) -> Period:
    """The period named ``key`` (an unknown key is the default), in the store's zone."""
    key = key if key in PERIODS else DEFAULT_PERIOD
    days, label = PERIODS[key]
    last_day = now.astimezone(tz).date()
    first_day = last_day - timedelta(days=days - 1)
    start = datetime.combine(first_day, time.min, tzinfo=tz)
    return Period(
        key=key,
        label=str(label),
        days=days,
        start=start,
        end=now,
        first_day=first_day,
        last_day=last_day,
    )


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    revenue: Decimal
    orders: int
    refunded: Decimal
    refunds: int

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.orders:
            return None
        return money_quantize(amount=self.revenue / self.orders, currency=self.currency)

    @property
    def refund_rate(self) -> Decimal | None:
        """Refunded amount as a percentage of revenue (one decimal)."""
        if not self.revenue:
            return None
        return (self.refunded * 100 / self.revenue).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Figures:
    by_currency: list[CurrencyFigures]
    orders: int
    refunds: int
    claims_opened: int
    claims_decided: int
    median_decision_hours: float | None
    disputes_opened: int


class _Median(Aggregate):
    """PostgreSQL's exact median of an interval, in seconds."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM %(expressions)s))"
    output_field = FloatField()


def _median_decision_seconds(*, claims: QuerySet) -> float | None:
    """Median seconds from submission to decision, in one query."""
    took = ExpressionWrapper(F("decided_at") - F("created_at"), output_field=DurationField())
    if connection.vendor == "postgresql":
        return claims.aggregate(m=_Median(took))["m"]
    # SQLite has no ordered-set aggregate: the durations come back in one query.
    durations = [
        d.total_seconds() for d in claims.annotate(took=took).values_list("took", flat=True)
    ]
    return statistics.median(durations) if durations else None


def _money(amount, currency: str) -> Decimal:
    """A sum from the database at the currency's precision (SQLite sums lose the scale)."""
    return money_quantize(amount=amount or 0, currency=currency or "EUR")


def dashboard_sales_get(*, period: Period) -> list[dict]:
    """Orders paid and revenue per local day and currency of the period (one query);
    the totals and the per-day chart are both read from these rows."""
    return list(
        Order.objects.filter(paid_at__gte=period.start, paid_at__lt=period.end)
        .annotate(day=TruncDate("paid_at", tzinfo=period.start.tzinfo))
        .values("day", "currency")
        .annotate(n=Count("id"), revenue=Sum("total"))
        .order_by()
    )


def dashboard_figures_get(*, period: Period, sales_rows: list[dict]) -> Figures:
    """Revenue, orders, AOV (from ``sales_rows``), refunds, claims and disputes of the
    period (4 queries)."""
    in_period = {"gte": period.start, "lt": period.end}
    sales: dict[str, dict] = {}
    for row in sales_rows:
        total = sales.setdefault(row["currency"], {"revenue": Decimal("0"), "n": 0})
        total["revenue"] += row["revenue"] or 0
        total["n"] += row["n"]
    refunds = {
        row["currency"]: row
        for row in Refund.objects.filter(
            status=RefundStatus.SUCCEEDED,
            created_at__gte=in_period["gte"],
            created_at__lt=in_period["lt"],
        )
        .values("currency")
        .annotate(amount=Sum("amount"), n=Count("id"))
        .order_by()
    }
    by_currency = [
        CurrencyFigures(
            currency=currency,
            revenue=_money(sales.get(currency, {}).get("revenue"), currency),
            orders=sales.get(currency, {}).get("n") or 0,
            refunded=_money(refunds.get(currency, {}).get("amount"), currency),
            refunds=refunds.get(currency, {}).get("n") or 0,
        )
        for currency in sorted(set(sales) | set(refunds))
    ]
    by_currency.sort(key=lambda f: (-f.orders, f.currency))
    claims = Claim.objects.aggregate(
        opened=Count("id", filter=Q(created_at__gte=period.start, created_at__lt=period.end)),
        decided=Count("id", filter=Q(decided_at__gte=period.start, decided_at__lt=period.end)),
    )
    median = _median_decision_seconds(
        claims=Claim.objects.filter(decided_at__gte=period.start, decided_at__lt=period.end)
    )
    disputes = Dispute.objects.filter(
        created_at__gte=period.start, created_at__lt=period.end
    ).count()
    return Figures(
        by_currency=by_currency,
        orders=sum(f.orders for f in by_currency),
        refunds=sum(f.refunds for f in by_currency),
        claims_opened=claims["opened"],
        claims_decided=claims["decided"],
        median_decision_hours=round(median / 3600, 1) if median is not None else None,
        disputes_opened=disputes,
    )


# --------------------------------------------------------------------------- attention


@dataclass(frozen=True)
class Attention:
    held_orders: int
    backorders: int
    claims_overdue: int
    claims_due_soon: int
    disputes_evidence_due: int
    low_stock: int

    @property
    def total(self) -> int:
        return (
            self.held_orders
            + self.backorders
            + self.claims_overdue
            + self.claims_due_soon
            + self.disputes_evidence_due
            + self.low_stock
        )


def dashboard_attention_get(*, now: datetime, low_stock: int) -> Attention:
    """What needs a person now (3 queries; ``low_stock`` comes from the stock rows)."""
    orders = dict(
        Order.objects.filter(status__in=[OrderStatus.ON_HOLD, OrderStatus.BACKORDERED])
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "n")
    )
    claims = Claim.objects.filter(
        status__in=OPEN_CLAIM_STATUSES, verification_due_at__isnull=False
    ).aggregate(
        overdue=Count("id", filter=Q(verification_due_at__lt=now)),
        soon=Count(
            "id",
            filter=Q(
                verification_due_at__gte=now, verification_due_at__lt=now + timedelta(hours=24)
            ),
        ),
    )
    disputes = Dispute.objects.filter(
        status__in=DISPUTE_NEEDS_RESPONSE, submitted_at__isnull=True
    ).count()
    return Attention(
        held_orders=orders.get(OrderStatus.ON_HOLD, 0),
        backorders=orders.get(OrderStatus.BACKORDERED, 0),
        claims_overdue=claims["overdue"],
        claims_due_soon=claims["soon"],
        disputes_evidence_due=disputes,
        low_stock=low_stock,
    )


# --------------------------------------------------------------------------- stock


def stock_cover_days(*, stock: int, sold_recent: int) -> float | None:
    """Days the sellable stock lasts at the sales rate of the last VELOCITY_DAYS days
    (None when nothing sold: no rate to divide by)."""
    return stock * VELOCITY_DAYS / sold_recent if sold_recent else None


def product_stock_annotate(*, queryset: QuerySet, now: datetime, tz: ZoneInfo) -> QuerySet:
    """Products with ``stock`` (sellable keys), ``reserved`` (held for a fraud check) and
    ``sold_recent`` (units paid for in the last VELOCITY_DAYS days), as correlated
    subqueries: no query per row (the admin's product list filters and sorts on them)."""

    def per_product(qs: QuerySet, value) -> Coalesce:
        rows = qs.filter(product=OuterRef("pk")).order_by().values("product")
        return Coalesce(Subquery(rows.annotate(v=value).values("v")[:1]), Value(0))

    today = now.astimezone(tz).date()
    return queryset.annotate(
        stock=per_product(Key.objects.filter(key_sellable_q(today=today)), Count("id")),
        reserved=per_product(Key.objects.filter(status=KeyStatus.RESERVED), Count("id")),
        sold_recent=per_product(
            OrderLine.objects.filter(order__paid_at__gte=now - timedelta(days=VELOCITY_DAYS)),
            Sum("quantity"),
        ),
    )


@dataclass(frozen=True)
class StockRow:
    product_id: int
    name: str
    threshold: int
    stock: int
    reserved: int
    sold_recent: int

    @property
    def low(self) -> bool:
        return self.stock <= self.threshold

    @property
    def cover_days(self) -> float | None:
        return stock_cover_days(stock=self.stock, sold_recent=self.sold_recent)


def dashboard_stock_get(*, now: datetime, tz: ZoneInfo) -> list[StockRow]:
    """Every product on sale with its stock, reserved keys and recent sales (4 grouped
    queries: one pass over each table instead of a subquery per product)."""
    products = list(
        Product.objects.filter(is_active=True)
        .order_by("name")
        .values_list("pk", "name", "low_stock_threshold")
    )
    ids = [p[0] for p in products]

    def per_product(qs: QuerySet, value) -> dict[int, int]:
        rows = qs.filter(product_id__in=ids).values("product_id").annotate(v=value).order_by()
        return {row["product_id"]: row["v"] for row in rows}

    stock = per_product(
        Key.objects.filter(key_sellable_q(today=now.astimezone(tz).date())), Count("id")
    )
    reserved = per_product(Key.objects.filter(status=KeyStatus.RESERVED), Count("id"))
    sold = per_product(
        OrderLine.objects.filter(order__paid_at__gte=now - timedelta(days=VELOCITY_DAYS)),
        Sum("quantity"),
    )
    return [
        StockRow(
            product_id=pk,
            name=name,
            threshold=threshold,
            stock=stock.get(pk, 0),
            reserved=reserved.get(pk, 0),
            sold_recent=sold.get(pk, 0) or 0,
        )
        for pk, name, threshold in products
    ]


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class DayBar:
    day: date
    orders: int
    revenue: Decimal
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0
    labelled: bool = False  # the x axis names this day

    @property
    def label_x(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    display: str
    tone: str = ""  # a CSS class: "", "warn", "bad"
    url: str = ""
    y: float = 0
    width: float = 0

    @property
    def value_x(self) -> float:
        return round(BAR_LEFT + self.width + 6, 1)

    @property
    def text_y(self) -> float:
        return self.y + 17

    @property
    def bar_y(self) -> float:
        return self.y + 5


@dataclass
class BarChart:
    rows: list[Bar] = field(default_factory=list)
    height: int = 0
    marker_x: float | None = None  # a threshold line, when the chart has one
    marker_label: str = ""


CHART_WIDTH = 1000  # sales per day: bars in 1000 x 170, day labels below
DAY_CHART_HEIGHT = 170
BAR_LEFT = 220  # horizontal charts: label column 220, bars 250, value 130 (of 600)
BAR_AREA = 250
ROW_HEIGHT = 26


def dashboard_sales_per_day_get(
    *, period: Period, sales_rows: list[dict], currency: str
) -> list[DayBar]:
    """Orders and revenue of ``currency`` per local day of the period, every day present,
    with bar geometry for the SVG (no query: read from ``dashboard_sales_get``)."""
    rows = {row["day"]: row for row in sales_rows if row["currency"] == currency}
    days = [period.first_day + timedelta(days=i) for i in range(period.days)]
    top = max((rows[d]["revenue"] for d in days if d in rows), default=Decimal("0")) or Decimal("1")
    slot = CHART_WIDTH / len(days)
    step = 1 if len(days) <= 10 else 7
    bars = []
    for i, day in enumerate(days):
        row = rows.get(day, {})
        revenue = _money(row.get("revenue"), currency or "")
        height = round(float(revenue / top) * DAY_CHART_HEIGHT, 1)
        bars.append(
            DayBar(
                day=day,
                orders=row.get("n") or 0,
                revenue=revenue,
                x=round(i * slot + slot * 0.15, 1),
                width=round(max(slot * 0.7, 1), 1),
                y=round(DAY_CHART_HEIGHT - height, 1),
                height=height,
                labelled=(len(days) - 1 - i) % step == 0,
            )
        )
    return bars


def _bar_chart(rows: list[Bar], *, top: float | None = None) -> BarChart:
    top = top or max((r.value for r in rows), default=0) or 1
    placed = [
        Bar(
            label=r.label,
            value=r.value,
            display=r.display,
            tone=r.tone,
            url=r.url,
            y=i * ROW_HEIGHT,
            width=round(min(r.value / top, 1) * BAR_AREA, 1),
        )
        for i, r in enumerate(rows)
    ]
    return BarChart(rows=placed, height=max(len(placed), 1) * ROW_HEIGHT)


def dashboard_claims_per_reason_get(*, period: Period) -> BarChart:
    """Claims submitted in the period per reason, most frequent first (one query)."""
    labels = dict(ClaimReason.choices)
    rows = (
        Claim.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n", "reason")[:CHART_ROWS]
    )
    return _bar_chart(
        [
            Bar(
                label=str(labels.get(r["reason"], r["reason"])),
                value=r["n"],
                display=str(r["n"]),
                url=f"{reverse('admin:refunds_claim_changelist')}?reason__exact={r['reason']}",
            )
            for r in rows
        ]
    )


@dataclass(frozen=True)
class BatchDefects:
    batch_id: int
    supplier: str
    product: str
    sold: int
    defective: int
    threshold: Decimal | None
    quarantined: bool

    @property
    def rate(self) -> float:
        return self.defective * 100 / self.sold if self.sold else 0.0


def dashboard_batch_defects_get() -> list[BatchDefects]:
    """Batches with at least one confirmed-defective key, worst rate first (one query)."""
    qs = (
        KeyBatch.objects.annotate(
            sold=Count(
                "keys",
                filter=Q(keys__order_line__isnull=False) & ~Q(keys__status=KeyStatus.RESERVED),
            ),
            defective=Count("keys", filter=Q(keys__status=KeyStatus.DEFECTIVE)),
        )
        .filter(defective__gt=0, sold__gt=0)
        .annotate(rate=Cast(F("defective"), FloatField()) / F("sold"))
        .order_by("-rate", "-defective", "id")
        .values_list(
            "pk",
            "supplier__name",
            "product__name",
            "sold",
            "defective",
            "supplier__defect_quarantine_percent",
            "is_quarantined",
        )[:CHART_ROWS]
    )
    return [BatchDefects(*row) for row in qs]


def _defect_chart(batches: list[BatchDefects]) -> BarChart:
    rows = []
    for b in batches:
        over = b.threshold is not None and b.rate >= float(b.threshold)
        rows.append(
            Bar(
                label=f"{b.supplier} · #{b.batch_id} {b.product}",
                value=b.rate,
                display=f"{b.rate:.1f}% ({b.defective}/{b.sold})",
                tone="bad" if over or b.quarantined else ("warn" if b.rate >= 5 else ""),
                url=reverse("admin:keys_keybatch_change", args=[b.batch_id]),
            )
        )
    top = max([r.value for r in rows] + [10.0])
    return _bar_chart(rows, top=top)


def _cover_chart(stock: list[StockRow]) -> BarChart:
    """Products with the fewest days of cover first (those that sell)."""
    selling = sorted(
        ((s.cover_days, s) for s in stock if s.cover_days is not None),
        key=lambda pair: (pair[0], pair[1].name),
    )[:CHART_ROWS]
    rows = [
        Bar(
            label=s.name,
            value=min(days, 90.0),
            display=_("%(days)s days (%(stock)s keys)") % {"days": f"{days:.1f}", "stock": s.stock},
            tone="bad" if days < 7 else ("warn" if days < 14 else ""),
            url=reverse("admin:storefront_product_change", args=[s.product_id]),
        )
        for days, s in selling
    ]
    chart = _bar_chart(rows, top=90.0)
    return chart


# --------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class Dashboard:
    period: Period
    figures: Figures
    attention: Attention
    sales: list[DayBar]
    sales_currency: str
    sales_top: Decimal
    claims_per_reason: BarChart
    batch_defects: list[BatchDefects]
    defect_chart: BarChart
    stock: list[StockRow]
    cover_chart: BarChart
    periods: list[tuple[str, str]]


def dashboard_get(*, period_key: str | None, now: datetime, tz: ZoneInfo) -> Dashboard:
    """Everything the front page shows, in 14 queries whatever the data size."""
    period = dashboard_period_get(key=period_key, now=now, tz=tz)
    sales_rows = dashboard_sales_get(period=period)
    figures = dashboard_figures_get(period=period, sales_rows=sales_rows)
    currency = figures.by_currency[0].currency if figures.by_currency else ""
    sales = dashboard_sales_per_day_get(period=period, sales_rows=sales_rows, currency=currency)
    stock = dashboard_stock_get(now=now, tz=tz)
    batches = dashboard_batch_defects_get()
    return Dashboard(
        period=period,
        figures=figures,
        attention=dashboard_attention_get(now=now, low_stock=sum(1 for s in stock if s.low)),
        sales=sales,
        sales_currency=currency,
        sales_top=max((d.revenue for d in sales), default=Decimal("0")),
        claims_per_reason=dashboard_claims_per_reason_get(period=period),
        batch_defects=batches,
        defect_chart=_defect_chart(batches),
        stock=stock,
        cover_chart=_cover_chart(stock),
        periods=[(key, str(label)) for key, (_days, label) in PERIODS.items()],
    )

"""Policy presets as data: the schema of a preset and its typed, validated form.

A preset is a JSON object (``policies/presets/<slug>.json``, and the ``rules`` column of
``PolicyPreset``). ``rules_parse`` checks it against the schema below and returns a frozen
``PresetRules`` the decision engine reads. Nothing here touches the database.

Every reason a preset covers has a *treatment*, the generic path the engine takes:

| treatment      | meaning                                                                 |
|----------------|-------------------------------------------------------------------------|
| ``remedy``     | a fault in the key: the remedy ladder (replacement first, then refund)  |
| ``refund``     | a refund without the ladder (double payment, the store's own error)     |
| ``exchange``   | swap for the product the customer meant to buy                           |
| ``support``    | troubleshooting / help only, no remedy                                   |
| ``non_delivery``| the key never arrived: wait for the promise, then the non-delivery remedy|
| ``cancellation``| cancel before delivery when the preset allows it, else refused           |
| ``reject``     | excluded by the policy                                                   |

A reason absent from ``reasons`` is not covered by the policy and is refused with the
preset's ``not_covered`` clause: a preset never inherits another store's rule.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .i18n import language_active

PRESETS_DIR = Path(__file__).resolve().parent / "presets"

REASONS: tuple[str, ...] = (
    "key_invalid",
    "key_already_used",
    "code_expired",
    "wrong_product_sent",
    "not_delivered",
    "double_charge",
    "store_error",
    "technical_problem",
    "activation_problem",
    "wrong_purchase",
    "incompatible",
    "change_of_mind",
    "misuse",
    "software_usage",
    "lost_code",
    "wrong_account",
    "shared_code",
    "cancel_request",
)


class Outcome(StrEnum):
    """What the engine decides for a claim (policy-decisions.md). The values are stored on
    claims (``submitted_outcome``, ``recommendation_outcome``) and in event data: never
    change one."""

    REPLACE = "replace"
    REFUND = "refund"
    EXCHANGE = "exchange"
    CANCEL = "cancel"
    VERIFY = "verify"
    SUPPORT = "support"
    REJECT = "reject"


class Treatment(StrEnum):
    """The generic path the engine takes for a reason (the table above); preset data."""

    REMEDY = "remedy"
    REFUND = "refund"
    EXCHANGE = "exchange"
    SUPPORT = "support"
    NON_DELIVERY = "non_delivery"
    CANCELLATION = "cancellation"
    REJECT = "reject"


TREATMENTS = tuple(t.value for t in Treatment)
REMEDY_OUTCOMES = frozenset({Outcome.REPLACE, Outcome.REFUND, Outcome.EXCHANGE, Outcome.CANCEL})
WINDOW_ANCHORS = ("purchase", "failure", "none")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME_UNITS = ("days", "hours")
DOCUMENT_KINDS = ("refund", "delivery", "warranty", "terms", "privacy")
CONSENT_KINDS = ("policy_acceptance", "immediate_delivery_consent", "withdrawal_waiver")
TEXT_LANGUAGES = ("en", "fr", "ar")
NON_DELIVERY_REMEDIES = (Outcome.REFUND.value, Outcome.REPLACE.value, Outcome.SUPPORT.value)
# Preset settings a seed may leave unstated; a preset names the ones that are the shop's
# own choice (``shop_choices``) so the admin and the policy page can say so.
SHOP_CHOICE_FIELDS = (
    "calendar.time_zone",
    "calendar.working_days",
    "calendar.opening_hours",
    "verification.amount",
    "delivery.non_delivery_deadline_hours",
)

# Which treatments a claim window and an activated key apply to, unless a reason says.
_WINDOWED_BY_DEFAULT = frozenset(
    {Treatment.REMEDY, Treatment.REFUND, Treatment.EXCHANGE, Treatment.NON_DELIVERY}
)
_ACTIVATION_BLOCKS_BY_DEFAULT = frozenset({Treatment.REMEDY, Treatment.EXCHANGE})


class PresetError(ValueError):
    """The preset data does not match the schema; the message starts with the field path."""


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    document: str


@dataclass(frozen=True)
class Window:
    """A claim window: ``days`` counted from the purchase or the failure, or no window."""

    days: int | None
    anchor: str
    clause: str | None

    def deadline(
        self, *, purchased_at: datetime, failed_at: datetime | None, now: datetime
    ) -> datetime | None:
        """The last moment a claim is inside the window, or None when there is no window.

        Counted in exact days (24 h each). With a window counted from the failure and no
        failure time given, the claim itself is the report of the failure (``now``).
        """
        if self.anchor == "none" or self.days is None:
            return None
        start = purchased_at if self.anchor == "purchase" else (failed_at or now)
        return start + timedelta(days=self.days)

    def contains(
        self, *, purchased_at: datetime, failed_at: datetime | None, now: datetime
    ) -> bool:
        deadline = self.deadline(purchased_at=purchased_at, failed_at=failed_at, now=now)
        return deadline is None or now <= deadline


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str
    working_days: tuple[int, ...]  # 0 = Monday, as datetime.weekday()
    opens: time
    closes: time | None  # None = midnight at the end of the day (24:00)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class Duration:
    amount: int | None
    unit: str
    clause: str | None


@dataclass(frozen=True)
class Text:
    """A text a preset shows customers, in every language the shop speaks.

    In the preset data it is either a string (English only) or an object
    ``{"en": ..., "fr": ..., "ar": ...}`` (English required). ``str(text)`` is the
    active language's version, falling back to English, so templates and emails render
    ``{{ rules.delivery.promise_text }}`` in the customer's language; ``text.get("fr")``
    names one language.
    """

    translations: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, value: str | dict[str, str]) -> Text:
        if isinstance(value, str):
            return cls((("en", value),))
        return cls(
            tuple((language, value[language]) for language in TEXT_LANGUAGES if value.get(language))
        )

    def get(self, language: str | None) -> str:
        texts = dict(self.translations)
        base = (language or "en").split("-")[0]
        return texts.get(base) or texts.get("en", "")

    def language_of(self, language: str | None) -> str:
        """The language ``get(language)`` actually answers in (``en`` when it falls back)."""
        base = (language or "en").split("-")[0]
        return base if dict(self.translations).get(base) else "en"

    def __str__(self) -> str:
        return self.get(language_active())

    def __bool__(self) -> bool:
        return bool(self.get("en"))

    def __contains__(self, part: str) -> bool:
        return any(part in text for _, text in self.translations)


@dataclass(frozen=True)
class Delivery:
    promise_text: Text
    promise_seconds: int | None
    non_delivery_deadline_hours: int | None
    non_delivery_remedy: str  # "refund" | "replace" | "support" (help and resend only)
    clause: str


@dataclass(frozen=True)
class RemedyLadder:
    replacement_first: bool
    max_replacements: int | None  # None = no limit: replace while an equivalent key exists
    refund_when_replacement_fails: bool
    refund_when_out_of_stock: bool
    refund_requires_confirmation: bool
    refund_window: Window
    replace_clause: str
    refund_clause: str


@dataclass(frozen=True)
class FinalityRule:
    enabled: bool
    unless_confirmed_defective: bool
    clause: str | None


@dataclass(frozen=True)
class Cancellation:
    before_delivery: bool
    clause: str


@dataclass(frozen=True)
class ReasonRule:
    treatment: str
    clause: str
    verify: bool = False
    support_first: bool = False
    support_clause: str | None = None
    refund_clause: str | None = None  # overrides remedy.refund_clause for this reason
    windowed: bool = False
    activation_blocks: bool = False


@dataclass(frozen=True)
class RefundProcessing:
    min_days: int | None
    max_days: int | None
    unit: str  # "business_days" | "working_days"
    bank_extra_days: tuple[int, int] | None
    clause: str | None


@dataclass(frozen=True)
class Chargeback:
    revoke_key: bool
    suspend_account: bool
    submit_evidence: bool
    clause: str | None


@dataclass(frozen=True)
class Consent:
    kind: str
    required: bool
    clause: str
    legal_basis: Text = Text(())


@dataclass(frozen=True)
class ShopChoice:
    """A preset setting the seed does not state: the value is the shop's own choice."""

    field: str
    note: str


@dataclass(frozen=True)
class PresetRules:
    slug: str
    name: str
    calendar: BusinessCalendar
    claim_window: Window
    verification: Duration
    delivery: Delivery
    remedy: RemedyLadder
    activated_key_final: FinalityRule
    viewed_key_final: FinalityRule
    cancellation: Cancellation
    reasons: dict[str, ReasonRule]
    not_covered_clause: str
    refund_processing: RefundProcessing
    chargeback: Chargeback
    checkout_consents: tuple[Consent, ...]
    contact: dict[str, Any]
    clauses: tuple[Clause, ...]
    shop_choices: tuple[ShopChoice, ...] = ()
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False, default_factory=dict)

    @property
    def covered_reasons(self) -> frozenset[str]:
        return frozenset(
            r for r, rule in self.reasons.items() if rule.treatment != Treatment.REJECT
        )

    @property
    def excluded_reasons(self) -> frozenset[str]:
        return frozenset(
            r for r, rule in self.reasons.items() if rule.treatment == Treatment.REJECT
        )

    @property
    def verification_required_reasons(self) -> frozenset[str]:
        return frozenset(r for r, rule in self.reasons.items() if rule.verify)

    @property
    def support_first_reasons(self) -> frozenset[str]:
        return frozenset(r for r, rule in self.reasons.items() if rule.support_first)

    @property
    def exchange_for_wrong_purchase(self) -> bool:
        rule = self.reasons.get("wrong_purchase")
        return rule is not None and rule.treatment == Treatment.EXCHANGE

    def clause_get(self, clause_id: str) -> Clause | None:
        return next((c for c in self.clauses if c.id == clause_id), None)


# --- parsing ---------------------------------------------------------------------------


class _Reader:
    """Reads one JSON object, naming the full field path in every error.

    Its ``str``/``bool``/``int``/``list`` methods shadow the builtins in the class body,
    so annotations after them spell the builtins ``builtins.str`` etc."""

    def __init__(self, data: Any, path: str = "") -> None:
        if not isinstance(data, dict):
            raise PresetError(f"{path or 'preset'}: expected an object")
        self.data = data
        self.path = path

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, default: Any, required: bool) -> Any:
        if key not in self.data:
            if required:
                raise PresetError(f"{self._name(key)}: required")
            return default
        return self.data[key]

    def obj(self, key: str, required: bool = True) -> _Reader:
        return _Reader(self._get(key, {}, required), self._name(key))

    def str(self, key: str, *, required: bool = True, default: str = "", choices=None) -> str:
        value = self._get(key, default, required)
        if not isinstance(value, str):
            raise PresetError(f"{self._name(key)}: expected a string")
        if choices is not None and value not in choices:
            raise PresetError(f"{self._name(key)}: must be one of {', '.join(choices)}")
        return value

    def text(self, key: builtins.str, *, required: builtins.bool = True) -> Text:
        value = self._get(key, "", required)
        if isinstance(value, str):
            return Text.of(value)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise PresetError(f"{self._name(key)}: expected a string or {{language: string}}")
        unknown = sorted(set(value) - set(TEXT_LANGUAGES))
        if unknown:
            raise PresetError(f"{self._name(key)}: unknown language(s) {', '.join(unknown)}")
        if not value.get("en"):
            raise PresetError(
                f"{self._name(key)}.en: required (the text other languages fall back to)"
            )
        return Text.of(value)

    def opt_str(self, key: builtins.str) -> builtins.str | None:
        value = self._get(key, None, False)
        if value is not None and not isinstance(value, str):
            raise PresetError(f"{self._name(key)}: expected a string or null")
        return value

    def bool(
        self, key: builtins.str, *, required: builtins.bool = True, default: builtins.bool = False
    ) -> builtins.bool:
        value = self._get(key, default, required)
        if not isinstance(value, bool):
            raise PresetError(f"{self._name(key)}: expected true or false")
        return value

    def int(
        self, key: builtins.str, *, required: builtins.bool = True, nullable: builtins.bool = False
    ) -> int | None:
        value = self._get(key, None, required)
        if value is None and (nullable or not required):
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PresetError(f"{self._name(key)}: expected a non-negative integer")
        return value

    def list(self, key: builtins.str, *, required: builtins.bool = True) -> list[Any]:
        value = self._get(key, [], required)
        if not isinstance(value, list):
            raise PresetError(f"{self._name(key)}: expected a list")
        return value


def _clock(value: str, name: str) -> time | None:
    if value == "24:00":
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise PresetError(f"{name}: expected HH:MM") from None


def _calendar(r: _Reader) -> BusinessCalendar:
    tz_name = r.str("time_zone")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PresetError(f"{r._name('time_zone')}: unknown time zone {tz_name!r}") from None
    days = r.list("working_days")
    if not days or any(d not in WEEKDAYS for d in days) or len(set(days)) != len(days):
        raise PresetError(f"{r._name('working_days')}: a non-empty list of {', '.join(WEEKDAYS)}")
    hours = r.obj("opening_hours")
    opens = _clock(hours.str("open"), hours._name("open"))
    closes = _clock(hours.str("close"), hours._name("close"))
    if opens is None:
        raise PresetError(f"{hours._name('open')}: cannot be 24:00")
    if closes is not None and closes <= opens:
        raise PresetError(f"{hours._name('close')}: must be after opening time")
    return BusinessCalendar(
        time_zone=tz_name,
        working_days=tuple(sorted(WEEKDAYS.index(d) for d in days)),
        opens=opens,
        closes=closes,
    )


def _window(r: _Reader) -> Window:
    anchor = r.str("anchor", choices=WINDOW_ANCHORS)
    days = r.int("days", nullable=True)
    if anchor != "none" and days is None:
        raise PresetError(f"{r._name('days')}: required when anchor is {anchor!r}")
    return Window(
        days=days if anchor != "none" else None, anchor=anchor, clause=r.opt_str("clause")
    )


def _reason(r: _Reader) -> ReasonRule:
    treatment = r.str("treatment", choices=TREATMENTS)
    return ReasonRule(
        treatment=treatment,
        clause=r.str("clause"),
        verify=r.bool("verify", required=False),
        support_first=r.bool("support_first", required=False),
        support_clause=r.opt_str("support_clause"),
        refund_clause=r.opt_str("refund_clause"),
        windowed=r.bool("windowed", required=False, default=treatment in _WINDOWED_BY_DEFAULT),
        activation_blocks=r.bool(
            "activation_blocks", required=False, default=treatment in _ACTIVATION_BLOCKS_BY_DEFAULT
        ),
    )


def _shop_choices(r: _Reader) -> tuple[ShopChoice, ...]:
    choices = r.obj("shop_choices", required=False)
    out = []
    for name in choices.data:
        if name not in SHOP_CHOICE_FIELDS:
            raise PresetError(
                f"shop_choices.{name}: must be one of {', '.join(SHOP_CHOICE_FIELDS)}"
            )
        out.append(ShopChoice(field=name, note=choices.str(name)))
    return tuple(out)


def rules_parse(data: Any) -> PresetRules:
    """Validate preset data against the schema and return the typed rules."""
    r = _Reader(data)
    slug = r.str("slug")
    if not slug or not slug.isidentifier() or slug != slug.lower():
        raise PresetError("slug: lower-case letters, digits and underscores")

    clauses = []
    for i, item in enumerate(r.list("clauses")):
        c = _Reader(item, f"clauses[{i}]")
        clause = Clause(
            id=c.str("id"), title=c.str("title"), document=c.str("document", choices=DOCUMENT_KINDS)
        )
        if not clause.id.startswith(f"{slug}."):
            raise PresetError(f"clauses[{i}].id: must start with {slug!r}.")
        clauses.append(clause)
    clause_ids = {c.id for c in clauses}
    if len(clause_ids) != len(clauses):
        raise PresetError("clauses: duplicate clause id")

    reasons_reader = r.obj("reasons")
    reasons = {}
    for name in reasons_reader.data:
        if name not in REASONS:
            raise PresetError(f"reasons.{name}: unknown reason")
        reasons[name] = _reason(reasons_reader.obj(name))

    remedy = r.obj("remedy")
    delivery = r.obj("delivery")
    verification = r.obj("verification")
    activated = r.obj("activated_key_final")
    viewed = r.obj("viewed_key_final")
    cancellation = r.obj("cancellation")
    processing = r.obj("refund_processing")
    chargeback = r.obj("chargeback")
    bank_extra = processing.list("bank_extra_days", required=False) or None
    if bank_extra is not None and (
        len(bank_extra) != 2 or not all(isinstance(n, int) and n >= 0 for n in bank_extra)
    ):
        raise PresetError("refund_processing.bank_extra_days: [min, max]")

    rules = PresetRules(
        slug=slug,
        name=r.str("name"),
        calendar=_calendar(r.obj("calendar")),
        claim_window=_window(r.obj("claim_window")),
        verification=Duration(
            amount=verification.int("amount", nullable=True),
            unit=verification.str("unit", choices=TIME_UNITS),
            clause=verification.opt_str("clause"),
        ),
        delivery=Delivery(
            promise_text=delivery.text("promise_text"),
            promise_seconds=delivery.int("promise_seconds", nullable=True),
            non_delivery_deadline_hours=delivery.int("non_delivery_deadline_hours", nullable=True),
            non_delivery_remedy=delivery.str("non_delivery_remedy", choices=NON_DELIVERY_REMEDIES),
            clause=delivery.str("clause"),
        ),
        remedy=RemedyLadder(
            replacement_first=remedy.bool("replacement_first"),
            max_replacements=remedy.int("max_replacements", nullable=True),
            refund_when_replacement_fails=remedy.bool("refund_when_replacement_fails"),
            refund_when_out_of_stock=remedy.bool("refund_when_out_of_stock"),
            refund_requires_confirmation=remedy.bool("refund_requires_confirmation"),
            refund_window=_window(remedy.obj("refund_window")),
            replace_clause=remedy.str("replace_clause"),
            refund_clause=remedy.str("refund_clause"),
        ),
        activated_key_final=FinalityRule(
            enabled=activated.bool("enabled"),
            unless_confirmed_defective=activated.bool("unless_confirmed_defective"),
            clause=activated.opt_str("clause"),
        ),
        viewed_key_final=FinalityRule(
            enabled=viewed.bool("enabled"),
            unless_confirmed_defective=False,
            clause=viewed.opt_str("clause"),
        ),
        cancellation=Cancellation(
            before_delivery=cancellation.bool("before_delivery"),
            clause=cancellation.str("clause"),
        ),
        reasons=reasons,
        not_covered_clause=r.str("not_covered_clause"),
        refund_processing=RefundProcessing(
            min_days=processing.int("min_days", nullable=True),
            max_days=processing.int("max_days", nullable=True),
            unit=processing.str("unit", choices=("business_days", "working_days")),
            bank_extra_days=tuple(bank_extra) if bank_extra else None,
            clause=processing.opt_str("clause"),
        ),
        chargeback=Chargeback(
            revoke_key=chargeback.bool("revoke_key"),
            suspend_account=chargeback.bool("suspend_account"),
            submit_evidence=chargeback.bool("submit_evidence"),
            clause=chargeback.opt_str("clause"),
        ),
        checkout_consents=tuple(
            Consent(
                kind=c.str("kind", choices=CONSENT_KINDS),
                required=c.bool("required"),
                clause=c.str("clause"),
                legal_basis=c.text("legal_basis", required=False),
            )
            for c in (
                _Reader(item, f"checkout_consents[{i}]")
                for i, item in enumerate(r.list("checkout_consents"))
            )
        ),
        contact=dict(r.obj("contact").data),
        clauses=tuple(clauses),
        shop_choices=_shop_choices(r),
        raw=data,
    )
    _check_clause_references(rules, clause_ids)
    return rules


def _check_clause_references(rules: PresetRules, clause_ids: set[str]) -> None:
    """Every clause the engine can cite must be a published clause of this preset."""
    refs: list[tuple[str, str | None]] = [
        ("claim_window.clause", rules.claim_window.clause),
        ("verification.clause", rules.verification.clause),
        ("delivery.clause", rules.delivery.clause),
        ("remedy.replace_clause", rules.remedy.replace_clause),
        ("remedy.refund_clause", rules.remedy.refund_clause),
        ("remedy.refund_window.clause", rules.remedy.refund_window.clause),
        ("activated_key_final.clause", rules.activated_key_final.clause),
        ("viewed_key_final.clause", rules.viewed_key_final.clause),
        ("cancellation.clause", rules.cancellation.clause),
        ("not_covered_clause", rules.not_covered_clause),
        ("refund_processing.clause", rules.refund_processing.clause),
        ("chargeback.clause", rules.chargeback.clause),
    ]
    for name, rule in rules.reasons.items():
        refs.append((f"reasons.{name}.clause", rule.clause))
        refs.append((f"reasons.{name}.support_clause", rule.support_clause))
        refs.append((f"reasons.{name}.refund_clause", rule.refund_clause))
    refs += [
        (f"checkout_consents[{i}].clause", c.clause) for i, c in enumerate(rules.checkout_consents)
    ]
    for path, ref in refs:
        if ref is not None and ref not in clause_ids:
            raise PresetError(f"{path}: unknown clause {ref!r}")
    if rules.claim_window.anchor != "none" and not rules.claim_window.clause:
        raise PresetError("claim_window.clause: required with a claim window")
    if rules.activated_key_final.enabled and not rules.activated_key_final.clause:
        raise PresetError("activated_key_final.clause: required when enabled")
    if rules.viewed_key_final.enabled and not rules.viewed_key_final.clause:
        raise PresetError("viewed_key_final.clause: required when enabled")
    if rules.verification.amount is not None and not rules.verification.clause:
        raise PresetError("verification.clause: required with a verification time")


def preset_slugs_shipped() -> list[str]:
    """Slugs of the presets shipped with the project (``policies/presets/*.json``)."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def preset_data_read(slug: str) -> dict[str, Any]:
    """The shipped preset data for ``slug``; raises LookupError for an unknown slug."""
    if slug not in preset_slugs_shipped():
        raise LookupError(slug)
    return json.loads((PRESETS_DIR / f"{slug}.json").read_text(encoding="utf-8"))


def preset_rules_shipped(slug: str) -> PresetRules:
    return rules_parse(preset_data_read(slug))

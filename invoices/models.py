"""Invoices and credit notes: numbered, immutable documents with a snapshot of what they say.

A document is written once, inside the transaction that takes its number from its
series' :class:`DocumentSequence` row (locked), and never changed or deleted afterwards:
``save()`` refuses an update, ``delete()`` refuses, the admin is read-only. Everything
printed (seller, buyer, lines, totals, mentions) lives in ``snapshot``, so a later change
of the shop identity, a product name or a tax rate never changes an issued document.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ImmutableDocumentError(Exception):
    """An issued invoice or credit note cannot be changed or deleted."""


class DocumentSequence(models.Model):
    """The next number of one series (e.g. ``AKM-2026``); locked while a number is taken."""

    series = models.CharField(_("series"), max_length=40, unique=True)
    next_number = models.PositiveIntegerField(_("next number"), default=1)

    class Meta:
        verbose_name = _("document sequence")
        verbose_name_plural = _("document sequences")
        constraints = [
            models.CheckConstraint(condition=Q(next_number__gte=1), name="sequence_next_positive")
        ]

    def __str__(self) -> str:
        return f"{self.series} #{self.next_number}"


class IssuedDocument(models.Model):
    series = models.CharField(_("series"), max_length=40)
    number = models.PositiveIntegerField(_("number"))
    display_number = models.CharField(_("number"), max_length=60, unique=True)
    issued_at = models.DateTimeField(_("issued at"), db_index=True)
    language = models.CharField(_("language"), max_length=8)
    currency = models.CharField(_("currency"), max_length=3)
    buyer_country = models.CharField(_("buyer country"), max_length=2, blank=True, db_index=True)
    tax_treatment = models.CharField(_("tax treatment"), max_length=24, blank=True)
    net_total = models.DecimalField(_("net"), max_digits=12, decimal_places=2)
    tax_total = models.DecimalField(_("tax"), max_digits=12, decimal_places=2)
    gross_total = models.DecimalField(_("gross"), max_digits=12, decimal_places=2)
    snapshot = models.JSONField(_("content as issued"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.display_number

    # save() below only refuses changes to an issued document: a new one may be inserted
    # without it (core.prepared.row_insert); an update always goes through save()
    plain_save_for = frozenset({"insert"})

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableDocumentError(f"{self.display_number} is issued: it cannot change")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableDocumentError(f"{self.display_number} is issued: it cannot be deleted")


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    SIMPLIFIED = "simplified", _("Simplified tax invoice")


class Invoice(IssuedDocument):
    kind = models.CharField(_("kind"), max_length=16, choices=InvoiceKind.choices)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("order")
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        permissions = [("view_vat_report", _("Can see and download the VAT report"))]
        constraints = [
            models.UniqueConstraint(fields=["order"], name="invoice_one_per_order"),
            models.UniqueConstraint(fields=["series", "number"], name="invoice_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="invoice_number_positive"),
        ]
        indexes = [models.Index(fields=["buyer_country", "issued_at"], name="invoice_country_idx")]


class CreditNote(IssuedDocument):
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="credit_notes", verbose_name=_("invoice")
    )
    refund = models.ForeignKey(
        "orders.Refund",
        on_delete=models.PROTECT,
        related_name="credit_notes",
        verbose_name=_("refund"),
    )
    reason = models.CharField(_("reason"), max_length=64)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        constraints = [
            models.UniqueConstraint(fields=["refund"], name="creditnote_one_per_refund"),
            models.UniqueConstraint(fields=["series", "number"], name="creditnote_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="creditnote_number_positive"),
            models.CheckConstraint(condition=Q(gross_total__gt=0), name="creditnote_positive"),
        ]

"""``{{ moment|customer_datetime:time_zone }}``: a date written the one way customers see
dates (the store's zone, the active language), see ``refunds.selectors.customer_datetime``."""

from django import template

from refunds.selectors import customer_datetime as _customer_datetime

register = template.Library()


@register.filter
def customer_datetime(moment, time_zone: str) -> str:
    if not moment:
        return ""
    return _customer_datetime(moment=moment, time_zone=time_zone)

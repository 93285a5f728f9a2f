"""Date and number formats per language (``FORMAT_MODULE_PATH``), one per page.

Django's own English and Arabic formats mix orders ("Nov. 30, 2026, 2:59 a.m." beside
"30 نوفمبر، 2026"); the shop writes every date day-month-year with a 24-hour clock,
as ``core.dates`` does for customers.
"""

# The core app's first migration: an empty root that every core migration builds on.
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations: list = []

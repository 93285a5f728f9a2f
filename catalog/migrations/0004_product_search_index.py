"""A GIN index for the catalog's full-text search, on PostgreSQL only (SQLite searches
with a simple match and has no such index). Built on the very expression
``storefront.selectors.search_document()`` matches against, so the planner uses it."""

from django.db import migrations

INDEX_NAME = "product_search_document_gin"


def _index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    return GinIndex(
        SearchVector("name", "edition", "platform", "sku", "description", config="simple"),
        name=INDEX_NAME,
    )


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("storefront", "Product"), _index())


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("storefront", "Product"), _index())


class Migration(migrations.Migration):
    dependencies = [("storefront", "0003_product_images")]

    operations = [migrations.RunPython(create, drop)]

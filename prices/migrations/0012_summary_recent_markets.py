"""A summary's recent markets, for the new day's statement of prices.writing (RING_DAYS):
a PostgreSQL array the model does not know (no other database writes the set-based way),
empty until that statement builds it from the history."""

from django.db import migrations


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE prices_pricesummary ADD COLUMN recent_markets integer[]")


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE prices_pricesummary DROP COLUMN recent_markets")


class Migration(migrations.Migration):
    dependencies = [("prices", "0011_unmatched_rows_skipped_when_repeated")]

    operations = [migrations.RunPython(add, remove)]

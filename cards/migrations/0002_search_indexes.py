"""Full-text and trigram indexes for catalog search, on PostgreSQL only.

The full-text index is built on exactly the expression cards.search uses
(SearchVector("search_document", config="simple")), so the planner can use it. Other
databases keep working without them; search falls back to substring matching there.
"""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS cards_card_document_fts ON cards_card USING gin "
    "(to_tsvector('simple'::regconfig, COALESCE(search_document, '')))",
    "CREATE INDEX IF NOT EXISTS cards_card_name_trgm ON cards_card USING gin (name gin_trgm_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS cards_card_name_trgm",
    "DROP INDEX IF EXISTS cards_card_document_fts",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("cards", "0001_initial")]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]

"""Existing installs get the PriceCharting console names the shipped catalog files now
carry, for the sets they have; a name staff typed (or curated) is left alone. New installs
get them from `load_catalog`."""

import csv
from pathlib import Path

from django.db import migrations

CATALOG_DIR = Path(__file__).resolve().parent.parent / "catalog"
FILES = {"pokemon": ("pokemon_sets.csv", "id"), "onepiece": ("onepiece_sets.csv", "code")}


def shipped_names():
    for game, (name, code_column) in FILES.items():
        path = CATALOG_DIR / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("pricecharting_name"):
                    yield game, row[code_column], row["pricecharting_name"]


def fill_names(apps, schema_editor):
    CardSet = apps.get_model("cards", "CardSet")
    for game, code, console_name in shipped_names():
        for card_set in CardSet.objects.filter(game=game, code=code, pricecharting_name=""):
            if "pricecharting_name" not in (card_set.curated_fields or []):
                card_set.pricecharting_name = console_name
                card_set.save(update_fields=["pricecharting_name"])


class Migration(migrations.Migration):
    dependencies = [("cards", "0004_curated_fields")]

    operations = [migrations.RunPython(fill_names, migrations.RunPython.noop)]

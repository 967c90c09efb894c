"""Writing a parsed source: compared with the database, the difference written in one
transaction with one bulk query per kind of change.

Fields staff have edited in the admin (curated_fields) are never overwritten, a blank
never clears a value, and loading never deletes.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from cards.loading.reading import Source
from cards.loading.records import SETS
from cards.models import Card, CardSet

BATCH_SIZE = 500
# Card fields computed by Card.refresh_derived_fields(); a reload compares them too, so a
# stale search document gets repaired.
DERIVED_CARD_FIELDS = ("sort_number", "search_document")


def assign(obj, values: Mapping[str, object]) -> set[str]:
    """Set the values that differ; return the names of the fields that changed.

    Fields staff have edited in the admin (curated_fields) are never overwritten.
    """
    changed = set()
    curated = set(obj.curated_fields or ())
    for name, value in values.items():
        if name in curated:
            continue
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.add(name)
    return changed


@dataclass
class Changes:
    """New and changed rows of one model, written with one bulk query per kind."""

    model: type
    new: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)

    def update(self, obj, fields: set[str]) -> None:
        self.changed.append(obj)
        self.changed_fields |= fields

    def write(self) -> None:
        if self.new:
            self.model.objects.bulk_create(self.new, batch_size=BATCH_SIZE)
        if self.changed:
            # bulk_update skips save(), so auto_now has to be done by hand.
            now = timezone.now()
            for obj in self.changed:
                obj.updated = now
            fields = sorted(self.changed_fields | {"updated"})
            self.model.objects.bulk_update(self.changed, fields, batch_size=BATCH_SIZE)


def load(source: Source, *, skip_bad_rows: bool, dry_run: bool) -> None:
    """Compare the source's rows with the database and write the difference, atomically."""
    report = source.report
    with transaction.atomic():
        plan = plan_sets(source) if source.format.target == SETS else plan_cards(source)
        if report.rejections and not skip_bad_rows:
            return
        plan()
    report.written = not dry_run


def plan_sets(source: Source) -> Callable[[], None]:
    game, counts = source.format.game, source.report.sets
    codes = {row.code for _, row in source.rows}
    existing = {s.code: s for s in CardSet.objects.filter(game=game, code__in=codes)}
    changes = Changes(CardSet)
    renamed = []
    for _, row in source.rows:
        card_set = existing.get(row.code)
        if card_set is None:
            changes.new.append(CardSet(game=game, code=row.code, **row.values))
            counts.created += 1
            continue
        fields = assign(card_set, row.values)
        if not fields:
            counts.unchanged += 1
            continue
        changes.update(card_set, fields)
        counts.updated += 1
        if fields & {"name", "ptcgo_code"}:
            renamed.append(card_set)

    def write() -> None:
        changes.write()
        # A set's name and codes are words its cards are found by.
        for card_set in renamed:
            card_set.refresh_card_search_documents()

    return write


def plan_cards(source: Source) -> Callable[[], None]:
    game, report = source.format.game, source.report
    codes = {row.set_code for _, row in source.rows}
    sets = {s.code: s for s in CardSet.objects.filter(game=game, code__in=codes)}
    existing = {
        (card.card_set_id, card.number, card.variant): card
        for card in Card.objects.filter(card_set__in=[s.pk for s in sets.values()])
    }
    new_sets: dict[str, CardSet] = {}
    changes = Changes(Card)
    for position, row in source.rows:
        card_set = sets.get(row.set_code) or new_sets.get(row.set_code)
        if card_set is None and row.new_set_name:
            card_set = CardSet(game=game, code=row.set_code, name=row.new_set_name)
            new_sets[row.set_code] = card_set
            report.sets.created += 1
        if card_set is None:
            source.reject(position, f"unknown set {row.set_code!r} — load its sets file first")
            continue
        values = dict(row.values)
        if row.product_name:
            values["printed_in"] = "" if row.product_name == card_set.name else row.product_name
        card = existing.get((card_set.pk, row.number, row.variant))
        if card is None:
            card = Card(card_set=card_set, number=row.number, variant=row.variant, **values)
            card.refresh_derived_fields()
            changes.new.append(card)
            report.cards.created += 1
            continue
        card.card_set = card_set  # the instance already fetched: no query per card
        derived_before = [getattr(card, name) for name in DERIVED_CARD_FIELDS]
        fields = assign(card, values)
        card.refresh_derived_fields()
        derived_after = [getattr(card, name) for name in DERIVED_CARD_FIELDS]
        fields |= {
            name
            for name, before, after in zip(
                DERIVED_CARD_FIELDS, derived_before, derived_after, strict=True
            )
            if before != after
        }
        if fields:
            changes.update(card, fields)
            report.cards.updated += 1
        else:
            report.cards.unchanged += 1

    def write() -> None:
        # Only OPTCG cards create sets, a handful per file: plain saves give them their
        # primary keys on every database before their cards are inserted.
        for card_set in new_sets.values():
            card_set.save()
        changes.write()

    return write

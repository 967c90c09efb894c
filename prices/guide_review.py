"""Staff review of the price-guide rows waiting for a card, and how staff teach the matcher.

    match_unmatched_row(row, card) -> WriteResult    # one row: its stored prices for a card
    teach_console(card_set, console) -> bool         # the set learns its console-name
    count_rows_matching(console) -> int              # waiting rows that would match now
    queue_rematch(console) -> JobRun                 # match that console's rows again (a task)
    rematch_console(console) -> JobRun               # ... what the task runs

A console-name recorded on a set (CardSet.pricecharting_name) is what makes every row of
that console match by set and number from then on, so one teaching resolves the rows
waiting today and tomorrow's import alike. The rules stay those of prices.matching: a
taught console only says which set to look in; number, print and name must still agree.
"""

from collections.abc import Iterable, Iterator

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django_q.tasks import async_task

from cards.models import Card, CardSet
from jobs import runs
from jobs.models import JobRun
from prices.matching import (
    CatalogIndex,
    Product,
    console_game,
    is_foreign,
    loose_name,
    loose_set_names,
)
from prices.models import Source, UnmatchedRow
from prices.pricecharting_import import (
    MAX_ID_LENGTH,
    GuideImport,
    GuideRow,
    StoredRows,
    fail_run,
    fewer_collections,
)
from prices.writing import Observation, WriteResult, record_observations
from tcgtracker.lib.http import SourceConfig

SOURCE = Source.PRICECHARTING
REMATCH_PROGRESS_EVERY = 200


class MatchConflict(ValueError):
    """The chosen card already carries another PriceCharting id."""


def waiting_rows(console_name: str | None = None):
    rows = UnmatchedRow.objects.filter(source=SOURCE, resolved_at__isnull=True)
    return rows if console_name is None else rows.filter(set_name=console_name)


def waiting_consoles():
    """Consoles with rows waiting, most rows first: console-name, total, unmatched,
    ambiguous."""
    return (
        waiting_rows()
        .values("set_name")
        .annotate(
            total=Count("pk"),
            unmatched=Count("pk", filter=Q(reason=UnmatchedRow.Reason.UNMATCHED)),
            ambiguous=Count("pk", filter=Q(reason=UnmatchedRow.Reason.AMBIGUOUS)),
        )
        .order_by("-total", "set_name")
    )


def sets_named(console_names: Iterable[str]) -> dict[str, list[CardSet]]:
    """The sets each console-name is recorded on."""
    found: dict[str, list[CardSet]] = {}
    for card_set in CardSet.objects.filter(pricecharting_name__in=list(console_names)):
        found.setdefault(card_set.pricecharting_name, []).append(card_set)
    return found


def suggested_sets(console_name: str) -> list[CardSet]:
    """Sets without a console-name whose name the console's resembles (the matcher's
    tolerant comparison), for staff to pick from first."""
    game = console_game(console_name)
    if game is None:
        return []
    wanted = loose_name(console_name, game)
    foreign = is_foreign(console_name)
    sets = CardSet.objects.filter(game=game, pricecharting_name="")
    sets = sets.exclude(language="en") if foreign else sets.filter(language="en")
    return [card_set for card_set in sets if wanted in loose_set_names(card_set)]


def match_unmatched_row(row: UnmatchedRow, card: Card, *, replace_id: bool = False) -> WriteResult:
    """Staff's one-click match: the card takes the row's PriceCharting id, the row's
    stored prices are written for it, and the row is resolved.

    A card already carrying another PriceCharting id raises MatchConflict, unless
    replace_id says staff mean to move it to this product.
    """
    with transaction.atomic():
        card = Card.objects.select_for_update().get(pk=card.pk)
        current = card.pricecharting_id.strip()
        # A row left waiting before imports refused ids longer than a card keeps gives its
        # prices, not its id.
        keeps_id = len(row.external_id) <= MAX_ID_LENGTH
        if keeps_id and current and current != row.external_id and not replace_id:
            raise MatchConflict(
                f"{card} already has PriceCharting id {current}, not {row.external_id}."
            )
        if keeps_id and current != row.external_id:
            Card.objects.filter(pk=card.pk).update(pricecharting_id=row.external_id)
            card.pricecharting_id = row.external_id
        result = record_observations(
            Observation(
                card_id=card.pk,
                source=row.source,
                price_key=price_key,
                market=cents,
                observed_at=row.observed_at,
                sample_size=row.sample_size,
            )
            for price_key, cents in (row.prices or {}).items()
        )
        row.matched_card = card
        row.resolved_at = timezone.now()
        row.save(update_fields=["matched_card", "resolved_at", "updated_at"])
    return result


# --- Teaching console names ----------------------------------------------------------------


def console_problem(card_set: CardSet, console_name: str) -> str:
    """Why a console-name cannot be a set's, or "" when it can."""
    if not console_name.strip():
        return "The row has no console-name to learn."
    if is_foreign(console_name) != (card_set.language != "en"):
        return (
            f"“{console_name}” is another language's console than {card_set}: prices of "
            "one language's prints never go to another's."
        )
    game = console_game(console_name)
    if game is not None and game != card_set.game:
        return f"“{console_name}” is a {game} console, {card_set} a {card_set.game} set."
    return ""


def teach_console(card_set: CardSet, console_name: str, *, replace: bool = False) -> bool:
    """Record `console_name` as the set's PriceCharting name — only when the set has none,
    unless `replace` — and keep catalog loads from undoing it. Whether it changed."""
    if console_problem(card_set, console_name):
        return False
    current = card_set.pricecharting_name
    if current == console_name or (current and not replace):
        return False
    card_set.pricecharting_name = console_name
    card_set.curated_fields = sorted({*(card_set.curated_fields or ()), "pricecharting_name"})
    card_set.save(update_fields=["pricecharting_name", "curated_fields", "updated"])
    return True


def count_rows_matching(console_name: str) -> int:
    """How many of a console's waiting rows the matcher would match now (nothing written;
    a product claimed by an earlier row blocks a later one, as in an import)."""
    rows = list(waiting_rows(console_name))
    if not rows:
        return 0
    index = CatalogIndex.load(console_game(console_name))
    matched = 0
    for row in rows:
        found = index.match(_product(row))
        if found.matched:
            matched += 1
            index.assign(found.card_id, row.external_id)
    return matched


def queue_rematch(console_name: str) -> JobRun:
    """A queued job run that matches a console's waiting rows again, once the current
    transaction commits."""
    run = JobRun.objects.create(
        kind=JobRun.Kind.PRICE_REMATCH,
        source=SOURCE,
        status=JobRun.Status.QUEUED,
        description=f"Re-match of “{console_name}”"[:200],
        progress_total=waiting_rows(console_name).count(),
    )
    transaction.on_commit(
        lambda: async_task(
            "prices.tasks.rematch_waiting_rows",
            console_name,
            run.pk,
            task_name=f"re-match {run.pk}",
        )
    )
    return run


def rematch_console(console_name: str, *, job_run: JobRun | None = None) -> JobRun:
    """Match a console's waiting rows again: those that match now have their stored
    prices written (at the day they were read) and are resolved; the others keep waiting
    with their reason brought up to date. Safe to run twice or to interrupt."""
    run = job_run or JobRun(kind=JobRun.Kind.PRICE_REMATCH, source=SOURCE)
    rows = waiting_rows(console_name)
    run.status = JobRun.Status.RUNNING
    run.description = f"Re-match of “{console_name}”"[:200]
    run.progress_total = rows.count()
    run.save()

    def save_run(run: JobRun, fields: list[str] | None) -> None:
        run.save(update_fields=fields)

    with runs.running(run), fewer_collections():
        importer = None
        try:
            importer = GuideImport(
                run,
                name=f"Re-match of “{console_name}”",
                observed_at=None,
                game=console_game(console_name),
                dry_run=False,
                progress=None,
                save_run=save_run,
                stored=StoredRows(set_name=console_name, resolved_at__isnull=True),
                progress_every=REMATCH_PROGRESS_EVERY,
            )
            importer.feed(_guide_rows(rows.iterator(chunk_size=1000)))
            importer.finish()
        except Exception as exc:
            secrets = SourceConfig.from_settings(SOURCE).secrets
            fail_run(run, f"unexpected error: {exc!r}", secrets, importer, save_run)
            raise
    return run


def _product(row: UnmatchedRow) -> Product:
    return Product(
        id=row.external_id,
        console_name=row.set_name,
        product_name=row.product_name,
        tcg_id=row.tcgplayer_id,
        genre=row.genre,
    )


def _guide_rows(rows: Iterable[UnmatchedRow]) -> Iterator[GuideRow]:
    for row in rows:
        yield GuideRow(
            line=0,
            product=_product(row),
            prices=dict(row.prices or {}),
            sample_size=row.sample_size,
            observed_at=row.observed_at,
        )

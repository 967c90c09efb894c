"""Catalog sync: new sets and cards from the Pokémon TCG API and the OPTCG API.

Responses go through the sources' HTTP layer (timeouts, retries, shared rate budget,
circuit breaker) and into the same loader as `load_catalog`, so new cards appear without
staff work and fields staff edited in the admin are never overwritten (curated_fields).
"""

import logging
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from cards.loading import FileReport, load_records
from cards.models import CardSet, Game
from jobs import runs
from jobs.models import JobRun
from tcgtracker.lib.http import SourceConfig, SourceError, SourceHttp

logger = logging.getLogger(__name__)

PAGE_SIZE = 250
MAX_PAGES = 200


def _http(name: str, base_url: str, credentials: dict, rate_limit: tuple[int, int]):
    config = SourceConfig(
        name=name,
        enabled=True,
        base_url=base_url.rstrip("/"),
        credentials=credentials,
        rate_limit=rate_limit,
        batch_size=PAGE_SIZE,
        options={},
    )
    return SourceHttp(config)


def pokemon_http():
    key = settings.POKEMONTCG_API_KEY
    # Without a key the API allows far fewer calls; stay well inside either limit.
    return _http(
        "pokemontcg", settings.POKEMONTCG_BASE_URL, {"api_key": key}, (30 if key else 10, 60)
    )


def optcg_http():
    return _http("optcg", settings.OPTCG_BASE_URL, {}, (30, 60))


def _pages(http, path: str, params: dict, headers: dict) -> Iterator[list]:
    """Items of a paged Pokémon TCG API listing ({data, page, pageSize, totalCount})."""
    for page in range(1, MAX_PAGES + 1):
        body = http.get_json(
            path, params={**params, "page": page, "pageSize": PAGE_SIZE}, headers=headers
        )
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ValueError(f"{path} returned no data list")
        yield items
        total = body.get("totalCount")
        if not items or not isinstance(total, int) or page * PAGE_SIZE >= total:
            return


def incomplete_sets(game: str, codes: list[str] | None = None) -> list[CardSet]:
    """Sets whose cards are not all in the catalog yet (or the given ones)."""
    sets = CardSet.objects.filter(game=game).annotate(card_count=Count("cards"))
    if codes:
        return list(sets.filter(code__in=codes))
    return [s for s in sets if not s.total or s.card_count < s.total]


def sync_pokemon(http=None, set_codes: list[str] | None = None) -> list[FileReport]:
    http = http or pokemon_http()
    headers = {"X-Api-Key": settings.POKEMONTCG_API_KEY} if settings.POKEMONTCG_API_KEY else {}
    sets = [item for page in _pages(http, "/sets", {}, headers) for item in page]
    reports = [
        load_records("pokemontcg-api-sets", sets, "Pokémon TCG API /sets", skip_bad_rows=True)
    ]
    for card_set in incomplete_sets(Game.POKEMON, set_codes):
        cards = [
            item
            for page in _pages(http, "/cards", {"q": f"set.id:{card_set.code}"}, headers)
            for item in page
        ]
        reports.append(
            load_records(
                "pokemontcg-api-cards",
                cards,
                f"Pokémon TCG API cards of {card_set.code}",
                skip_bad_rows=True,
            )
        )
    return reports


def sync_onepiece(http=None, set_codes: list[str] | None = None) -> list[FileReport]:
    http = http or optcg_http()
    sets = http.get_json("/allSets/")
    if not isinstance(sets, list):
        raise ValueError("allSets/ did not return a list")
    reports = [load_records("optcg-api-sets", sets, "OPTCG API allSets", skip_bad_rows=True)]
    wanted = {s.code for s in incomplete_sets(Game.ONEPIECE, set_codes)}
    for item in sets:
        set_id = str(item.get("set_id", "")) if isinstance(item, dict) else ""
        if set_id.replace("-", "") not in wanted:
            continue
        cards = http.get_json(f"/sets/{set_id}/")
        if not isinstance(cards, list):
            raise ValueError(f"sets/{set_id}/ did not return a list")
        reports.append(
            load_records("optcg-api-cards", cards, f"OPTCG API set {set_id}", skip_bad_rows=True)
        )
    return reports


SYNCS = {Game.POKEMON: sync_pokemon, Game.ONEPIECE: sync_onepiece}


def sync_catalog(game: str | None = None, set_codes: list[str] | None = None, https=None):
    """Run the catalog sync for one game or both, recording a job run per game."""
    done = []
    for name in [game] if game else list(SYNCS):
        run = runs.start(JobRun.Kind.CATALOG_SYNC, description=f"{name} catalog")
        with runs.running(run):
            try:
                http = (https or {}).get(name)
                reports = SYNCS[name](http, set_codes) if http else SYNCS[name](set_codes=set_codes)
            except (SourceError, ValueError) as exc:
                run.status = JobRun.Status.FAILED
                run.errors = [str(exc)[:500]]
            else:
                _count(run, reports)
                run.description = f"{name} catalog: " + "; ".join(r.summary for r in reports)[:180]
                run.status = JobRun.Status.PARTIAL if run.rejected else JobRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
            run.save()
        done.append(run)
    return done


def _count(run, reports: list[FileReport]) -> None:
    for report in reports:
        for counts in (report.sets, report.cards):
            run.fetched += counts.created + counts.updated + counts.unchanged + counts.rejected
            run.written += counts.created + counts.updated
            run.unchanged += counts.unchanged
            run.rejected += counts.rejected
        run.errors.extend(str(r) for r in report.rejections[: run.MAX_ERRORS - len(run.errors)])

"""Every catalog format, by name; each is declared in its own module."""

from cards.loading import onepiece_csv, optcg_api, pokemon_csv, pokemontcg_api
from cards.loading.records import Format

FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for module in (pokemon_csv, onepiece_csv, pokemontcg_api, optcg_api)
    for fmt in module.FORMATS
}

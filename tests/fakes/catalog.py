"""Fake Pokémon TCG API and OPTCG API, in their wire formats."""

from tests.fakes.server import FakeServer, Reply


def pokemon_set(set_id, name, series="Scarlet & Violet", printed_total=165, total=207):
    return {
        "id": set_id,
        "name": name,
        "series": series,
        "printedTotal": printed_total,
        "total": total,
        "ptcgoCode": "MEW",
        "releaseDate": "2023/09/22",
        "updatedAt": "2023/09/22 15:00:00",
        "images": {},
    }


def pokemon_card(set_id, number, name, rarity="Common"):
    return {
        "id": f"{set_id}-{number}",
        "name": name,
        "supertype": "Pokémon",
        "number": str(number),
        "rarity": rarity,
        "set": {"id": set_id},
        "images": {"small": f"https://images.pokemontcg.io/{set_id}/{number}.png"},
    }


def serve_pokemon(server: FakeServer, sets: list[dict], cards: list[dict]) -> None:
    def paged(items, request):
        page = int(request.param("page", "1"))
        size = int(request.param("pageSize", "250"))
        chunk = items[(page - 1) * size : page * size]
        return Reply(
            json={
                "data": chunk,
                "page": page,
                "pageSize": size,
                "count": len(chunk),
                "totalCount": len(items),
            }
        )

    def cards_of_set(request):
        set_id = request.param("q", "").removeprefix("set.id:")
        return paged([card for card in cards if card["set"]["id"] == set_id], request)

    server.route("GET", "/sets", lambda request: paged(sets, request))
    server.route("GET", "/cards", cards_of_set)


def optcg_card(code, name, variant="", set_name="Romance Dawn", rarity="C"):
    set_id = code.split("-")[0]
    set_id = f"{set_id[:-2]}-{set_id[-2:]}"
    image_id = f"{code}_{variant}" if variant else code
    return {
        "card_set_id": code,
        "card_image_id": image_id,
        "card_name": name,
        "set_id": set_id,
        "set_name": set_name,
        "rarity": rarity,
        "card_color": "Red",
        "card_type": "CHARACTER",
        "card_image": f"https://optcgapi.com/media/static/Card_Images/{image_id}.jpg",
    }


def serve_optcg(server: FakeServer, sets: list[dict], cards_by_set: dict[str, list]) -> None:
    server.route("GET", "/allSets/", lambda request: Reply(json=sets))
    for set_id, cards in cards_by_set.items():
        server.route("GET", f"/sets/{set_id}/", lambda request, cards=cards: Reply(json=cards))

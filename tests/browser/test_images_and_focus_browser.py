"""What a collector sees when an image host fails, and where the keyboard is: list
thumbnails fall back to a placeholder (under the Content-Security-Policy, no inline
handler), and the focus ring shows on every button and tab, the blue ones included."""

import pytest
from playwright.sync_api import expect

from collections_app.models import Watch
from tests.browser.test_alerts_browser import log_in
from tests.factories import make_card, make_collection, make_item, make_user, record_prices

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# An image host that is down: nothing listens on the discard port of loopback.
DEAD_IMAGE = "https://127.0.0.1:9/cards/base1-4.png"

# How visible the keyboard's focus ring is: its style and width, its contrast with what it
# is painted over (the element itself when the ring sits inside it, otherwise the first
# ancestor with a background; the worst stop of a gradient), and whether a box that clips
# its overflow cuts it off.
FOCUS_RING = r"""
(element) => {
  const rgba = (color) => {
    const [r, g, b, a = 1] = color.match(/[\d.]+/g).map(Number);
    return { r, g, b, a };
  };
  const luminance = ({ r, g, b }) => {
    const channel = (c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const style = getComputedStyle(element);
  const width = parseFloat(style.outlineWidth) || 0;
  const offset = parseFloat(style.outlineOffset) || 0;
  // The colours behind the ring: a background colour, or every stop of a gradient.
  const colours = (node) => {
    const found = getComputedStyle(node).backgroundImage.match(/rgba?\([^)]*\)/g) || [];
    const colour = rgba(getComputedStyle(node).backgroundColor);
    return colour.a > 0 ? [colour, ...found.map(rgba)] : found.map(rgba);
  };
  let behind = offset + width <= 0 ? element : element.parentElement;
  while (behind && colours(behind).length === 0) {
    behind = behind.parentElement;
  }
  const ring = luminance(rgba(style.outlineColor));
  const contrast = Math.min(
    ...(behind ? colours(behind) : [{ r: 255, g: 255, b: 255 }]).map((colour) => {
      const [light, dark] = [ring, luminance(colour)].sort((x, y) => y - x);
      return (light + 0.05) / (dark + 0.05);
    })
  );
  const reach = Math.max(0, offset + width);
  const box = element.getBoundingClientRect();
  let clipped = false;
  for (let outer = element.parentElement; outer !== document.body; outer = outer.parentElement) {
    const clip = getComputedStyle(outer);
    if (clip.overflowX === "visible" && clip.overflowY === "visible") continue;
    const r = outer.getBoundingClientRect();
    if (box.left - reach < r.left || box.right + reach > r.right ||
        box.top - reach < r.top || box.bottom + reach > r.bottom) {
      clipped = true;
    }
  }
  return {
    focused: element.matches(":focus-visible"),
    style: style.outlineStyle,
    width,
    contrast: Math.round(contrast * 10) / 10,
    clipped,
  };
}
"""


def test_list_thumbnails_from_a_failing_image_host_show_a_placeholder(page, live_server):
    user = make_user()
    collection = make_collection(user, name="Binder")
    card = make_card(name="Charizard", image_url=DEAD_IMAGE)
    record_prices(card, {"NM": 38000})
    make_item(collection, card)
    Watch.objects.create(user=user, card=card)
    collection.start_sharing()
    log_in(page, live_server, user)

    for path in [
        collection.get_absolute_url(),
        "/collections/watchlist/",
        f"/collections/shared/{collection.share_token}/",
    ]:
        page.console_errors.clear()
        page.goto(path)
        placeholder = page.locator(".item-thumb-missing")
        placeholder.scroll_into_view_if_needed()
        expect(placeholder).to_have_text("C")
        expect(placeholder).to_have_attribute("aria-hidden", "true")
        expect(page.locator("img.item-thumb")).to_have_count(0)
        box = placeholder.bounding_box()
        assert (box["width"], box["height"]) == (30, 42), path
        assert not [e for e in page.console_errors if "Content Security Policy" in e], path


def test_a_card_without_an_image_has_the_same_placeholder_in_lists(page, live_server):
    user = make_user()
    collection = make_collection(user)
    make_item(collection, make_card(name="Mew", image_url=""))
    log_in(page, live_server, user)
    page.goto(collection.get_absolute_url())
    expect(page.locator(".item-thumb-missing")).to_have_text("M")


def focus_ring(page, locator) -> dict:
    page.keyboard.press("Tab")  # the keyboard, not the mouse, is in use: a ring is due
    locator.focus()
    return locator.evaluate(FOCUS_RING)


def assert_visible_ring(ring: dict, what: str):
    assert ring["focused"], what
    assert ring["style"] != "none" and ring["width"] >= 2, (what, ring)
    # WCAG's 3:1 for what shows a component's state.
    assert ring["contrast"] >= 3, (what, ring)
    assert not ring["clipped"], (what, ring)


def test_the_focus_ring_shows_on_primary_buttons_and_on_the_current_tab(page, live_server):
    card = make_card(name="Charizard")
    record_prices(card, {"ungraded": 35000})
    user = make_user()
    collection = make_collection(user, name="Binder")

    page.goto("/cards/")
    assert_visible_ring(focus_ring(page, page.locator("#search-form .btn-primary")), "search")
    page.goto("/")
    assert_visible_ring(focus_ring(page, page.locator(".hero .btn-primary")), "home search")

    page.goto(card.get_absolute_url())
    current = page.locator(".period-tabs a[aria-current]")
    other = page.locator(".period-tabs a:not([aria-current])").first
    assert_visible_ring(focus_ring(page, current), "current chart period")
    assert_visible_ring(focus_ring(page, other), "another chart period")

    page.goto("/movers/")
    assert_visible_ring(focus_ring(page, page.locator(".period-tabs a[aria-current]")), "period")
    assert_visible_ring(focus_ring(page, page.locator(".tabs a[aria-current]")), "game tab")

    log_in(page, live_server, user)
    page.goto(collection.get_absolute_url())
    add = page.get_by_role("link", name="Add a card")
    assert_visible_ring(focus_ring(page, add), "add a card")
    assert_visible_ring(
        focus_ring(page, page.locator(".period-tabs a[aria-current]")), "collection period"
    )

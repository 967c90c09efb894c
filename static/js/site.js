// Card images come from the catalog sources' servers. When one cannot be loaded, show
// the same placeholder as a card without an image instead of a broken-image icon.
// Loaded in <head> so the listener is in place before any image fails.
document.addEventListener(
  "error",
  function (event) {
    var img = event.target;
    if (!(img instanceof HTMLImageElement) || !img.closest(".card-tile, .card-detail-image")) {
      return;
    }
    var placeholder = document.createElement("span");
    placeholder.className = "card-image-missing" + (img.closest(".card-detail-image") ? " large" : "");
    placeholder.setAttribute("role", "img");
    placeholder.setAttribute("aria-label", img.alt);
    placeholder.textContent = (img.alt || "?").charAt(0);
    img.replaceWith(placeholder);
  },
  true
);

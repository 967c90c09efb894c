// Card images come from the catalog sources' servers. When one cannot be loaded, show
// the same placeholder as a card without an image instead of a broken-image icon.
// Loaded in <head> so the listener is in place before any image fails.
document.addEventListener(
  "error",
  function (event) {
    var img = event.target;
    if (!(img instanceof HTMLImageElement)) {
      return;
    }
    var placeholder = document.createElement("span");
    if (img.classList.contains("mover-thumb")) {
      placeholder.className = "mover-thumb mover-thumb-missing";
    } else if (img.closest(".card-tile, .card-detail-image")) {
      placeholder.className = "card-image-missing" + (img.closest(".card-detail-image") ? " large" : "");
    } else {
      return;
    }
    if (img.alt) {
      placeholder.setAttribute("role", "img");
      placeholder.setAttribute("aria-label", img.alt);
    } else {
      placeholder.setAttribute("aria-hidden", "true");
    }
    placeholder.textContent = img.dataset.initial || (img.alt || "?").charAt(0);
    img.replaceWith(placeholder);
  },
  true
);

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
    } else if (img.classList.contains("item-thumb")) {
      placeholder.className = "item-thumb item-thumb-missing";
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

// Back and Forward through an htmx search restore the page from htmx's history snapshot,
// which keeps the results but not what the menus and the search box held (a snapshot is
// markup, and a control's current value is not). The address has the truth: put each
// field of a form that pushes its state into the URL back to the URL's value.
function restoreFormsFromUrl() {
  var params = new URLSearchParams(window.location.search);
  document.querySelectorAll("form[hx-push-url]").forEach(function (form) {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.type === "submit" || field.type === "hidden") {
        return;
      }
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = params.getAll(field.name).indexOf(field.value) !== -1;
      } else if (field instanceof HTMLSelectElement) {
        var wanted = (params.get(field.name) || "").toLowerCase();
        var option = Array.prototype.find.call(field.options, function (candidate) {
          return candidate.value.toLowerCase() === wanted;
        });
        field.selectedIndex = option ? option.index : 0;
      } else {
        field.value = params.get(field.name) || "";
      }
    });
  });
}
document.addEventListener("htmx:historyRestore", restoreFormsFromUrl);

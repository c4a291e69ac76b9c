// The retrospective board: polls its version and re-fetches the board fragment, so everyone in the
// meeting sees new cards, groups and votes within a few seconds. Forms post and redirect as usual;
// a refresh waits while the viewer is typing, so nothing they wrote is lost.
(function () {
  "use strict";

  var root = document.getElementById("retro");
  if (!root || !window.Scrumboard) return;
  var S = window.Scrumboard;
  var versionUrl = root.getAttribute("data-version-url");
  var fragmentUrl = root.getAttribute("data-fragment-url");
  var INTERVAL = 3000;
  var busy = false;

  function area() {
    return document.getElementById("retro-area");
  }

  // Typing in a field of the board, or text left in one: do not replace it now.
  function viewerIsWriting() {
    var current = area();
    if (!current) return false;
    var active = document.activeElement;
    if (active && current.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) return true;
    var fields = current.querySelectorAll("textarea, input[type=text]");
    for (var i = 0; i < fields.length; i++) {
      // A closed "Edit" panel holds the card's own text: that is not the viewer typing.
      if (fields[i].closest("details:not([open])")) continue;
      if (fields[i].value.trim()) return true;
    }
    var picked = current.querySelectorAll("input[name=cards]:checked, details[open].retro-card-edit");
    return picked.length > 0;
  }

  function refresh() {
    return S.fetchHTML(fragmentUrl).then(function (html) {
      var fresh = S.parseHTML(html).getElementById("retro-area");
      var current = area();
      if (fresh && current) current.replaceWith(fresh);
    });
  }

  function poll() {
    if (busy || document.hidden) return;
    var current = area();
    if (!current) return;
    busy = true;
    fetch(versionUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return null;
        var shown = area();
        if (shown && data.version !== shown.getAttribute("data-version") && !viewerIsWriting()) {
          return refresh();
        }
        return null;
      })
      .catch(function () { /* offline for a moment: try again next time */ })
      .then(function () { busy = false; });
  }

  setInterval(poll, INTERVAL);
})();

// The sprint board: drag a card to another column (or Alt+←/→ on a focused card) to change its status,
// with the Definition of Done's override dialog; the board polls a tiny version endpoint and re-renders
// itself when someone else changed it. Also the sprint review's Print button. Plain JavaScript, no build.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  var root = document.getElementById("board");
  if (!root) return;

  var POLL_MS = 5000;
  var editable = root.hasAttribute("data-editable");
  var versionUrl = root.getAttribute("data-version-url");
  var detailUrl = root.getAttribute("data-detail-url");
  var dragged = null;
  var saving = 0;
  var stale = false; // a refresh was due while a card was being dragged or saved

  function area() {
    return document.getElementById("board-area");
  }

  var shared = window.Scrumboard; // app.js

  function toast(text, isError) {
    shared.toast("board-toast", text, isError);
  }

  // --- Staying up to date -------------------------------------------------------------------------

  function fragmentUrl() {
    var url = area().getAttribute("data-fragment-url");
    return url + (url.indexOf("?") === -1 ? "?" : "&") + "fragment=board";
  }

  function busy() {
    return Boolean(dragged) || saving > 0 || Boolean(document.querySelector("#override-dialog[open]"));
  }

  function refresh() {
    if (busy()) { stale = true; return Promise.resolve(); }
    stale = false;
    return shared.fetchHTML(fragmentUrl())
      .then(function (html) {
        if (busy()) { stale = true; return; }
        var fresh = shared.parseHTML(html).querySelector("#board-area");
        if (!fresh) return;
        var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".board-card");
        var key = focused ? focused.getAttribute("data-key") : null;
        area().replaceWith(fresh);
        if (key) {
          var again = fresh.querySelector('.board-card[data-key="' + key + '"]');
          if (again) again.focus();
        }
      })
      .catch(function () { /* the next poll tries again */ });
  }

  function poll() {
    if (document.hidden) return;
    if (busy()) return;
    fetch(versionUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && data.version !== area().getAttribute("data-version")) refresh();
      })
      .catch(function () { /* offline for a moment */ });
  }

  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  var live = document.querySelector("[data-live]");
  if (live) live.hidden = false;

  // --- Changing a card's status ------------------------------------------------------------------------

  function patch(card, body) {
    var url = detailUrl.replace("ITEM-KEY", encodeURIComponent(card.getAttribute("data-key")));
    return shared.sendJSON(url, "PATCH", body).catch(function (error) {
      // The Definition of Done gate answers 400 on the status field: an override reason may pass it.
      if (error.data) error.doneGate = error.status === 400 && error.data.errors && error.data.errors.status;
      throw error;
    });
  }

  // Asks for an override reason; resolves with it, or with null when cancelled.
  function askReason(text) {
    var dialog = document.getElementById("override-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      var answer = window.prompt(text);
      return Promise.resolve(answer && answer.trim() ? answer.trim() : null);
    }
    var form = dialog.querySelector("[data-override-form]");
    var input = form.querySelector("input[name=reason]");
    var error = form.querySelector("[data-override-error]");
    dialog.querySelector("[data-override-message]").textContent = text;
    input.value = "";
    error.hidden = true;
    return new Promise(function (resolve) {
      function finish(value) {
        form.removeEventListener("submit", onSubmit);
        dialog.removeEventListener("cancel", onCancel);
        cancel.removeEventListener("click", onCancel);
        if (dialog.open) dialog.close();
        resolve(value);
      }
      function onSubmit(event) {
        event.preventDefault();
        if (!input.value.trim()) { error.hidden = false; input.focus(); return; }
        finish(input.value.trim());
      }
      function onCancel(event) {
        event.preventDefault();
        finish(null);
      }
      var cancel = dialog.querySelector("[data-override-cancel]");
      form.addEventListener("submit", onSubmit);
      dialog.addEventListener("cancel", onCancel);
      cancel.addEventListener("click", onCancel);
      dialog.showModal();
      input.focus();
    });
  }

  function moveCard(card, column) {
    var status = column.getAttribute("data-status");
    if (status === card.getAttribute("data-status")) return;
    var parent = card.parentNode;
    var next = card.nextSibling;
    column.appendChild(card);
    card.classList.add("is-saving");
    card.focus({ preventScroll: true });
    saving += 1;

    function putBack(text) {
      parent.insertBefore(card, next);
      card.classList.remove("is-saving");
      if (text) toast(root.getAttribute("data-msg-failed") + " " + text, true);
    }

    // Resolves true when the board should be fetched again (the card moved, or the outcome is unknown).
    function send(body) {
      return patch(card, body).then(function () {
        card.classList.remove("is-saving");
        card.setAttribute("data-status", status);
        toast(card.getAttribute("data-key") + " · " + root.getAttribute("data-msg-moved") + " " + column.getAttribute("aria-label"));
        return true;
      }).catch(function (error) {
        if (error.doneGate && !body.override_reason) {
          return askReason(error.message).then(function (reason) {
            if (reason === null) { putBack(""); return false; }
            return send({ status: status, override_reason: reason });
          });
        }
        putBack(error instanceof TypeError ? root.getAttribute("data-msg-offline") : error.message);
        return true;
      });
    }

    send({ status: status }).then(function (changed) {
      saving -= 1;
      if (changed || stale) refresh(); // counts, WIP limits and lanes come from the server
    });
  }

  if (editable) {
    root.addEventListener("dragstart", function (event) {
      var card = event.target.closest && event.target.closest(".board-card");
      if (!card || card.classList.contains("is-saving")) return;
      dragged = card;
      shared.startDrag(event, card, function () { return dragged; });
    });

    root.addEventListener("dragover", function (event) {
      if (!dragged) return;
      var column = event.target.closest && event.target.closest(".board-col");
      root.querySelectorAll(".board-col.is-drop-target").forEach(function (node) {
        if (node !== column) node.classList.remove("is-drop-target");
      });
      if (!column) return;
      shared.allowDrop(event);
      if (column.getAttribute("data-status") !== dragged.getAttribute("data-status")) column.classList.add("is-drop-target");
    });

    root.addEventListener("drop", function (event) {
      if (!dragged) return;
      var column = event.target.closest && event.target.closest(".board-col");
      if (!column) return;
      event.preventDefault();
      var card = dragged;
      dragged = null;
      card.classList.remove("is-dragging");
      column.classList.remove("is-drop-target");
      moveCard(card, column);
    });

    root.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("is-dragging");
      dragged = null;
      root.querySelectorAll(".is-drop-target").forEach(function (node) { node.classList.remove("is-drop-target"); });
      if (stale) refresh();
    });

    // Keyboard: Alt+←/→ moves the focused card one column; Enter opens it.
    root.addEventListener("keydown", function (event) {
      var card = event.target.classList && event.target.classList.contains("board-card") ? event.target : null;
      if (!card) return;
      if (event.key === "Enter") {
        var link = card.querySelector(".board-card-title");
        if (link) link.click();
        return;
      }
      if (!event.altKey || (event.key !== "ArrowLeft" && event.key !== "ArrowRight")) return;
      event.preventDefault();
      var column = card.closest(".board-col");
      var sibling = event.key === "ArrowLeft" ? column.previousElementSibling : column.nextElementSibling;
      if (sibling && sibling.classList.contains("board-col")) moveCard(card, sibling);
    });
    root.addEventListener("focusin", function (event) {
      if (event.target.classList && event.target.classList.contains("board-card")) {
        event.target.setAttribute("aria-description", root.getAttribute("data-msg-keys"));
      }
    });
  }
})();

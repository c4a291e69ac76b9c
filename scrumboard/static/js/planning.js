// Sprint planning: drag items between the product backlog and the sprint (or use their →/← buttons,
// which are plain forms without JavaScript), then reload the summary panel. Plain JavaScript, no build.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var root = document.getElementById("planning");
  if (!root) return;

  var sprintId = Number(root.getAttribute("data-sprint"));
  var editable = root.hasAttribute("data-editable");
  var lists = {
    backlog: root.querySelector('[data-list="backlog"]'),
    sprint: root.querySelector('[data-list="sprint"]')
  };
  var language = document.documentElement.lang || undefined;

  var shared = window.Scrumboard; // app.js
  var flash = shared.flash;

  function message(name, values) {
    var text = root.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (key) {
      text = text.replace("%(" + key + ")s", values[key]);
    });
    return text;
  }

  function toast(text, isError) {
    shared.toast("plan-toast", text, isError);
  }

  function rowsOf(list) {
    return Array.prototype.slice.call(list.querySelectorAll(".plan-row"));
  }

  function listName(row) {
    var list = row.closest("[data-list]");
    return list ? list.getAttribute("data-list") : null;
  }

  function points(row) {
    var value = parseFloat(row.getAttribute("data-points"));
    return isNaN(value) ? 0 : value;
  }

  function formatPoints(value) {
    return (Math.round(value * 10) / 10).toLocaleString(language, { maximumFractionDigits: 1 });
  }

  // --- Totals above each list and the empty-list notes ------------------------------------

  var totals = {};
  ["backlog", "sprint"].forEach(function (name) {
    var box = root.querySelector('[data-list-totals="' + name + '"]');
    if (!box) return;
    totals[name] = {
      box: box,
      count: Number(box.getAttribute("data-count")) || 0,
      points: parseFloat(box.getAttribute("data-points")) || 0,
      suffix: box.getAttribute("data-suffix") || ""
    };
  });

  function showTotals(name) {
    var entry = totals[name];
    if (!entry) return;
    var items = entry.count === 1 ? message("items-one") : message("items-many", { count: entry.count });
    entry.box.textContent = items + " · " + message("points", { points: formatPoints(entry.points) }) + entry.suffix;
  }

  function shift(row, from, to) {
    if (totals[from]) { totals[from].count -= 1; totals[from].points -= points(row); showTotals(from); }
    if (totals[to]) { totals[to].count += 1; totals[to].points += points(row); showTotals(to); }
  }

  function updateEmpty() {
    ["backlog", "sprint"].forEach(function (name) {
      var note = root.querySelector('[data-empty="' + name + '"]');
      if (note) note.hidden = rowsOf(lists[name]).length > 0;
    });
  }

  // --- The summary panel -----------------------------------------------------------------------

  var summaryRequest = 0;
  function refreshSummary() {
    var panel = document.getElementById("plan-summary");
    if (!panel) return;
    var ticket = ++summaryRequest;
    shared.fetchHTML(panel.getAttribute("data-summary-url"))
      .then(function (html) {
        if (ticket !== summaryRequest) return; // a newer move asked again
        var fresh = shared.parseHTML(html).querySelector("#plan-summary");
        var current = document.getElementById("plan-summary");
        if (fresh && current) {
          current.replaceWith(fresh);
          fresh.classList.add("just-updated");
        }
      })
      .catch(function () { /* the totals above the lists are still right */ });
  }

  // --- Moving a row ------------------------------------------------------------------------------

  function setDirection(row, to) {
    var form = row.querySelector(".plan-move");
    if (!form) return;
    var key = row.getAttribute("data-key");
    var into = to === "sprint" ? "backlog" : "sprint"; // where its button sends it next
    form.querySelector('input[name="to"]').value = into;
    var button = form.querySelector("button");
    var label = into === "sprint" ? message("add", { key: key }) : message("remove", { key: key });
    button.className = "move-button move-button--" + (into === "sprint" ? "add" : "remove");
    button.title = label;
    button.querySelector("[aria-hidden]").textContent = into === "sprint" ? "→" : "←";
    button.querySelector(".visually-hidden").textContent = label;
  }

  // Puts the row where the global rank says, among the rows shown; false when it falls below them.
  function placeByRank(row, list) {
    var rank = row.getAttribute("data-rank");
    var next = null;
    rowsOf(list).some(function (other) {
      if (other !== row && other.getAttribute("data-rank") > rank) { next = other; return true; }
      return false;
    });
    var more = list.querySelector(".plan-more");
    if (next) list.insertBefore(row, next);
    else if (more) list.insertBefore(row, more);
    else list.appendChild(row);
  }

  function save(row, payload) {
    var url = root.getAttribute("data-move-url").replace("ITEM-KEY", encodeURIComponent(row.getAttribute("data-key")));
    return shared.sendJSON(url, "POST", payload);
  }

  // to: "sprint" or "backlog"; anchor: {before: row} or {after: row} in the destination, or null (keep the rank).
  function move(row, to, anchor, focusAfter) {
    var from = listName(row);
    var parent = row.parentNode;
    var next = row.nextSibling;
    var list = lists[to];
    if (anchor && anchor.before) list.insertBefore(row, anchor.before);
    else if (anchor && anchor.after) list.insertBefore(row, anchor.after.nextSibling);
    else placeByRank(row, list);
    if (from !== to) { setDirection(row, to); shift(row, from, to); }
    updateEmpty();
    row.classList.add("is-saving");
    if (focusAfter) focusAfter.focus();

    var payload = {};
    if (from !== to) payload.sprint = to === "sprint" ? sprintId : null;
    if (anchor && anchor.before) payload.before = anchor.before.getAttribute("data-key");
    else if (anchor && anchor.after) payload.after = anchor.after.getAttribute("data-key");

    save(row, payload).then(function (item) {
      row.classList.remove("is-saving");
      if (item && item.rank) row.setAttribute("data-rank", item.rank);
      flash(row);
      if (from !== to) {
        toast(message(to === "sprint" ? "added" : "removed") + " " + row.getAttribute("data-key"));
        refreshSummary();
      }
    }).catch(function (error) {
      row.classList.remove("is-saving");
      parent.insertBefore(row, next);
      if (from !== to) { setDirection(row, from); shift(row, to, from); }
      updateEmpty();
      flash(row);
      var reason = error instanceof TypeError ? message("offline") : error.message;
      toast(message("failed") + " " + reason, true);
    });
  }

  // The →/← buttons: their forms work without JavaScript; with it, no page reload.
  root.addEventListener("submit", function (event) {
    var form = event.target.closest(".plan-move");
    if (!form) return;
    event.preventDefault();
    var row = form.closest(".plan-row");
    if (row.classList.contains("is-saving")) return;
    var to = form.querySelector('input[name="to"]').value;
    // Keyboard users go on with the next row of the list they were in.
    var neighbour = row.nextElementSibling && row.nextElementSibling.classList.contains("plan-row")
      ? row.nextElementSibling : row.previousElementSibling;
    var focus = neighbour && neighbour.querySelector(".move-button");
    move(row, to, null, focus || form.querySelector(".move-button"));
  });

  // --- Drag and drop ------------------------------------------------------------------------------

  var dragged = null;
  var marker = null; // {row, before} or {list}

  function clearMarker() {
    root.querySelectorAll(".drop-before, .drop-after, .is-drop-target").forEach(function (node) {
      node.classList.remove("drop-before", "drop-after", "is-drop-target");
    });
    marker = null;
  }

  function targetList(node) {
    var panel = node && node.closest && node.closest(".plan-panel");
    return panel ? panel.querySelector("[data-list]") : null;
  }

  if (editable) {
    root.addEventListener("dragstart", function (event) {
      var row = event.target.closest && event.target.closest(".plan-row");
      if (!row || row.classList.contains("is-saving")) return;
      dragged = row;
      shared.startDrag(event, row, function () { return dragged; });
    });

    root.addEventListener("dragover", function (event) {
      if (!dragged) return;
      var list = targetList(event.target);
      if (!list) { clearMarker(); return; }
      shared.allowDrop(event);
      var row = event.target.closest(".plan-row");
      if (row && row !== dragged && list.contains(row)) {
        var before = shared.inUpperHalf(event, row);
        if (!marker || marker.row !== row || marker.before !== before) {
          clearMarker();
          marker = { row: row, before: before };
          row.classList.add(before ? "drop-before" : "drop-after");
        }
      } else if (!row || row === dragged) {
        if (!marker || marker.list !== list) {
          clearMarker();
          marker = { list: list };
          if (list !== dragged.parentNode) list.closest(".plan-panel").classList.add("is-drop-target");
        }
      }
    });

    root.addEventListener("drop", function (event) {
      if (!dragged) return;
      var list = targetList(event.target);
      if (!list) return;
      event.preventDefault();
      var row = dragged;
      var to = list.getAttribute("data-list");
      var from = listName(row);
      var anchor = null;
      if (marker && marker.row) anchor = marker.before ? { before: marker.row } : { after: marker.row };
      clearMarker();
      if (!anchor && to === from) return; // dropped where it was
      if (anchor && ((anchor.before && anchor.before.previousElementSibling === row) || (anchor.after && anchor.after.nextElementSibling === row))) {
        if (to === from) return;
      }
      move(row, to, anchor, null);
    });

    root.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("is-dragging");
      dragged = null;
      clearMarker();
    });
  }

  // --- "Show more" in the product backlog ------------------------------------------------------------

  root.addEventListener("click", function (event) {
    var link = event.target.closest("[data-plan-more]");
    if (!link) return;
    event.preventDefault();
    var item = link.closest(".plan-more");
    link.classList.add("is-loading");
    shared.fetchHTML(link.href)
      .then(function (html) {
        var rows = shared.parseHTML(html);
        var seen = {};
        rowsOf(root).forEach(function (row) { seen[row.getAttribute("data-key")] = true; });
        Array.prototype.slice.call(rows.children).forEach(function (node) {
          if (node.classList.contains("plan-row") && seen[node.getAttribute("data-key")]) return;
          lists.backlog.insertBefore(node, item);
        });
        item.remove();
      })
      .catch(function () {
        link.classList.remove("is-loading");
        toast(message("offline"), true);
      });
  });
})();

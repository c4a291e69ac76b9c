// The backlog pages: drag-and-drop ranking (with a keyboard and touch alternative), quick add,
// selection for bulk edits, Markdown preview and the item form's guards. Plain JavaScript, no
// build step. Every form still works without it; dragging is the one thing that needs it.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var shared = window.Scrumboard; // app.js
  var flash = shared.flash;

  function toast(text, isError) {
    shared.toast("backlog-toast", text, isError);
  }

  // --- Ranking: drag and drop, Alt+arrows, the handle's menu ------------------------------

  var board = document.getElementById("backlog");
  var list = document.getElementById("backlog-rows");

  function isRow(node) {
    return node && node.classList && node.classList.contains("backlog-row");
  }

  function rows() {
    return list ? Array.prototype.slice.call(list.querySelectorAll(".backlog-row")) : [];
  }

  function sibling(row, step) {
    var node = step < 0 ? row.previousElementSibling : row.nextElementSibling;
    while (node && !isRow(node)) node = step < 0 ? node.previousElementSibling : node.nextElementSibling;
    return node;
  }

  function firstPage() {
    return !new URLSearchParams(window.location.search).get("after");
  }

  function hasMore() {
    return Boolean(list.querySelector(".backlog-more"));
  }

  // Puts ``row`` before or after ``reference`` (or out of view); returns how to undo it.
  function place(row, reference, before) {
    var parent = row.parentNode;
    var next = row.nextSibling;
    if (!reference) row.remove();
    else if (before) list.insertBefore(row, reference);
    else list.insertBefore(row, reference.nextSibling);
    return function undo() { parent.insertBefore(row, next); };
  }

  function saveMove(row, payload, undo, focusAfter) {
    var url = board.getAttribute("data-move-url").replace("ITEM-KEY", encodeURIComponent(row.getAttribute("data-key")));
    row.classList.add("is-saving");
    if (focusAfter) focusAfter.focus();
    return shared.sendJSON(url, "POST", payload).then(function () {
      row.classList.remove("is-saving");
      if (row.isConnected) flash(row);
      toast(board.getAttribute("data-msg-moved") + " " + row.getAttribute("data-key"));
    }).catch(function (error) {
      row.classList.remove("is-saving");
      undo();
      flash(row);
      if (focusAfter) focusAfter.focus();
      var reason = error instanceof TypeError ? board.getAttribute("data-msg-offline") : error.message;
      toast(board.getAttribute("data-msg-move-failed") + " " + reason, true);
    });
  }

  function moveStep(row, step, focusAfter) {
    var neighbour = sibling(row, step);
    if (!neighbour) return;
    var undo = place(row, neighbour, step < 0);
    var payload = step < 0 ? { before: neighbour.getAttribute("data-key") } : { after: neighbour.getAttribute("data-key") };
    saveMove(row, payload, undo, focusAfter);
  }

  function moveToEdge(row, position, focusAfter) {
    var all = rows();
    var undo;
    if (position === "top") {
      undo = firstPage() ? place(row, all[0] === row ? null : all[0], true) : place(row, null);
      if (firstPage() && all[0] === row) return;
    } else {
      var last = all[all.length - 1];
      if (last === row && !hasMore()) return;
      undo = hasMore() ? place(row, null) : place(row, last, false);
    }
    saveMove(row, { position: position }, undo, row.isConnected ? focusAfter : null);
  }

  var menu = null;

  function closeMenu(returnFocus) {
    if (!menu) return;
    var handle = menu._handle;
    menu.remove();
    menu = null;
    if (returnFocus && handle && handle.isConnected) handle.focus();
  }

  function openMenu(handle) {
    closeMenu(false);
    var row = handle.closest(".backlog-row");
    menu = document.createElement("div");
    menu.className = "move-menu";
    menu.setAttribute("role", "menu");
    menu._handle = handle;
    var actions = [
      ["msgTop", function () { moveToEdge(row, "top", handle); }, !sibling(row, -1) && firstPage()],
      ["msgUp", function () { moveStep(row, -1, handle); }, !sibling(row, -1)],
      ["msgDown", function () { moveStep(row, 1, handle); }, !sibling(row, 1)],
      ["msgBottom", function () { moveToEdge(row, "bottom", handle); }, !sibling(row, 1) && !hasMore()]
    ];
    actions.forEach(function (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.setAttribute("role", "menuitem");
      button.textContent = board.getAttribute("data-" + action[0].replace(/[A-Z]/g, function (c) { return "-" + c.toLowerCase(); }));
      button.disabled = action[2];
      button.addEventListener("click", function () { closeMenu(false); action[1](); });
      menu.appendChild(button);
    });
    document.body.appendChild(menu);
    var rect = handle.getBoundingClientRect();
    var left = Math.min(rect.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - menu.offsetWidth - 8);
    menu.style.left = Math.max(8, left) + "px";
    menu.style.top = rect.bottom + window.scrollY + 4 + "px";
    var first = menu.querySelector("button:not(:disabled)");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    if (menu && !menu.contains(event.target) && !event.target.closest(".drag-handle")) closeMenu(false);
  });
  document.addEventListener("keydown", function (event) {
    if (!menu) return;
    if (event.key === "Escape") { event.preventDefault(); closeMenu(true); return; }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var buttons = Array.prototype.slice.call(menu.querySelectorAll("button:not(:disabled)"));
      var index = buttons.indexOf(document.activeElement);
      var next = buttons[(index + (event.key === "ArrowDown" ? 1 : buttons.length - 1)) % buttons.length];
      if (next) { event.preventDefault(); next.focus(); }
    }
  });

  function setUpRanking() {
    var dragged = null;
    var target = null;
    var before = true;

    function clearIndicator() {
      if (target) target.classList.remove("drop-before", "drop-after");
      target = null;
    }

    list.addEventListener("dragstart", function (event) {
      var handle = event.target.closest && event.target.closest(".drag-handle");
      if (!handle) return;
      closeMenu(false);
      dragged = handle.closest(".backlog-row");
      shared.startDrag(event, dragged, function () { return dragged; });
      try { event.dataTransfer.setDragImage(dragged, 24, 20); } catch (error) { /* older browsers */ }
    });

    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      var row = event.target.closest && event.target.closest(".backlog-row");
      if (!row || row === dragged) { clearIndicator(); return; }
      shared.allowDrop(event);
      var upper = shared.inUpperHalf(event, row);
      if (row !== target || upper !== before) {
        clearIndicator();
        target = row;
        before = upper;
        row.classList.add(upper ? "drop-before" : "drop-after");
      }
    });

    list.addEventListener("drop", function (event) {
      if (!dragged || !target) return;
      event.preventDefault();
      var row = dragged;
      var reference = target;
      var above = before;
      clearIndicator();
      if ((above && sibling(reference, -1) === row) || (!above && sibling(reference, 1) === row)) return;
      var undo = place(row, reference, above);
      var key = reference.getAttribute("data-key");
      saveMove(row, above ? { before: key } : { after: key }, undo, null);
    });

    list.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("is-dragging");
      dragged = null;
      clearIndicator();
    });

    list.addEventListener("click", function (event) {
      var handle = event.target.closest(".drag-handle");
      if (handle) {
        if (menu && menu._handle === handle) closeMenu(true);
        else openMenu(handle);
      }
    });

    list.addEventListener("keydown", function (event) {
      var row = event.target.closest(".backlog-row");
      if (!row || event.target.tagName === "SELECT") return;
      var onHandle = event.target.classList.contains("drag-handle");
      if ((event.altKey || onHandle) && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
        event.preventDefault();
        moveStep(row, event.key === "ArrowUp" ? -1 : 1, event.target);
      } else if (onHandle && (event.key === "Home" || event.key === "End")) {
        event.preventDefault();
        moveToEdge(row, event.key === "Home" ? "top" : "bottom", event.target);
      } else if (onHandle && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        openMenu(event.target);
      }
    });
  }

  if (board && list && board.classList.contains("is-editable")) setUpRanking();

  // Rows loaded by "Show more": a row moved past the old page end may come twice.
  document.addEventListener("htmx:afterSettle", function () {
    if (!list) return;
    var seen = {};
    rows().forEach(function (row) {
      var key = row.getAttribute("data-key");
      if (seen[key]) row.remove();
      seen[key] = true;
    });
    updateSelection();
  });

  // The estimate select is replaced after saving; keep the keyboard focus on it.
  var estimateFocus = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    estimateFocus = elt && elt.classList && elt.classList.contains("estimate-select") && document.activeElement === elt
      ? elt.closest(".backlog-row").getAttribute("data-key") : null;
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!estimateFocus) return;
    var select = document.querySelector('.backlog-row[data-key="' + estimateFocus + '"] .estimate-select');
    if (select) select.focus();
    estimateFocus = null;
  });

  // --- Selection and the bulk bar ---------------------------------------------------------

  var bulk = document.querySelector("[data-bulk]");
  var lastChecked = null;

  function updateSelection() {
    if (!bulk || !list) return;
    var boxes = list.querySelectorAll(".row-check");
    var checked = list.querySelectorAll(".row-check:checked").length;
    var count = bulk.querySelector("[data-bulk-count]");
    count.textContent = checked === 1 ? count.getAttribute("data-one") : count.getAttribute("data-many").replace("%(count)s", checked);
    bulk.classList.toggle("is-active", checked > 0);
    var all = document.querySelector("[data-check-all]");
    if (all) {
      all.checked = checked > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
  }

  if (bulk && list) {
    list.addEventListener("click", function (event) {
      var box = event.target.closest(".row-check");
      if (!box) return;
      if (event.shiftKey && lastChecked && lastChecked !== box) {
        var boxes = Array.prototype.slice.call(list.querySelectorAll(".row-check"));
        var from = boxes.indexOf(lastChecked);
        var to = boxes.indexOf(box);
        boxes.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (each) { each.checked = box.checked; });
      }
      lastChecked = box;
      updateSelection();
    });
    list.addEventListener("change", updateSelection);
    var all = document.querySelector("[data-check-all]");
    if (all) {
      all.addEventListener("change", function () {
        list.querySelectorAll(".row-check").forEach(function (box) { box.checked = all.checked; });
        updateSelection();
      });
    }
    bulk.querySelector("[data-bulk-clear]").addEventListener("click", function () {
      list.querySelectorAll(".row-check:checked").forEach(function (box) { box.checked = false; });
      updateSelection();
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !menu && bulk.classList.contains("is-active") && !event.target.closest("[data-bulk]")) {
        bulk.querySelector("[data-bulk-clear]").click();
      }
    });
    updateSelection(); // the browser may restore checked boxes on "back"
  }

  // --- Filters submit themselves ------------------------------------------------------------

  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  });

  // --- Quick add ---------------------------------------------------------------------------

  var quick = document.querySelector("[data-quick-add]");
  if (quick) {
    var input = quick.querySelector("textarea");
    var submit = quick.querySelector("button[type=submit]");
    var grow = function () {
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight + 2, 192) + "px";
      var lines = input.value.split(/\r?\n/).filter(function (line) { return line.trim(); }).length;
      submit.textContent = lines > 1 ? submit.getAttribute("data-add-many").replace("%(count)s", lines) : submit.getAttribute("data-add-label");
    };
    input.addEventListener("input", grow);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
        event.preventDefault();
        if (input.value.trim()) quick.requestSubmit ? quick.requestSubmit() : quick.submit();
      }
    });
    quick.addEventListener("submit", function () {
      submit.disabled = true;
      try {
        sessionStorage.setItem("backlog.quickAdd", "1");
        var position = quick.querySelector("input[name=position]:checked");
        if (position) localStorage.setItem("backlog.position", position.value);
      } catch (error) { /* storage may be off */ }
    });
    try {
      var remembered = localStorage.getItem("backlog.position");
      var radio = remembered && !quick.classList.contains("has-error") && quick.querySelector('input[name=position][value="' + remembered + '"]');
      if (radio) radio.checked = true;
      if (sessionStorage.getItem("backlog.quickAdd")) {
        sessionStorage.removeItem("backlog.quickAdd");
        input.focus(); // keep typing the next story
      }
    } catch (error) { /* storage may be off */ }
    grow();
  }

  // --- Markdown: Write / Preview ---------------------------------------------------------------

  document.querySelectorAll("[data-md-tabs]").forEach(function (box) {
    var textarea = box.querySelector("textarea");
    var pane = box.querySelector('[data-md-pane="preview"]');
    var shown = "";

    function select(name) {
      box.setAttribute("data-md-active", name);
      box.querySelectorAll("[data-md-tab]").forEach(function (tab) {
        tab.setAttribute("aria-selected", String(tab.getAttribute("data-md-tab") === name));
      });
      if (name === "write") {
        textarea.focus();
      } else if (textarea.value !== shown) {
        shown = textarea.value;
        var body = new FormData();
        body.append("text", textarea.value);
        pane.classList.add("is-loading");
        shared.fetchHTML(box.getAttribute("data-preview-url"), body).then(function (html) {
          pane.innerHTML = html; // sanitized by the server (backlog.markdown)
        }).catch(function () {
          shown = "";
        }).finally(function () {
          pane.classList.remove("is-loading");
        });
      }
    }

    var current = box.querySelector('[data-md-tab][aria-selected="true"]');
    box.setAttribute("data-md-active", current ? current.getAttribute("data-md-tab") : "write");
    if (box.getAttribute("data-md-active") === "preview") shown = textarea.value;
    box.addEventListener("click", function (event) {
      var tab = event.target.closest("[data-md-tab]");
      if (tab) { select(tab.getAttribute("data-md-tab")); return; }
      // Clicking the shown description (not one of its links) starts editing it.
      if (event.target.closest('[data-md-pane="preview"]') && !event.target.closest("a") && textarea.form && textarea.form.id === "item-form") {
        select("write");
      }
    });
  });

  // --- The item form: unsaved changes, the Definition of Done gate ------------------------------

  var itemForm = document.querySelector("[data-item-form]");
  if (itemForm) {
    var dirty = false;
    var note = document.querySelector("[data-unsaved-note]");
    var markDirty = function (event) {
      if (event.target.form !== itemForm) return;
      dirty = true;
      if (note) note.hidden = false;
      refreshOverride();
    };
    document.addEventListener("input", markDirty);
    document.addEventListener("change", markDirty);
    itemForm.addEventListener("submit", function () { dirty = false; });

    // The title wraps like text but stays one line: Enter saves.
    var title = document.querySelector('textarea.title-input[form="item-form"]');
    if (title) {
      var fit = function () { title.style.height = "auto"; title.style.height = title.scrollHeight + 2 + "px"; };
      title.addEventListener("input", fit);
      title.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.isComposing) {
          event.preventDefault();
          itemForm.requestSubmit ? itemForm.requestSubmit() : itemForm.submit();
        }
      });
      window.addEventListener("resize", fit);
      fit();
    }
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });

    var status = document.querySelector('select[name="status"][form="item-form"]');
    var override = document.querySelector("[data-override]");
    var doneStatuses = (itemForm.getAttribute("data-done-statuses") || "").trim().split(/\s+/);
    var storedDone = itemForm.getAttribute("data-stored-done") === "1";
    var shownByServer = override && !override.hidden;
    var refreshOverride = function () {
      if (!status || !override || shownByServer) return;
      var open = document.querySelectorAll('input[name="done"][form="item-form"]:not(:checked)').length;
      override.hidden = !(doneStatuses.indexOf(status.value) !== -1 && !storedDone && open > 0);
    };
  }
})();

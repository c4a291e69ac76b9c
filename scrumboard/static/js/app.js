// Small progressive enhancements; every page works without them. Also window.Scrumboard, the
// helpers the page scripts share (this file is loaded, deferred, before them).
(function () {
  "use strict";

  // Buttons with data-confirm ask before their form is submitted.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // Buttons with data-copy="#selector" copy that input's value.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || label;
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done);
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // An open menu closes on a click elsewhere or on Escape.
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details.menu"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });

  // --- Helpers shared by the page scripts (backlog.js, board.js, planning.js) ------------------

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (error) {
      var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
      return match ? decodeURIComponent(match[1]) : "";
    }
  }

  // Shows ``text`` in the status box with id ``boxId`` for a moment (errors stay longer).
  var toastTimers = {};
  function toast(boxId, text, isError) {
    var box = document.getElementById(boxId);
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("is-error", Boolean(isError));
    box.hidden = false;
    clearTimeout(toastTimers[boxId]);
    toastTimers[boxId] = setTimeout(function () { box.hidden = true; }, isError ? 8000 : 2500);
  }

  // Sends ``body`` as JSON; resolves with the JSON answer. A refusal rejects with an Error whose
  // message is the answer's ``detail`` (or the status line), with ``status`` and ``data`` (the
  // answer's JSON, or {}) attached; a network failure rejects with fetch's TypeError.
  function sendJSON(url, method, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.ok) return response.json();
      return response.json().catch(function () { return {}; }).then(function (data) {
        var error = new Error(data.detail || response.status + " " + response.statusText);
        error.status = response.status;
        error.data = data;
        throw error;
      });
    });
  }

  // Fetches an HTML fragment: a GET, or with ``formData`` a POST carrying the CSRF token.
  function fetchHTML(url, formData) {
    var init = { credentials: "same-origin", headers: { "Accept": "text/html" } };
    if (formData) {
      init.method = "POST";
      init.headers["X-CSRFToken"] = csrfToken();
      init.body = formData;
    }
    return fetch(url, init).then(function (response) {
      if (!response.ok) throw new Error(response.statusText);
      return response.text();
    });
  }

  // Parses an HTML string into a DocumentFragment (nothing runs, nothing is inserted).
  function parseHTML(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }

  // Replays the "just moved" highlight on ``node``.
  function flash(node) {
    node.classList.remove("just-moved");
    void node.offsetWidth; // restart the animation
    node.classList.add("just-moved");
  }

  // --- Drag and drop: the parts every sortable list does the same way ---

  // Starts dragging ``node`` (its data-key is the payload); ``current`` returns the node still
  // being dragged, which is marked once the browser has taken its drag image.
  function startDrag(event, node, current) {
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", node.getAttribute("data-key"));
    setTimeout(function () {
      var dragged = current();
      if (dragged) dragged.classList.add("is-dragging");
    }, 0);
  }

  // In a dragover handler: this place takes the drop.
  function allowDrop(event) {
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  }

  // Whether the pointer is over the upper half of ``node`` (drop before it) or not (after it).
  function inUpperHalf(event, node) {
    var rect = node.getBoundingClientRect();
    return event.clientY < rect.top + rect.height / 2;
  }

  window.Scrumboard = {
    csrfToken: csrfToken,
    toast: toast,
    sendJSON: sendJSON,
    fetchHTML: fetchHTML,
    parseHTML: parseHTML,
    flash: flash,
    startDrag: startDrag,
    allowDrop: allowDrop,
    inUpperHalf: inUpperHalf
  };
})();

// The daily scrum's facilitator page: the time-box countdown (from the server's start time, so a
// reload continues it) and present/absent toggles sent to the API without reloading the page.
(function () {
  "use strict";

  var S = window.Scrumboard;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function format(seconds) {
    var s = Math.abs(seconds);
    return Math.floor(s / 60) + ":" + pad(s % 60);
  }

  // The per-speaker hint: whose turn it is by the clock, among those present, in speaking order.
  function markSpeaker(elapsed) {
    var list = document.querySelector("[data-per-speaker]");
    if (!list) return;
    var share = parseInt(list.getAttribute("data-per-speaker"), 10) || 1;
    var speakers = list.querySelectorAll(".standup-speaker:not(.is-absent)");
    var turn = Math.floor(Math.max(elapsed, 0) / share);
    speakers.forEach(function (node, index) {
      node.classList.toggle("is-speaking", index === turn);
    });
  }

  function startCountdown(node) {
    var started = Date.parse(node.getAttribute("data-started"));
    var total = parseInt(node.getAttribute("data-seconds"), 10);
    // The server's clock decides: the offset corrects a browser clock that is off.
    var offset = Date.parse(node.getAttribute("data-server-now")) - Date.now();
    var warned = false;
    function tick() {
      var now = Date.now() + offset;
      var left = Math.round((started + total * 1000 - now) / 1000);
      if (left >= 0) {
        node.textContent = format(left);
      } else {
        node.textContent = "+" + format(left) + " " + node.getAttribute("data-over-label");
      }
      node.classList.toggle("is-low", left >= 0 && left <= 60);
      node.classList.toggle("is-over", left < 0);
      markSpeaker(total - left);
      if (left < 0 && !warned) {
        warned = true;
        S.toast("standup-toast", node.getAttribute("data-up-label"), true);
      }
    }
    tick();
    setInterval(tick, 1000);
  }

  function toggleAttendance(form) {
    var button = form.querySelector("button");
    var presentField = form.querySelector("input[name=present]");
    var present = presentField.value === "1";
    button.disabled = true;
    S.sendJSON(form.getAttribute("data-api"), "POST", {
      member: form.getAttribute("data-username"),
      present: present
    }).then(function () {
      presentField.value = present ? "0" : "1";
      button.setAttribute("aria-pressed", present ? "true" : "false");
      button.textContent = button.getAttribute(present ? "data-present-label" : "data-absent-label");
      button.classList.toggle("btn-ghost", !present);
      form.closest(".standup-speaker").classList.toggle("is-absent", !present);
    }).catch(function (error) {
      S.toast("standup-toast", error.message, true);
    }).then(function () {
      button.disabled = false;
    });
  }

  document.querySelectorAll("[data-countdown]").forEach(startCountdown);
  document.addEventListener("submit", function (event) {
    var form = event.target.closest(".standup-attendance");
    if (!form) return;
    event.preventDefault();
    toggleAttendance(form);
  });
})();

// The status page's one script (no framework, no build step). Without it every page still
// works: times stay in UTC, the course page updates on reload, copying is by hand.
"use strict";

// Times are sent in UTC; show them in the viewer's own time zone.
function localTimes(root) {
  root.querySelectorAll("time[datetime]").forEach(function (el) {
    var at = new Date(el.getAttribute("datetime"));
    if (isNaN(at)) { return; }
    el.title = el.textContent;
    el.textContent = at.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
  });
}

function copyButtons(root) {
  root.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "Copied";
      });
    });
  });
}

// The course page: the server sends its re-rendered live parts whenever a step changes, the
// state (event "status", into #live) and the step tables (event "steps", into #steps), and
// the invite links when they changed (event "invites", into #invites).
function liveUpdates() {
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var source = new EventSource(live.getAttribute("data-events"));
  [
    ["status", live],
    ["steps", document.getElementById("steps")],
    ["invites", document.getElementById("invites")]
  ].forEach(function (part) {
    var target = part[1];
    if (!target) { return; }
    source.addEventListener(part[0], function (event) {
      target.innerHTML = event.data;
      localTimes(target);
      copyButtons(target);
      target.setAttribute("data-updated", String(Date.now()));
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  localTimes(document);
  copyButtons(document);
  liveUpdates();
});

// Live updates: on each change the server announces (Server-Sent Events, /events), refetch the
// page's live fragment and swap it in. No reload, so a reply being typed is never lost.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var region = document.getElementById("live");
    if (!region || !window.EventSource || !window.fetch) { return; }
    var url = region.getAttribute("data-live");
    var handoffId = region.getAttribute("data-handoff-id");
    var busy = false, again = false;

    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.status === 401) { window.location.assign("/login"); return null; }
          // transferred out of this operator's areas: back to the queue
          if (response.status === 404 && handoffId) { window.location.assign("/"); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null) { return; }
          region.innerHTML = html;
          // one short announcement for screen readers, not the whole region read again
          var status = document.getElementById("live-status");
          if (status) { status.textContent = ""; status.textContent = status.getAttribute("data-text"); }
        })
        .catch(function () { /* the next change or reconnection refreshes again */ })
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    }

    var source = new EventSource("/events");
    source.addEventListener("change", function (event) {
      if (handoffId) {
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (String(data.handoff_id) !== handoffId) { return; }
      }
      refresh();
    });
    // after a dropped connection, changes may have been missed
    source.addEventListener("open", refresh);
  });
})();

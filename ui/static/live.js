// Live updates without a framework: when the stream named by a [data-stream] region
// reports a change, fetch this page again and swap in the new region. Pages work the
// same without this script; it only saves a reload.
(function () {
  "use strict";
  var region = document.querySelector("[data-live][data-stream]");
  if (!region || !window.EventSource) { return; }
  var pending = false;
  function refresh() {
    if (pending) { return; }
    pending = true;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-live]");
        if (fresh) { region.innerHTML = fresh.innerHTML; }
      })
      .finally(function () { pending = false; });
  }
  var stream = new EventSource(region.getAttribute("data-stream"));
  stream.addEventListener("updates", refresh);
  stream.addEventListener("reset", refresh);
})();

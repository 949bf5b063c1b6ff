// Live updates without a framework. Pages work the same without this script; it
// only saves reloads:
// - a [data-live][data-stream] region is swapped for a fresh copy of itself when the
//   stream reports a change; on idea lists, new ideas wait behind a banner instead,
//   so the list does not jump under the reader's eyes;
// - [data-deadline] texts count down to a time.
(function () {
  "use strict";

  function swap(region) {
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-live]");
        if (fresh) { region.innerHTML = fresh.innerHTML; }
      });
  }

  function follow(region) {
    var pending = false, waiting = 0;
    var banner = document.querySelector("[data-new-banner]");
    function refresh() {
      if (pending) { return; }
      pending = true;
      swap(region).finally(function () { pending = false; });
    }
    if (banner) {
      banner.addEventListener("click", function () {
        waiting = 0;
        banner.hidden = true;
        refresh();
      });
    }
    var stream = new EventSource(region.getAttribute("data-stream"));
    stream.addEventListener("updates", function (event) {
      var updates = JSON.parse(event.data);
      var fresh = updates.filter(function (u) { return u.kind === "idea" && banner; });
      if (fresh.length && fresh.length === updates.length) {
        waiting += fresh.length;
        banner.textContent = waiting === 1 ? "1 new idea: show it" : waiting + " new ideas: show them";
        banner.hidden = false;
        return;
      }
      refresh();
    });
    stream.addEventListener("reset", refresh);
  }

  function countdown(el) {
    var deadline = Date.parse(el.getAttribute("data-deadline"));
    var before = el.getAttribute("data-before"), after = el.getAttribute("data-after");
    function tick() {
      var left = Math.max(0, Math.floor((deadline - Date.now()) / 60000));
      var h = Math.floor(left / 60), m = left % 60;
      el.textContent = left > 0 ? before.replace("{}", (h ? h + " h " : "") + m + " min") : after;
    }
    tick();
    window.setInterval(tick, 15000);
  }

  var region = document.querySelector("[data-live][data-stream]");
  if (region && window.EventSource) { follow(region); }
  Array.prototype.forEach.call(document.querySelectorAll("[data-deadline]"), countdown);
})();

// Live updates without a framework. Pages work the same without this script; it
// only saves reloads:
// - a [data-live][data-stream] region is swapped for a fresh copy of itself when the
//   stream reports a change: at once after a quiet spell, else once a gap has passed since
//   the last fetch (see follow), the changes meanwhile all shown by that one fetch; on idea
//   lists, new ideas wait behind a banner instead, so the list does not jump under the
//   reader's eyes; kinds named in [data-ignore] change nothing the region shows; what the
//   reader is typing in it survives the swap (a reply or edit whose form the fresh copy no
//   longer offers stays, read only, to copy; a choice in a list stays while the fresh copy
//   offers it); the tab's title follows the fresh copy's (an idea's title edited); parts
//   of the page outside the region that show what it shows ([data-live-part][id]: Jam
//   Central's topic forms) are swapped from the same copy, only when they changed (an open
//   list is not closed under the reader at each vote); a stream the server refused (429,
//   503), which the browser gives up, is opened again from its last update (see follow);
//   if the page is gone (404), a notice says why and its forms stop taking input, what was
//   typed kept to copy, until it is back; if the fresh copy says the jam closed or the
//   reader was blocked ([data-writes-closed]), the forms it names stop taking input and
//   say why, and when it no longer says so they work again (forms a blocked reader's page
//   was rendered with, hidden ([data-shut]), are shown);
// - [data-deadline] texts count down to a time, and the region is fetched again once it
//   has passed (the jam opened or ended);
// - a [data-similar] form shows ideas like the one being typed, at each pause;
// - what was typed into a [data-keep] form survives its refusal: kept for this tab as the
//   form is sent, put back if the page it comes back to says why it was refused, or shown
//   to copy if that page no longer has the form;
// - what was typed into a page's other forms survives sending one of them (a vote).
(function () {
  "use strict";

  // The page is gone (an idea hidden by an organizer while it was open): say so, with the
  // server's message. Its forms could only be refused now: what was typed in them stays,
  // readable and copyable (as when the jam closes), the rest of them is disabled.
  // The page is being written over by a form's answer (sendComingBack): its streams are
  // closed and nothing more of it is fetched.
  var leaving = false, streams = [];
  var wentAway = null;  // the notices and the fields gone() changed, while the page is gone
  function gone(region, html) {
    if (wentAway) { return; }
    var doc = new DOMParser().parseFromString(html, "text/html");
    var said = doc.querySelector("[data-error]");
    var notice = document.createElement("p");
    notice.className = "notice";
    notice.setAttribute("role", "alert");
    notice.textContent = said ? said.textContent : "This page is no longer available.";
    region.parentNode.insertBefore(notice, region);
    wentAway = { notices: [notice], fields: [], readOnly: [] };
    var forms = Array.prototype.slice.call(document.querySelectorAll("main form:not([data-stays])"));
    forms.forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (isText(el)) {
          if (!el.readOnly) { el.readOnly = true; wentAway.readOnly.push(el); }
        } else if (!el.disabled) { el.disabled = true; wentAway.fields.push(el); }
      });
    });
    // Said at the form to be typed in as well: the reason above may be out of view.
    var typed = forms.filter(function (form) {
      return !region.contains(form) && hasTyped(form);
    })[0];
    if (typed) {
      var copy = document.createElement("p");
      copy.className = "notice";
      copy.setAttribute("role", "status");
      copy.textContent = "What you typed stays here for you to copy.";
      typed.parentNode.insertBefore(copy, typed);
      wentAway.notices.push(copy);
    }
  }
  // The page is back (the idea restored): the notices go, and the forms work again.
  function back() {
    if (!wentAway) { return; }
    wentAway.notices.forEach(function (n) { n.remove(); });
    wentAway.fields.forEach(function (el) { el.disabled = false; });
    wentAway.readOnly.forEach(function (el) { el.readOnly = false; });
    wentAway = null;
  }
  function isText(el) { return el.tagName === "TEXTAREA" || el.type === "text"; }
  // Something typed into the form: not an empty field, nor one as the page filled it in
  // (an edit form's own text).
  function hasTyped(form) {
    return Array.prototype.some.call(form.elements, function (el) {
      return isText(el) && el.value.trim() !== "" && el.value !== el.defaultValue;
    });
  }

  // Where the focus is, as something the fresh copy has too: the element's id, else the
  // n-th element of its kind with its text and link or form (a vote button, a reply's
  // "Reply", an idea's link), so a live update does not throw a keyboard user to the top.
  function focusOf(region) {
    var el = document.activeElement;
    if (!el || !region.contains(el) || el === region) { return null; }
    if (el.id) { var id = el.id; return function () { return document.getElementById(id); }; }
    function key(e) {
      var form = e.form || e.closest("form"), parent = form && form.querySelector("input[name=parent_id]");
      return [e.tagName, e.getAttribute("href"), form && form.getAttribute("action"),
              parent && parent.value, e.value, e.textContent.trim()].join("|");
    }
    var mine = key(el), alike = Array.prototype.filter.call(
      region.querySelectorAll(el.tagName), function (e) { return key(e) === mine; });
    var n = alike.indexOf(el);
    return function () {
      var now = Array.prototype.filter.call(
        region.querySelectorAll(el.tagName), function (e) { return key(e) === mine; });
      return now[n] || null;
    };
  }

  // What the reader is doing inside the region (a reply or an edit being typed, a form
  // opened, a choice made, the focus), put back once the region has been swapped for a
  // fresh copy. A field as the page filled it in (an edit form's text) is not being typed:
  // the fresh copy's own text stands.
  function keep(region) {
    var values = {}, opened = [], focused = focusOf(region), carried = {}, caret = {};
    var chosen = {};
    Array.prototype.forEach.call(region.querySelectorAll("select[id]"), function (el) {
      // A choice stays while the fresh copy offers it: a list's first topic may be another
      // one there, and the reader is renaming the one they saw. In a form filled in with
      // what stands ([data-prefilled]: a decision), only a choice the reader changed.
      var shown = el.querySelector("option[selected]") || el.options[0];
      var choice = el.options[el.selectedIndex];
      if (choice && (choice !== shown || !(el.form && el.form.hasAttribute("data-prefilled")))) {
        chosen[el.id] = el.value;
      }
    });
    Array.prototype.forEach.call(region.querySelectorAll("textarea[id], input[id]"), function (el) {
      if (el.type !== "hidden" && el.value && el.value !== el.defaultValue) {
        values[el.id] = el.value;
        // Where the cursor was: text typed mid-field must not jump to its end.
        try { caret[el.id] = [el.selectionStart, el.selectionEnd, el.selectionDirection]; }
        catch (e) { /* a field without a selection */ }
        var form = el.form;
        var item = form && form.hasAttribute("data-keep") && form.closest("li[id], [data-item][id]");
        if (item) { carried[el.id] = { box: form.closest("details") || form, item: item.id }; }
      }
    });
    Array.prototype.forEach.call(region.querySelectorAll("details[open]"), function (d) {
      var named = d.querySelector("[id]");
      if (named) { opened.push(named.id); }
    });
    return function (marker) {
      Object.keys(values).forEach(function (id) {
        var el = document.getElementById(id);
        if (!el && carried[id]) { carry(region, carried[id], marker); el = document.getElementById(id); }
        if (el) {
          el.value = values[id];
          var at = caret[id];
          if (at && at[0] !== null) {
            try { el.setSelectionRange(at[0], at[1], at[2] || "none"); } catch (e) { /* none */ }
          }
        }
      });
      Object.keys(chosen).forEach(function (id) {
        var el = document.getElementById(id);
        if (el && el.tagName === "SELECT" && Array.prototype.some.call(
          el.options, function (o) { return o.value === chosen[id]; })) { el.value = chosen[id]; }
      });
      opened.concat(Object.keys(values)).forEach(function (id) {
        var el = document.getElementById(id), d = el && el.closest("details");
        if (d) { d.open = true; }
      });
      var again = focused && focused();
      if (again) { again.focus({ preventScroll: true }); }
    };
  }

  // A reply or an edit being typed whose form the fresh copy no longer offers (the jam
  // closed, the reader was blocked): the old form is put back under its comment (or in its
  // idea's [data-item] place), what was typed in it
  // readable and copyable, the rest disabled, saying why. The next fresh copy replaces it
  // (with the form itself, if offered again: the text then goes there).
  function carry(region, was, marker) {
    var item = document.getElementById(was.item), box = was.box;
    var form = box.tagName === "FORM" ? box : box.querySelector("form");
    if (item) { item.insertBefore(box, item.querySelector(":scope > ul.comments")); }
    else { region.appendChild(box); }  // its comment gone too: at the end, not lost
    if (box.tagName === "DETAILS") { box.open = true; }
    Array.prototype.forEach.call(form.elements, function (el) {
      if (isText(el)) { el.readOnly = true; } else { el.disabled = true; }
    });
    var said = form.querySelector("[data-carried]");
    if (!said) {
      said = document.createElement("p");
      said.className = "notice";
      said.setAttribute("role", "status");
      said.setAttribute("data-carried", "");
      form.insertBefore(said, form.firstChild);
    }
    said.textContent = (marker ? marker.getAttribute("data-writes-closed") + " " : "") +
      "What you typed stays here for you to copy.";
  }

  // The jam closed, or the reader was blocked, while the page was open: its forms outside
  // the region would only be refused now. They stay, what was typed in them readable and
  // copyable, and say why they take nothing.
  // Undone when a later copy no longer says so (the jam extended, the reader unblocked).
  var closedForms = null;  // the notice and the fields closeForms changed
  function saidBy(marker) {
    return marker && marker.getAttribute("data-writes-closed") + marker.getAttribute("data-forms");
  }
  function closeForms(region, marker) {
    var said = saidBy(marker);
    if (closedForms && closedForms.said === said) { return; }  // as it was: not said again
    openForms();
    if (!marker) { return; }
    var forms = Array.prototype.filter.call(
      document.querySelectorAll("main " + marker.getAttribute("data-forms")),
      function (form) { return !region.contains(form); });
    if (!forms.length) { return; }
    closedForms = { notice: document.createElement("p"), readOnly: [], disabled: [], shut: [], said: said };
    forms.forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (isText(el)) {
          if (!el.readOnly) { el.readOnly = true; closedForms.readOnly.push(el); }
        } else if (!el.disabled) { el.disabled = true; closedForms.disabled.push(el); }
      });
    });
    var notice = closedForms.notice;
    notice.className = "notice";
    notice.setAttribute("role", "status");
    notice.textContent = marker.getAttribute("data-writes-closed") +
      (forms.some(hasTyped) ? " What you typed stays here for you to copy." : "");
    forms[0].parentNode.insertBefore(notice, forms[0]);
  }
  function openForms() {
    if (!closedForms) { return; }
    closedForms.notice.remove();
    closedForms.readOnly.forEach(function (el) { el.readOnly = false; });
    closedForms.disabled.forEach(function (el) { el.disabled = false; });
    closedForms.shut.forEach(function (el) { el.hidden = false; });
    closedForms = null;
  }
  // A page rendered for a blocked reader has its forms hidden ([data-shut]) under the
  // server's notice ([data-shut-notice]): taken as closed, so an unblock arriving live
  // shows them and takes the notice away, and a copy still saying so changes nothing.
  function adoptShut(region) {
    var notice = document.querySelector("main [data-shut-notice]");
    var marker = region.querySelector("[data-writes-closed]");
    if (!notice || !marker) { return; }
    closedForms = { notice: notice, readOnly: [], disabled: [], said: saidBy(marker),
                    shut: Array.prototype.slice.call(document.querySelectorAll("main [data-shut]")) };
  }

  // On an order that votes and comments change (top, hot, discussed), a live update leaves
  // each idea where the reader saw it, with its fresh counts, and puts the ideas new to the
  // page after them: a list reordering under the reader loses their place. The server's
  // order waits behind a banner ([data-order-banner]). True if the two orders differ.
  function hrefOf(li) { var a = li.querySelector("a[href]"); return a && a.getAttribute("href"); }
  function ideasShown(region) {
    var list = region.querySelector("ol.ideas");
    return list ? Array.prototype.filter.call(list.children, hrefOf) : [];
  }
  function keepOrder(region, before) {
    var items = ideasShown(region), rank = {};
    if (!items.length) { return false; }
    before.forEach(function (href, i) { rank[href] = i; });
    var kept = items.filter(function (li) { return hrefOf(li) in rank; });
    kept.sort(function (a, b) { return rank[hrefOf(a)] - rank[hrefOf(b)]; });
    var held = kept.concat(items.filter(function (li) { return !(hrefOf(li) in rank); }));
    var list = items[0].parentNode;
    held.forEach(function (li) { list.appendChild(li); });
    return held.some(function (li, i) { return li !== items[i]; });
  }

  // `order`, on a list whose order is held: its banner, and whether to hold it this time
  // (not when the reader asked for the server's order).
  function swap(region, order) {
    if (leaving) { return Promise.resolve(false); }
    var before = order && order.held ? ideasShown(region).map(hrefOf) : null;
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) {
        return r.text().then(function (html) { return { status: r.status, html: html }; });
      })
      .then(function (page) {
        if (page.status === 404 || page.status === 410) { gone(region, page.html); return false; }
        if (page.status !== 200) { return false; }  // a passing refusal (429, 503): keep what is shown
        var doc = new DOMParser().parseFromString(page.html, "text/html");
        var fresh = doc.querySelector("[data-live]");
        if (!fresh) { return false; }
        // The jam opened while its page was open: the page now offers forms it was drawn
        // without (posting an idea). Drawn again whole, so the reader can take part.
        if (formsOutside(doc) > formsOutside(document)) { window.location.reload(); return true; }
        var typing = keep(region);
        if (doc.title && document.title !== doc.title) { document.title = doc.title; }
        var alertBefore = alertOf(region);
        region.innerHTML = fresh.innerHTML;
        if (order) { order.banner.hidden = !(before && keepOrder(region, before)); }
        // Counted where a test (or a curious reader of the page) can see that it happened:
        // the status that says so is said at most every so often.
        region.setAttribute("data-swaps", String(Number(region.getAttribute("data-swaps") || 0) + 1));
        var marker = region.querySelector("[data-writes-closed]");
        typing(marker);
        swapParts(doc, marker);
        addChoices(doc);
        back();
        closeForms(region, marker);
        Array.prototype.forEach.call(region.querySelectorAll("[data-deadline]"), countdown);
        // The region is not a live region (a whole list read out at each change); a short
        // status says that something changed.
        var status = document.querySelector("[data-live-status]");
        // The banner is drawn again at every update: not a live region of its own, which
        // a screen reader might read out each time. A new alert is said in the status.
        var alertNow = alertOf(region);
        if (status && alertNow && alertNow !== alertBefore) {
          status.textContent = "Alert from the organizers: " + alertNow;
        } else if (status && Date.now() - announcedAt > ANNOUNCE_GAP_MS) {
          // At most every so often: said at each vote, it drowned what was being read.
          status.textContent = "";
          status.textContent = status.getAttribute("data-said") || "Updated.";
          announcedAt = Date.now();
        }
        return true;
      });
  }

  var ANNOUNCE_GAP_MS = 30000, announcedAt = -Infinity;
  // A form's choices the fresh page has and this one lacks (a forum added meanwhile),
  // added without touching what the reader chose or typed.
  function addChoices(doc) {
    Array.prototype.forEach.call(document.querySelectorAll("main form select[id]"), function (select) {
      var fresh = doc.getElementById(select.id);
      if (!fresh || fresh.tagName !== "SELECT") { return; }
      var have = {};
      Array.prototype.forEach.call(select.options, function (o) { have[o.value] = true; });
      Array.prototype.forEach.call(fresh.options, function (o) {
        if (!have[o.value]) { select.appendChild(document.importNode(o, true)).selected = false; }
      });
    });
  }

  function alertOf(region) {
    var banner = region.querySelector("[data-alert]");
    return banner ? banner.textContent.replace("📣", "").trim() : "";
  }

  function formsOutside(doc) {
    return Array.prototype.filter.call(doc.querySelectorAll("main form[data-open-only]"),
      function (form) { return !form.closest("[data-live]"); }).length;
  }

  // The parts outside the region that show what it shows, as last rendered: compared with
  // each fresh copy's, so an update that changes nothing they show leaves them alone.
  var parts = {};
  function noteParts() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-part][id]"), function (el) {
      parts[el.id] = el.innerHTML;
    });
  }
  function swapParts(doc, marker) {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-part][id]"), function (el) {
      var fresh = doc.getElementById(el.id);
      if (!fresh || parts[el.id] === fresh.innerHTML) { return; }
      parts[el.id] = fresh.innerHTML;
      var typing = keep(el);
      el.innerHTML = fresh.innerHTML;
      typing(marker);
    });
  }

  function follow(region) {
    var waiting = 0;
    var banner = document.querySelector("[data-new-banner]");
    // On the newest ideas of every forum, the banner's new ideas are the ones a refresh
    // shows; on another view it leads there instead (a forum or an order they may not be in).
    var elsewhere = banner && banner.getAttribute("data-newest");
    var seen = null;  // the ideas listed when the banner was pressed: the focus goes to the first new one
    // A refresh is a whole page rendered by the server. Fetched at each update, a busy jam
    // (votes every few ms) would have every open page fetch back to back: thousands of pages
    // a closed loop of renders the server cannot shed. So one fetch at a time, and the next
    // no sooner than a gap after it ended: 1 s, or four times as long as it took when the
    // server is slow (at most a minute), a quarter more at random so pages fall out of step.
    // Updates meanwhile wait for that fetch, which shows them all; one after a quiet spell
    // is shown at once, and so is what the reader asks for (the banner, now = true).
    var busy = false, queued = false, urgent = false, timer = 0, readyAt = 0;
    // Pressed, the order banner has the next fetch show the server's order.
    var orderBanner = document.querySelector("[data-order-banner]"), asServed = false;
    if (orderBanner) {
      orderBanner.addEventListener("click", function () {
        asServed = true;
        refresh(true);
      });
    }
    function clock() { return window.performance ? window.performance.now() : Date.now(); }
    function refresh(now) {
      // The page being fetched may be older than this update: fetched again after it.
      if (busy) { queued = true; urgent = urgent || now; return; }
      var wait = now ? 0 : readyAt - clock();
      if (wait <= 0) { fetchNow(); }
      else if (!timer) { timer = window.setTimeout(fetchNow, wait); }
    }
    function fetchNow() {
      window.clearTimeout(timer);
      timer = 0;
      busy = true;
      var started = clock(), asked = seen;  // a press after this fetch began waits for the next
      var served = asServed;
      asServed = false;
      var order = orderBanner && { banner: orderBanner, held: !served };
      swap(region, order).then(function (shown) {
        if (shown && !elsewhere && banner) { waiting = 0; banner.hidden = true; }  // shown now
        if (shown && asked && seen === asked) { focusNew(asked); seen = null; }
        if (shown && served) { focusNew([]); }  // the banner had the focus: the list's first
      }).finally(function () {
        var ended = clock(), gap = Math.min(60000, Math.max(1000, 4 * (ended - started)));
        readyAt = ended + gap * (1 + Math.random() / 4);
        busy = false;
        if (queued) { var now = urgent; queued = urgent = false; refresh(now); }
      });
    }
    function listed() {
      return Array.prototype.map.call(region.querySelectorAll("ol.ideas li a[href]"),
        function (a) { return a.getAttribute("href"); });
    }
    function focusNew(before) {
      var item = Array.prototype.filter.call(region.querySelectorAll("ol.ideas li"), function (li) {
        var a = li.querySelector("a[href]");
        return a && before.indexOf(a.getAttribute("href")) < 0;
      })[0] || region.querySelector("ol.ideas li");
      if (!item) { return; }
      item.setAttribute("tabindex", "-1");
      item.focus();
    }
    if (banner) {
      banner.addEventListener("click", function () {
        if (elsewhere) { window.location.href = elsewhere; return; }
        waiting = 0;
        seen = listed();
        banner.hidden = true;  // it had the focus: given to the first new idea once shown
        refresh(true);
      });
    }
    // Kinds of update the region does not show (an idea list shows no topics).
    var ignored = (region.getAttribute("data-ignore") || "").split(" ");
    // The browser reconnects by itself after a dropped connection, but gives up for good
    // when the server answers with an error (429: too many streams; 503: restarting):
    // then it is opened again here, from the last update it had, 5 s later and twice as
    // long at each failure in a row (2 min at most), a quarter more at random.
    var source = region.getAttribute("data-stream"), lastId = "", pause = 5000;
    function open() {
      var url = lastId ? source.replace(/([?&]after=)\d*/, "$1" + lastId) : source;
      var stream = new EventSource(url);
      streams.push(stream);
      stream.addEventListener("open", function () { pause = 5000; });
      stream.addEventListener("error", function () {
        if (stream.readyState !== EventSource.CLOSED) { return; }
        window.setTimeout(open, pause * (1 + Math.random() / 4));
        pause = Math.min(2 * pause, 120000);
      });
      stream.addEventListener("updates", function (event) {
        if (event.lastEventId) { lastId = event.lastEventId; }
        updated(event);
      });
      stream.addEventListener("reset", function (event) {
        if (event.lastEventId) { lastId = event.lastEventId; }
        refresh(false);
      });
    }
    function updated(event) {
      var updates = JSON.parse(event.data).filter(function (u) {
        return ignored.indexOf(u.kind) < 0;
      });
      if (!updates.length) { return; }
      // Paused by the reader: what changes waits, counted on the switch; the jam's own
      // changes (its schedule, an alert) are shown all the same.
      if (pausing.paused() && !updates.some(function (u) { return u.kind === "jam"; })) {
        // Counted by what happened, not by what it changed (a vote changes the vote and
        // its idea's tally): each position of the log is one change.
        var positions = {};
        updates.forEach(function (u) { positions[u.position] = true; });
        pausing.wait(Object.keys(positions).length);
        return;
      }
      var fresh = updates.filter(function (u) { return u.kind === "idea" && banner; });
      if (fresh.length && fresh.length === updates.length) {
        waiting += fresh.length;
        banner.textContent = elsewhere
          ? (waiting === 1 ? "1 new idea in the jam: see the newest" : waiting + " new ideas in the jam: see the newest")
          : (waiting === 1 ? "1 new idea: show it" : waiting + " new ideas: show them");
        banner.hidden = false;
        return;
      }
      refresh(false);
    }
    var pausing = pauseSwitch(region, function () { refresh(true); });
    open();
    document.addEventListener("openjam:deadline", function () { refresh(false); });
  }

  // A switch to pause live updates (WCAG 2.2.2): a list reordering under the reader, or a
  // discussion growing while it is read, waits until they resume. Remembered across pages.
  var PAUSED = "openjam:live-paused";
  function pauseSwitch(region, resume) {
    var button = document.createElement("button"), waiting = 0;
    button.type = "button";
    button.className = "plain live-pause";
    function paused() {
      try { return window.localStorage.getItem(PAUSED) === "1"; } catch (e) { return false; }
    }
    function show() {
      button.setAttribute("aria-pressed", paused() ? "true" : "false");
      button.textContent = !paused() ? "Pause live updates"
        : waiting ? "Resume live updates (" + waiting + (waiting === 1 ? " change" : " changes") + " waiting)"
        : "Resume live updates";
    }
    button.addEventListener("click", function () {
      var now = !paused();
      try { window.localStorage.setItem(PAUSED, now ? "1" : "0"); } catch (e) { return; }
      if (!now && waiting) { waiting = 0; resume(); }
      show();
    });
    show();
    region.parentNode.insertBefore(button, region);
    return {
      paused: paused,
      wait: function (n) { waiting += n; show(); }
    };
  }

  var signalled = {};  // deadlines that have passed, by their time: how often, when last
  function countdown(el) {
    var deadline = Date.parse(el.getAttribute("data-deadline"));
    var before = el.getAttribute("data-before"), after = el.getAttribute("data-after");
    function tick() {
      // Minutes started, not whole minutes: with 30 s left the jam is still open.
      var left = Math.max(0, Math.ceil((deadline - Date.now()) / 60000));
      var h = Math.floor(left / 60), m = left % 60;
      el.textContent = left > 0 ? before.replace("{}", (h ? h + " h " : "") + m + " min") : after;
      var moment = el.getAttribute("data-deadline"), last = signalled[moment];
      if (!left && (!last || (last.count < 4 && Date.now() - last.at > 10000))) {
        // Opened or ended: the page's region is fetched again, a moment later so the
        // server's clock has passed it too, and not by every open page in the same second.
        // A clock ahead of the server's finds it still open: tried again, but four times at
        // most, 10 s apart or more (the ticks come every 15 s), whatever copies of the
        // region still name the moment. A clock further ahead than that learns of the end
        // from the next update, or when a form is refused (its text then given back).
        signalled[moment] = { count: (last ? last.count : 0) + 1, at: Date.now() };
        window.setTimeout(function () {
          document.dispatchEvent(new window.CustomEvent("openjam:deadline"));
        }, 2000 + Math.random() * 3000);
      }
    }
    tick();
    var timer = window.setInterval(function () {
      if (!document.body.contains(el)) { window.clearInterval(timer); return; }  // swapped out
      tick();
    }, 15000);
    // The last stretch to the moment itself, rather than up to 15 s after it.
    var last = deadline - Date.now() - 15000;
    if (last < 2147483647) {  // longer waits fire at once in browsers; the interval covers them
      window.setTimeout(function () {
        window.setTimeout(function () { if (document.body.contains(el)) { tick(); } },
                          Math.max(0, deadline - Date.now()) + 50);
      }, Math.max(0, last));
    }
  }

  function similar(form) {
    var box = form.querySelector("[data-similar-list]"), list = box.querySelector("ul");
    var timer = 0, asked = "";
    function ask() {
      var text = (form.title.value + ". " + form.body.value).trim();
      if (text === asked) { return; }
      asked = text;
      if (text.length < 12) {  // too little to compare (cleared, say): nothing is offered
        box.hidden = true;
        list.textContent = "";
        return;
      }
      fetch(form.getAttribute("data-similar") + "?limit=5&text=" + encodeURIComponent(text.slice(0, 2000)),
            { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (ideas) {
          if (asked !== text) { return; }  // typed on meanwhile: a later answer shows
          list.textContent = "";
          ideas.forEach(function (idea) {
            var li = document.createElement("li"), a = document.createElement("a");
            a.href = "/ideas/" + idea.id;
            a.textContent = idea.title;  // text, never HTML: titles are user input
            a.dir = "auto";  // a right-to-left title reads in its own direction
            li.appendChild(a);
            list.appendChild(li);
          });
          box.hidden = ideas.length === 0;
        })
        .catch(function () { box.hidden = true; });
    }
    function pause() { window.clearTimeout(timer); timer = window.setTimeout(ask, 350); }
    form.title.addEventListener("input", pause);
    form.body.addEventListener("input", pause);
    // Text can arrive without typing: put back by the browser (Back) or after a refusal.
    window.addEventListener("pageshow", pause);
    pause();
  }

  // A refused form comes back as a redirect to its page with a notice, and the page's
  // fields empty: up to 5,000 characters lost to a title of spaces or a rate limit.
  var KEPT = "openjam.kept";
  function keyOf(form) {
    var parent = form.querySelector("input[name=parent_id]");  // one reply form per comment
    // Forms sent to one address are told apart by a name of their own (data-keep="extend").
    var named = form.getAttribute("data-keep");
    return form.getAttribute("action") + (parent ? "#" + parent.value : "") +
      (named ? "@" + named : "");
  }
  function keepOnSubmit(form) {
    // Told to the server: this page gives a refused form's text back after the redirect
    // (without the script, the server's answer shows it instead).
    if (!form.elements.namedItem("kept")) {
      var marker = document.createElement("input");
      marker.type = "hidden";
      marker.name = "kept";
      marker.value = "1";
      form.appendChild(marker);
    }
    var values = {}, texts = [];
    Array.prototype.forEach.call(form.querySelectorAll("input[name], textarea[name], select[name]"),
      function (field) {
        if (field.type === "hidden") { return; }
        values[field.name] = field.value;
        if (field.tagName === "TEXTAREA" || field.type === "text") { texts.push(field.name); }
      });
    var kept = { key: keyOf(form), values: values, texts: texts };
    try { window.sessionStorage.setItem(KEPT, JSON.stringify(kept)); }
    catch (e) { /* storage off: the page works as without this script */ }
  }
  function restoreKept() {
    var kept = null;
    try { kept = JSON.parse(window.sessionStorage.getItem(KEPT) || "null"); } catch (e) { return; }
    if (!kept) { return; }
    var refused = document.querySelector(".notice[role=alert]");
    var forms = document.querySelectorAll("form[data-keep]"), form = null;
    for (var i = 0; i < forms.length; i++) { if (keyOf(forms[i]) === kept.key) { form = forms[i]; } }
    if (!form || !(refused || kept.pending)) {
      // An error page instead of the form's (too many writes, a page gone): kept for the
      // page the reader goes back to. Any other page: the form went through; forgotten.
      if (!form && refused && document.querySelector("[data-error]")) {
        kept.pending = true;
        try { window.sessionStorage.setItem(KEPT, JSON.stringify(kept)); } catch (e) { /* off */ }
      } else if (!form && refused) {
        // Refused, and the page no longer offers the form (the jam closed meanwhile, or
        // the reader was blocked): the text is given back to copy, not lost.
        try { window.sessionStorage.removeItem(KEPT); } catch (e) { /* off */ }
        giveBack(refused, kept);
      } else {
        try { window.sessionStorage.removeItem(KEPT); } catch (e) { /* off */ }
      }
      return;
    }
    try { window.sessionStorage.removeItem(KEPT); } catch (e) { /* off */ }
    // An edit form comes filled in with the text as it stands ([data-prefilled]): what was
    // typed and refused goes over it.
    var prefilled = form.hasAttribute("data-prefilled");
    Object.keys(kept.values).forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field && field.type !== "hidden" &&
          (field.tagName === "SELECT" || prefilled || !field.value)) {
        field.value = kept.values[name];
      }
    });
    for (var el = form.parentElement; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") { el.open = true; }  // a reply form folded away
    }
    // The reason is said at the top; the form may be far below (a phone, a long list):
    // said again at the form, which is brought into view. Not by a form right under the
    // top notice ([data-said-above], signing in): it would say it twice in one glance.
    if (refused && !form.hasAttribute("data-said-above")) {
      var reason = document.createElement("p");
      reason.className = "notice";
      reason.id = "refused-reason";
      reason.textContent = refused.textContent;
      form.insertBefore(reason, form.firstChild);
    }
    if (!refused) { form.scrollIntoView({ block: "center" }); return; }
    if (!refused.id) { refused.id = "refused-notice"; }
    // The field the reason names is marked, tied to the reason and given the focus, so a
    // keyboard or screen-reader user is at it, not at the page's top.
    var field = namedField(form, refused.textContent);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", reason ? reason.id : refused.id);
      field.addEventListener("input", function () { field.removeAttribute("aria-invalid"); },
        { once: true });
    }
    var first = field || form.querySelector(
      "input:not([type=hidden]):not(:disabled), textarea:not(:disabled), select:not(:disabled)");
    if (first) { first.focus({ preventScroll: true }); }
    form.scrollIntoView({ block: "center" });
  }

  // The words by which a refusal names a form's field (ui/notices.py: a body is "the text").
  var FIELD_WORDS = {
    body: ["text"], ends_at: ["end"], display_name: ["name"], message: ["alert", "message"],
    slug: ["address"], as_of: ["time"], cluster_id: ["topic"], into: ["topic"],
    starts_at: ["start"], forums: ["forum", "forums"], count: ["codes"], uses: ["people"]
  };
  function namedField(form, said) {
    var text = said.toLowerCase(), found = null;
    Array.prototype.forEach.call(form.querySelectorAll("input[name], textarea[name], select[name]"),
      function (field) {
        if (found || field.type === "hidden" || field.disabled) { return; }
        var words = FIELD_WORDS[field.name] || [field.name.replace(/_/g, " ")];
        if (words.some(function (w) { return new RegExp("\\b" + w + "\\b").test(text); })) {
          found = field;
        }
      });
    return found;
  }

  function giveBack(refused, kept) {
    var values = kept.values;
    var typed = (kept.texts || []).filter(function (name) { return (values[name] || "").trim(); });
    if (!typed.length) { return; }
    var box = document.createElement("div");
    box.className = "given-back";
    var said = document.createElement("p");
    said.textContent = "What you typed, to keep elsewhere:";
    box.appendChild(said);
    typed.forEach(function (name) {
      var text = document.createElement("textarea");
      text.readOnly = true;
      text.rows = Math.min(8, values[name].split("\n").length + 1);
      text.setAttribute("aria-label", "What you typed (" + name + ")");
      text.value = values[name];
      box.appendChild(text);
    });
    refused.parentNode.insertBefore(box, refused.nextSibling);
  }

  // Another form sent from a page (a vote, a flag) leads back to it with its fields empty:
  // what was being typed in the page's other forms is kept for this tab, by page and field,
  // and put back (once) when the page comes back. Never the form sent: it is posted, or
  // comes back with its refusal (above). Not codes (autocomplete=off): they are secrets.
  var DRAFT = "openjam.draft:";
  function draftKey(el) { return DRAFT + window.location.pathname + "#" + el.id; }
  function draftFields() {
    return Array.prototype.filter.call(
      document.querySelectorAll("main form[data-keep] textarea[id], main form[data-keep] input[id]"),
      function (el) { return isText(el) && el.getAttribute("autocomplete") !== "off"; });
  }
  function keepDrafts(sent) {
    try {
      var store = window.sessionStorage;
      if (sent.getAttribute("action") === "/signout") {  // not for whoever signs in next
        Object.keys(store).forEach(function (k) { if (k.indexOf(DRAFT) === 0) { store.removeItem(k); } });
        return;
      }
      draftFields().forEach(function (el) {
        // Typed, not as the page filled it in (an edit form's text as it stands).
        if (el.form !== sent && el.value.trim() && el.value !== el.defaultValue) {
          store.setItem(draftKey(el), el.value);
        }
        else { store.removeItem(draftKey(el)); }
      });
    } catch (e) { /* storage off: the page works as without this script */ }
  }
  function restoreDrafts() {
    try {
      var store = window.sessionStorage, page = DRAFT + window.location.pathname + "#";
      draftFields().forEach(function (el) {
        var text = store.getItem(draftKey(el));
        if (text === null || el.value !== el.defaultValue) { return; }
        el.value = text;
        var d = el.closest("details");
        if (d) { d.open = true; }  // a reply or an edit being typed
      });
      // Put back once: a field no longer on the page (its comment hidden) forgets its draft.
      Object.keys(store).forEach(function (k) { if (k.indexOf(page) === 0) { store.removeItem(k); } });
    } catch (e) { /* off */ }
  }

  // A notice is said once: taken out of the address once shown, so a reload or a bookmark
  // does not say it again (the page itself is the same without it).
  function forgetNotice() {
    if (!window.history.replaceState || !window.URLSearchParams) { return; }
    var url = new URL(window.location.href), had = false;
    ["notice", "ns", "nk"].forEach(function (k) {
      if (url.searchParams.has(k)) { url.searchParams.delete(k); had = true; }
    });
    if (had) { window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash); }
  }

  // A form on a page that answers a POST (the personal code, shown once, never in an
  // address) sent so that its answer replaces that page in the history: Back then leads
  // to the page before, not to the browser asking to send the code's form again. Without
  // the script (or if the fetch fails) the form is sent as usual.
  function sendReplacing(form) {
    fetch(form.getAttribute("action"), {
      method: "POST", credentials: "same-origin",
      body: new URLSearchParams(new FormData(form))
    }).then(function (r) { window.location.replace(r.url); })
      .catch(function () { form.submit(); });
  }

  // A form that comes back to its page (a vote, a comment, a flag, a moderation) replaces
  // the page in the tab's history instead of adding a step: Back then leaves the page, not
  // walks back through each form sent from it. Sent with fetch, whose redirect the server
  // answers with OpenJam-Location (ui/navigate.py); one to another page is followed as a
  // link is. Any other answer (an error page) is written over the page, as a step of the
  // history at the page's own address: Back, or a reload, loads the page again.
  // Not forms whose answer is a page made for that POST ([data-navigates]: a personal code,
  // shown once). Without the script, or if the request could not be sent, the form is sent
  // as usual.
  function sendComingBack(form, submitter) {
    var body = new URLSearchParams(new FormData(form));
    if (submitter && submitter.name) { body.append(submitter.name, submitter.value); }
    // Its "action" attribute: a field named "action" (Jam Central's topic buttons) hides
    // the form's own property.
    var action = form.getAttribute("action");
    form.setAttribute("aria-busy", "true");
    fetch(action, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "OpenJam-Navigate": "1" }
    }).then(function (r) {
      var to = r.headers.get("OpenJam-Location");
      if (to) { goTo(to); return null; }
      return r.text().then(writeAnswer);
    }, function () {
      form.removeAttribute("aria-busy");
      sendNatively(form, submitter);
    }).catch(function () { form.removeAttribute("aria-busy"); });  // answered, not shown
  }
  function goTo(to) {
    var target = new URL(to, window.location.href), here = new URL(window.location.href);
    if (target.pathname !== here.pathname) { window.location.assign(target.href); return; }
    // The page's own address but for its #part: replace() would only scroll to the part.
    if (target.href.split("#")[0] === here.href.split("#")[0]) {
      window.history.replaceState(null, "", target.href);
      window.location.reload();
    } else {
      window.location.replace(target.href);
    }
  }
  function writeAnswer(html) {
    leaving = true;
    streams.forEach(function (stream) { stream.close(); });
    window.history.pushState({ openjamAnswer: true }, "", window.location.href);
    document.open();
    document.write(html);
    document.close();
  }
  function sendNatively(form, submitter) {
    if (submitter && submitter.name) {  // form.submit() sends no button: the one pressed
      var pressed = document.createElement("input");
      pressed.type = "hidden";
      pressed.name = submitter.name;
      pressed.value = submitter.value;
      form.appendChild(pressed);
    }
    form.submit();  // no submit event: sent once, as the browser sends it
  }
  // An answer written over the page: any step of the history away from it loads the page
  // stepped to, since the document shown is the answer's. So a link to a part of it (skip
  // to the content) scrolls there without being a step.
  if (window.history.state && window.history.state.openjamAnswer) {
    window.addEventListener("popstate", function () { window.location.reload(); });
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[href^='#']");
      var part = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!part) { return; }
      event.preventDefault();
      if (!part.hasAttribute("tabindex")) { part.setAttribute("tabindex", "-1"); }
      part.focus();
      part.scrollIntoView();
    });
  }
  // Back to a page kept whole by the browser: no form of it is being sent any more.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("form[aria-busy]"), function (form) {
      form.removeAttribute("aria-busy");
    });
  });

  // Listened for on the document: a live update replaces the forms it holds.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches) { return; }
    if (form.matches("form[data-keep]")) { keepOnSubmit(form); }
    keepDrafts(form);
    if (!window.fetch || !window.URLSearchParams) { return; }
    if (form.matches("form[data-replace]")) {
      event.preventDefault();
      sendReplacing(form);
    } else if (form.matches("main form[method=post]:not([data-navigates]):not([target])")) {
      event.preventDefault();
      if (form.getAttribute("aria-busy") !== "true") { sendComingBack(form, event.submitter); }
    }
  });
  noteParts();  // as the server rendered them, before a refusal's reason is put in a form
  restoreKept();
  restoreDrafts();
  forgetNotice();
  var region = document.querySelector("[data-live][data-stream]");
  if (region && window.EventSource) { adoptShut(region); follow(region); }
  Array.prototype.forEach.call(document.querySelectorAll("[data-deadline]"), countdown);
  Array.prototype.forEach.call(document.querySelectorAll("form[data-similar]"), similar);
})();

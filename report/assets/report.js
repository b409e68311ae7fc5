/* SPDX-License-Identifier: MIT */
/* flakehunter report: optional enhancements. The page works without this script, and every view
 * is drawn by the C renderer (report/); with the script the test list can be filtered and
 * sorted, and tables sorted by column. It draws nothing and never inserts data from the run. */
"use strict";
(function () {
  var d = document;
  d.documentElement.classList.add("js");
  var cards = d.getElementById("cards");
  if (!cards) return;
  var list = Array.prototype.slice.call(cards.children);
  var q = d.getElementById("q"), sort = d.getElementById("sort");
  var hs = d.getElementById("hs"), shown = d.getElementById("shown");

  function num(el, k) { var v = parseFloat(el.getAttribute(k)); return isNaN(v) ? 0 : v; }

  /* The tests the size policy gave no card are rows of #rest; the filter covers them too,
   * by their node id (the last cell). */
  var rest = d.querySelector("#rest tbody");
  var rows = rest ? Array.prototype.slice.call(rest.rows) : [];

  function update() {
    var needle = (q.value || "").toLowerCase(), n = 0;
    function apply(el, name) {
      var hide = needle !== "" && name.toLowerCase().indexOf(needle) < 0;
      el.hidden = hide;
      if (!hide && !(hs.checked && el.classList.contains("v-stable"))) n++;
    }
    list.forEach(function (c) { apply(c, c.getAttribute("data-name") || ""); });
    rows.forEach(function (r) {
      var last = r.cells[r.cells.length - 1];
      apply(r, last ? last.textContent : "");
    });
    shown.textContent = n + " of " + (list.length + rows.length) + " tests shown";
  }

  function resort() {
    var k = sort.value, sorted = list.slice();
    sorted.sort(function (a, b) {
      var r = 0;
      if (k === "name") r = a.getAttribute("data-name").localeCompare(b.getAttribute("data-name"));
      else if (k !== "order") r = num(b, "data-" + k) - num(a, "data-" + k);
      return r || num(a, "data-order") - num(b, "data-order");
    });
    var frag = d.createDocumentFragment();
    sorted.forEach(function (c) { frag.appendChild(c); });
    cards.appendChild(frag);
  }

  function sortTable(th) {
    var t = th.closest("table"), tb = t.tBodies[0], idx = th.cellIndex;
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(tb.rows);
    rows.sort(function (a, b) {
      var x = a.cells[idx] ? a.cells[idx].textContent : "", y = b.cells[idx] ? b.cells[idx].textContent : "";
      var fx = parseFloat(x), fy = parseFloat(y), r;
      r = (!isNaN(fx) && !isNaN(fy)) ? fx - fy : x.localeCompare(y);
      return asc ? r : -r;
    });
    rows.forEach(function (r) { tb.appendChild(r); });
  }

  cards.addEventListener("click", function (e) {
    var th = e.target.closest && e.target.closest("table.sortable th");
    if (th) sortTable(th);
  });
  q.addEventListener("input", update);
  hs.addEventListener("change", update);
  sort.addEventListener("change", resort);
  /* A link to #t<N> opens (and shows) that card; #all opens every card; #open=t1,t4 opens
   * those cards without scrolling (for screenshots); #q=TEXT fills the filter (a link to the
   * tests of one file or parameter). */
  function openFromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (id.indexOf("q=") === 0) { q.value = id.slice(2); update(); return; }
    if (id === "all") list.forEach(function (c) { c.open = true; });
    var ids = id.indexOf("open=") === 0 ? id.slice(5).split(",") : [id];
    ids.forEach(function (x) {
      var c = x && d.getElementById(x);
      if (c && c.tagName === "DETAILS") c.open = true;
    });
  }
  window.addEventListener("hashchange", openFromHash);
  openFromHash();
  update();
})();

/* SPDX-License-Identifier: MIT */
/* flakehunter report: optional enhancements. The page works without this script; with it, the
 * test list can be filtered and sorted, tables sorted by column, and the attempt log of a big
 * run is built from the card's compact JSON when the card is first opened. Data is only ever
 * inserted with textContent, never as markup. */
"use strict";
(function () {
  var d = document;
  d.documentElement.classList.add("js");
  var cards = d.getElementById("cards");
  if (!cards) return;
  var list = Array.prototype.slice.call(cards.children);
  var q = d.getElementById("q"), sort = d.getElementById("sort");
  var hs = d.getElementById("hs"), shown = d.getElementById("shown");
  var OUT = ["passed", "failed", "error", "skipped"], GLYPH = ["\u2713", "\u2715", "!", "\u2013"];

  function num(el, k) { var v = parseFloat(el.getAttribute(k)); return isNaN(v) ? 0 : v; }

  function update() {
    var needle = (q.value || "").toLowerCase(), n = 0;
    list.forEach(function (c) {
      var name = (c.getAttribute("data-name") || "").toLowerCase();
      var hide = needle !== "" && name.indexOf(needle) < 0;
      c.hidden = hide;
      if (!hide && !(hs.checked && c.classList.contains("v-stable"))) n++;
    });
    shown.textContent = n + " of " + list.length + " tests shown";
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

  function secs(v) {
    if (v == null || isNaN(v)) return "";
    return (v / 1000).toFixed(3);
  }

  function cell(tr, text, cls) {
    var td = d.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  /* Rows: [attempt, outcome, total_ms, setup_ms, call_ms, teardown_ms, when, where]. */
  function buildLog(card) {
    var t = card.querySelector("table.alog[data-lazy]");
    if (!t) return;
    var src = card.querySelector("script.fhj");
    var data;
    try { data = JSON.parse(src.textContent); } catch (e) { return; }
    var tb = d.createElement("tbody");
    (data.a || []).forEach(function (a) {
      var tr = d.createElement("tr"), o = a[1] | 0;
      tr.className = "o-" + OUT[o];
      cell(tr, String(a[0]));
      cell(tr, GLYPH[o] + " " + OUT[o], "oc");
      for (var i = 2; i < 6; i++) cell(tr, secs(a[i]));
      cell(tr, a[6] || "");
      cell(tr, a[7] || "");
      tb.appendChild(tr);
    });
    t.replaceChild(tb, t.tBodies[0]);
    t.removeAttribute("data-lazy");
    var note = card.querySelector(".lazy-note");
    if (note) note.hidden = true;
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

  cards.addEventListener("toggle", function (e) {
    var c = e.target;
    if (c.classList && c.classList.contains("card") && c.open) buildLog(c);
  }, true);
  cards.addEventListener("click", function (e) {
    var th = e.target.closest && e.target.closest("table.sortable th");
    if (th) sortTable(th);
  });
  q.addEventListener("input", update);
  hs.addEventListener("change", update);
  sort.addEventListener("change", resort);
  list.forEach(function (c) { if (c.open) buildLog(c); });
  update();
})();

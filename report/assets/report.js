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
    return (v / 10000).toFixed(3);
  }

  function cell(tr, text, cls) {
    var td = d.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  /* data.a rows: [outcome, total, setup, call, teardown (, when, where)] in tenths of a
   * millisecond; data.n the attempt numbers when they are not 1, 2, ... */
  function attemptNo(data, i) { return data.n ? data.n[i] | 0 : i + 1; }

  function buildLog(card) {
    var t = card.querySelector("table.alog[data-lazy]");
    var src = card.querySelector("script.fhj");
    var data;
    if (!src || (!t && !card.querySelector(".sc-lazy"))) return;
    try { data = JSON.parse(src.textContent); } catch (e) { return; }
    buildScatter(card, data);
    if (!t) return;
    var tb = d.createElement("tbody");
    (data.a || []).forEach(function (a, k) {
      var tr = d.createElement("tr"), o = a[0] | 0;
      if (o < 0 || o > 3) o = 3;
      tr.className = "o-" + OUT[o];
      cell(tr, String(attemptNo(data, k)));
      cell(tr, GLYPH[o] + " " + OUT[o], "oc");
      for (var i = 1; i < 5; i++) cell(tr, secs(a[i]));
      cell(tr, a[5] || "");
      cell(tr, a[6] || "");
      tb.appendChild(tr);
    });
    t.replaceChild(tb, t.tBodies[0]);
    t.removeAttribute("data-lazy");
    var note = card.querySelector(".lazy-note");
    if (note) note.hidden = true;
  }

  /* [axis maximum, tick steps], as nice_max_ticks() in C. */
  function niceMax(v) {
    if (!(v > 0) || !isFinite(v)) return [1, 4];
    var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
    if (m <= 1) return [p, 4];
    if (m <= 2) return [2 * p, 4];
    return [(m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p, 5];
  }

  /* The duration scatter of a big run's stable test, the same drawing as svg_scatter() in C.
   * The markup is built from numbers only (Number + toFixed), never from data strings. */
  function buildScatter(card, data) {
    var host = card.querySelector(".sc-lazy");
    if (!host) return;
    var W = 540, H = 190, L = 54, R = 12, T = 12, B = 34, pw = W - L - R, ph = H - T - B;
    var a = data.a || [], n = a.length, max = 0, i, k;
    for (i = 0; i < n; i++) max = Math.max(max, +a[i][1] / 10000 || 0);
    var nm = niceMax(max), ymax = nm[0], nt = nm[1], f = function (v) { return Number(v).toFixed(0); };
    var s = '<svg class="sc" width="540" height="190" role="img" aria-label="Duration of each attempt in seconds; passed are circles, failed are crosses">';
    s += '<path class="grid" d="';
    for (k = 1; k <= nt; k++) s += "M" + L + " " + f(T + ph - ph * k / nt) + "H" + (W - R);
    s += '"/><path class="ax" d="M' + L + " " + T + "V" + f(T + ph) + "H" + (W - R) + '"/>';
    for (k = 0; k <= nt; k++)
      s += '<text x="' + (L - 5) + '" y="' + f(T + ph - ph * k / nt + 3.5) + '" text-anchor="end">' + Number((ymax * k / nt).toPrecision(3)) + "</text>";
    s += '<text x="12" y="' + f(T + ph / 2) + '" transform="rotate(-90 12 ' + f(T + ph / 2) + ')" text-anchor="middle">duration (s)</text>';
    var p95 = num(card, "data-p95");
    if (p95 > 0 && p95 <= ymax) {
      var yp = f(T + ph - ph * p95 / ymax);
      s += '<path class="p95" d="M' + L + " " + yp + "H" + (W - R) + '"/><text x="' + (L + 3) + '" y="' + (yp - 3) + '">p95</text>';
    }
    var d = ["", "", "", ""];
    for (i = 0; i < n; i++) {
      var o = a[i][0] | 0, x = +f(L + 6 + (n > 1 ? (pw - 12) * i / (n - 1) : pw / 2 - 6));
      var y = +f(T + ph - ph * Math.max(0, +a[i][1] / 10000 || 0) / ymax);
      if (o < 0 || o > 3) o = 3;
      if (o === 0) d[0] += "M" + x + " " + y + "h0";
      else if (o === 3) d[3] += "M" + (x - 4) + " " + y + "h8";
      else d[o] += "M" + (x - 4) + " " + (y - 4) + "l8 8m0 -8l-8 8";
    }
    if (d[0]) s += '<path class="p" stroke-width="6.5" stroke-linecap="round" d="' + d[0] + '"/>';
    ["", "f", "e", "s"].forEach(function (c, o) {
      if (o && d[o]) s += '<path class="' + c + '" stroke-width="1.8" stroke-linecap="round" fill="none" d="' + d[o] + '"/>';
    });
    if (n) {
      s += '<text x="' + (L + 6) + '" y="' + f(T + ph + 14) + '" text-anchor="middle">' + attemptNo(data, 0) + "</text>";
      if (n > 1) s += '<text x="' + (L + pw - 6) + '" y="' + f(T + ph + 14) + '" text-anchor="middle">' + attemptNo(data, n - 1) + "</text>";
    }
    s += '<text x="' + f(L + pw / 2) + '" y="' + (H - 4) + '" text-anchor="middle">attempt</text></svg>';
    host.innerHTML = s;
    host.classList.remove("sc-lazy");
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
  /* A link to #t<N> opens (and shows) that card; #all opens every card; #open=t1,t4 opens
   * those cards without scrolling (for screenshots). */
  function openFromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (id === "all") list.forEach(function (c) { c.open = true; });
    var ids = id.indexOf("open=") === 0 ? id.slice(5).split(",") : [id];
    ids.forEach(function (x) {
      var c = x && d.getElementById(x);
      if (c && c.tagName === "DETAILS") c.open = true;
    });
  }
  window.addEventListener("hashchange", openFromHash);
  openFromHash();
  list.forEach(function (c) { if (c.open) buildLog(c); });
  update();
})();

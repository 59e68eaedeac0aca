// The inventory: every row, gzip-compressed in the page, rendered a page
// at a time; sort by a column, filter by any text, export CSV.
(function () {
  "use strict";
  var table = document.getElementById("inv"), holder = document.getElementById("inv-data");
  if (!table || !holder || !holder.dataset.gz) { document.body.dataset.rendered = "1"; return; }
  // the rows are the inventory's CSV columns (audit.ColumnNames, in the
  // table's data-header); the page shows these, in this order:
  var csvHeader = JSON.parse(table.dataset.header);
  var source = [0, 3, 4, 5, 6, 15, 14, 7, 9, 10, 12];
  var numeric = {7: true, 8: true, 9: true};
  // the inventory's order (what to fix first) until a column is clicked
  var pageSize = 100, page = 0, sortCol = -1, sortDir = 1, rows = [], view = [];
  var tbody = table.tBodies[0], shown = document.getElementById("shown");

  function cell(r, i) { var v = r[source[i]]; return numeric[i] ? +v : v; }
  function render() {
    var n = view.length, pages = Math.max(1, Math.ceil(n / pageSize));
    page = Math.min(page, pages - 1);
    var frag = document.createDocumentFragment();
    view.slice(page * pageSize, (page + 1) * pageSize).forEach(function (r) {
      var tr = document.createElement("tr");
      for (var i = 0; i < source.length; i++) {
        var td = document.createElement("td"), v = cell(r, i);
        if (i === 0) { td.textContent = v + ":" + r[1] + "/" + r[2]; if (r[13]) { var s = document.createElement("span"); s.className = "name"; s.textContent = " " + r[13]; td.appendChild(s); } }
        else if (i === 6) { td.className = "flags"; String(v).split(" ").filter(Boolean).forEach(function (f) { var s = document.createElement("span"); s.className = "flag"; s.textContent = f; td.appendChild(s); td.appendChild(document.createTextNode(" ")); }); }
        else if (i === 10) { td.textContent = String(v).replace("T", " ").slice(0, 16); }
        else { td.textContent = v; if (numeric[i]) td.className = "num"; }
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    document.getElementById("page").textContent = "page " + (page + 1) + " of " + pages;
    shown.textContent = n + " of " + rows.length + " rows";
  }
  function apply() {
    var q = document.getElementById("filter").value.trim().toLowerCase();
    view = q ? rows.filter(function (r) { return r.join(" ").toLowerCase().indexOf(q) >= 0; }) : rows.slice();
    if (sortCol >= 0) view.sort(function (a, b) {
      var x = cell(a, sortCol), y = cell(b, sortCol);
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) { th.className = i === sortCol ? (sortDir > 0 ? "asc" : "desc") : ""; });
    page = 0;
    render();
  }
  function csvField(s) { s = String(s); return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; }
  function exportCSV() {
    var lines = [csvHeader.join(",")];
    rows.forEach(function (r) { lines.push(r.map(csvField).join(",")); });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([lines.join("\r\n") + "\r\n"], {type: "text/csv"}));
    a.download = "ntlm-inventory.csv";
    document.body.appendChild(a); a.click(); a.remove();
  }
  var bin = atob(holder.dataset.gz), bytes = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text().then(function (text) {
    rows = JSON.parse(text);
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.addEventListener("click", function () { if (sortCol === i) sortDir = -sortDir; else { sortCol = i; sortDir = numeric[i] ? -1 : 1; } apply(); });
    });
    document.getElementById("filter").addEventListener("input", apply);
    document.getElementById("csv").addEventListener("click", exportCSV);
    document.getElementById("prev").addEventListener("click", function () { if (page > 0) { page--; render(); } });
    document.getElementById("next").addEventListener("click", function () { if ((page + 1) * pageSize < view.length) { page++; render(); } });
    apply();
    document.body.dataset.rendered = "1";
  }).catch(function (e) { console.error("inventory: " + e); });
})();

"""The page ``report.py`` fills in: its style and its script (sorting a table by a clicked
header; drawing each run's codes on a canvas, coloured as the figures colour the classes).
Once drawn, the page marks ``<body>`` with what it shows (``data-rows``, ``data-figures``,
``data-scatters``), which the browser test reads."""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2327;
       margin: 1.5em auto; max-width: 1400px; padding: 0 1.2em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom:
     1px solid #ddd; } h3 { margin-top: 1.2em; }
nav a { margin-right: 1.2em; }
code { font: 0.92em ui-monospace, Menlo, Consolas, monospace; background: #f3f4f6;
       padding: 0 0.25em; border-radius: 3px; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.6em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d9dde1; padding: 0.25em 0.55em; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f3f6; cursor: pointer; user-select: none; position: sticky; top: 0; }
th.asc::after { content: " \\25B2"; font-size: 0.7em; }
th.desc::after { content: " \\25BC"; font-size: 0.7em; }
tbody tr:nth-child(even) { background: #fafbfc; } tbody tr:hover { background: #eef5ff; }
td strong { color: #0b5394; }
p:has(> strong:first-child) { background: #fff8e1; border-left: 4px solid #f0b400;
                              padding: 0.5em 0.8em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #e3e3e3; }
figcaption { color: #555; font-size: 0.9em; }
.runs { display: flex; flex-wrap: wrap; gap: 0.8em; }
.runs figure.run { margin: 0; width: 180px; }
.runs canvas { border: 1px solid #ddd; background: #fff; }
.runs figcaption { font-size: 0.78em; overflow-wrap: anywhere; }
</style>
</head>
<body>
<nav><a href="#comparison">Comparison</a><a href="#figures">Figures</a>
<a href="#runs">Each run's codes</a></nav>
<section id="comparison">
{{comparison}}
</section>
<section id="figures">
<h2>Figures</h2>
{{figures}}
</section>
<section id="runs">
<h2>Each run's codes</h2>
<p>The test codes of every finished run (at most 1,500 points), in the table's order,
coloured by class; a click on a table's header sorts it by that column.</p>
<div class="runs">
{{runs}}
</div>
</section>
<script type="application/json" id="points">{{points}}</script>
<script>
"use strict";
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function sortKey(cell) {
  const text = cell.textContent.trim();
  const number = parseFloat(text.replace("\\u2212", "-"));
  if (text === "" || text === "\\u2014") return [2, 0];  // missing: always last
  return /^[-\\u2212]?\\d/.test(text) && !isNaN(number) ? [0, number] : [1, text];
}

function makeSortable(table) {
  table.querySelectorAll("thead th").forEach((th, column) => {
    th.title = "sort by this column";
    th.addEventListener("click", () => {
      const descending = !th.classList.contains("desc");
      table.querySelectorAll("thead th").forEach(h => h.classList.remove("asc", "desc"));
      th.classList.add(descending ? "desc" : "asc");
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const [ka, va] = sortKey(a.cells[column]), [kb, vb] = sortKey(b.cells[column]);
        if (ka !== kb) return ka - kb;
        const order = va < vb ? -1 : va > vb ? 1 : 0;
        return descending ? -order : order;
      });
      rows.forEach(row => body.appendChild(row));
    });
  });
}

function drawCodes(canvas, points) {
  const context = canvas.getContext("2d"), pad = 6;
  const scale = (canvas.width - 2 * pad) / 999;
  context.globalAlpha = 0.6;
  for (let i = 0; i < points.x.length; i++) {
    context.fillStyle = points.c ? COLOURS[((points.c[i] % 10) + 10) % 10] : "#555";
    context.fillRect(pad + points.x[i] * scale - 1, canvas.height - pad - points.y[i] * scale - 1,
                     2, 2);
  }
}

window.addEventListener("load", () => {
  document.querySelectorAll("table").forEach(table => {
    const wrapper = document.createElement("div");
    wrapper.className = "wide";
    table.parentNode.insertBefore(wrapper, table);
    wrapper.appendChild(table);
    makeSortable(table);
  });
  const points = JSON.parse(document.getElementById("points").textContent);
  let drawn = 0;
  document.querySelectorAll("canvas[data-run]").forEach(canvas => {
    const run = points[canvas.dataset.run];
    if (run) { drawCodes(canvas, run); drawn++; }
  });
  const images = Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0);
  const rows = document.querySelector("table") ? document.querySelector("table").tBodies[0]
    .rows.length : 0;
  Object.assign(document.body.dataset, {rows: rows, figures: images.length, scatters: drawn,
                                        ready: "yes"});
});
</script>
</body>
</html>
"""

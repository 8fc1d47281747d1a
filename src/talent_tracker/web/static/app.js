// talent-tracker pages: read the filters, fetch each chart's data (the JSON API, or the
// precomputed files of a published site), draw it with plotly.js. All text from the data
// is untrusted: it goes into the page through textContent, and into charts escaped.
"use strict";

const META = JSON.parse(document.getElementById("meta").textContent);
const STATIC = document.body.dataset.static === "yes";
const PAGE = document.body.dataset.page;

function esc(text) {
  return String(text ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function option(select, value, label) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  select.appendChild(o);
}

function yearsOf(venue) {
  const venues = venue === "all" ? Object.keys(META.venues) : [venue];
  const years = new Set();
  venues.forEach((v) => (META.venues[v] || []).forEach((y) => years.add(y.year)));
  return [...years].sort();
}

function setUpFilters() {
  const venue = document.getElementById("venue");
  if (!venue) return;
  Object.keys(META.venues).forEach((v) => option(venue, v, v));
  option(venue, "all", "all venues");
  venue.value = META.venues.neurips ? "neurips" : Object.keys(META.venues)[0];
  const fillYears = () => {
    const years = document.getElementById("years");
    const keep = years.value;
    years.textContent = "";
    const list = yearsOf(venue.value);
    option(years, "", `all years (${list[0]}–${list[list.length - 1]})`);
    list.slice().reverse().forEach((y) => option(years, String(y), String(y)));
    if ([...years.options].some((o) => o.value === keep)) years.value = keep;
  };
  fillYears();
  venue.addEventListener("change", () => { fillYears(); render(); });
  document.getElementById("years").addEventListener("change", render);
  document.getElementById("tier").addEventListener("change", render);
  document.getElementById("place").addEventListener("change", render);
  const country = document.getElementById("country");
  if (country) {
    country.addEventListener("change", render);
    if (STATIC) {  // a published site has country profiles for all years only
      const years = document.getElementById("years");
      years.value = "";
      years.disabled = true;
    }
  }
}

function params() {
  const venue = document.getElementById("venue").value;
  return {
    venues: venue === "all" ? Object.keys(META.venues) : [venue],
    venueKey: venue,
    years: document.getElementById("years").value,
    tier: document.getElementById("tier").value,
    place: document.getElementById("place").value,
  };
}

function dataKey(name, p) {
  return `${name}/${p.venueKey}_${p.tier}_${p.place}_${p.years || "all"}${name === "country" ? "_" + p.country : ""}`;
}

// a published site may be opened from disk, where fetch() cannot read files: its data
// comes as scripts that set window.TT_DATA[key]
window.TT_DATA = window.TT_DATA || {};
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const tag = document.createElement("script");
    tag.src = src;
    tag.onload = resolve;
    tag.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(tag);
  });
}

function apiUrl(name, p, format) {
  if (STATIC) return `data/${dataKey(name, p)}.js`;
  const q = new URLSearchParams();
  p.venues.forEach((v) => q.append("venue", v));
  if (p.years) q.set("years", p.years);
  q.set("tier", p.tier);
  q.set("place", p.place);
  if (format) q.set("format", format);
  if (name === "country") return `/api/countries/${encodeURIComponent(p.country)}?${q}`;
  return `/api/analyses/${name}?${q}`;
}

async function load(name, p) {
  if (STATIC) {
    const key = dataKey(name, p);
    if (!(key in window.TT_DATA)) {
      try { await loadScript(`data/${key}.js`); } catch (e) { return { unavailable: "not precomputed for this site" }; }
    }
    return window.TT_DATA[key];
  }
  const response = await fetch(apiUrl(name, p));
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    return { unavailable: detail };
  }
  return response.json();
}

function setText(section, selector, text) {
  section.querySelector(selector).textContent = text;
}

function fillTable(table, columns, rows, limit) {
  table.textContent = "";
  const head = table.createTHead().insertRow();
  columns.forEach((c) => { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); });
  const body = table.createTBody();
  rows.slice(0, limit).forEach((r) => {
    const tr = body.insertRow();
    r.forEach((v) => { tr.insertCell().textContent = typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : String(v ?? ""); });
  });
}

// a CSV cell a spreadsheet will not run as a formula: text starting with = + - @, a tab
// or a carriage return gets a leading ' (numbers stay numbers)
function csvCell(v) {
  let text = String(v ?? "");
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return `"${text.replace(/"/g, '""')}"`;
}

function csvDownload(section, result, name) {
  const link = section.querySelector("a.csv");
  if (!STATIC && name !== "compare") { link.href = apiUrl(name, params(), "csv"); return; }
  const lines = [result.columns.map(csvCell).join(",")].concat(result.rows.map((r) => r.map(csvCell).join(",")));
  link.href = URL.createObjectURL(new Blob([lines.join("\n")], { type: "text/csv" }));
  link.download = `${name}.csv`;
}

const LAYOUT = { margin: { l: 160, r: 20, t: 10, b: 40 }, height: 420, font: { family: "system-ui, sans-serif", size: 12 } };

function bar(labels, values, errors, horizontal = true) {
  const trace = { type: "bar", orientation: horizontal ? "h" : "v" };
  if (horizontal) { trace.y = labels.map(esc).reverse(); trace.x = values.slice().reverse(); }
  else { trace.x = labels.map(esc); trace.y = values; }
  if (errors) {
    const [low, high] = errors;
    const key = horizontal ? "error_x" : "error_y";
    const hi = values.map((v, i) => high[i] - v), lo = values.map((v, i) => v - low[i]);
    trace[key] = { type: "data", symmetric: false, array: horizontal ? hi.reverse() : hi, arrayminus: horizontal ? lo.reverse() : lo };
  }
  return [trace];
}

// a figure with an interval (estimated), or a predicted count (model only, no interval);
// rows too uncertain to show (no figure) are left out of the chart, kept in the table
function estimatedBar(r) {
  const rows = r.rows.filter((x) => x[1] != null).slice(0, 15);
  if (r.method === "model" || r.method === "exact") return bar(rows.map((x) => x[0]), rows.map((x) => x[1]));
  return bar(rows.map((x) => x[0]), rows.map((x) => x[1]), [rows.map((x) => x[2]), rows.map((x) => x[3])]);
}

const DRAW = {
  work_countries: (r) => bar(r.rows.slice(0, 20).map((x) => x[1] || x[0]), r.rows.slice(0, 20).map((x) => x[2])),
  work_regions: (r) => bar(r.rows.map((x) => x[0]), r.rows.map((x) => x[1])),
  paper_countries: (r) => bar(r.rows.slice(0, 20).map((x) => x[1] || x[0]), r.rows.slice(0, 20).map((x) => x[2])),
  work_sectors: (r) => [{ type: "pie", labels: r.rows.map((x) => esc(x[0])), values: r.rows.map((x) => x[1]) }],
  tier_comparison: (r) => [
    { type: "bar", name: "top 20%", x: r.rows.map((x) => esc(x[0])), y: r.rows.map((x) => x[1]) },
    { type: "bar", name: "top 2%", x: r.rows.map((x) => esc(x[0])), y: r.rows.map((x) => x[2]) },
  ],
  top_institutions: (r) => bar(r.rows.map((x) => `${x[0]} (${x[1]})`), r.rows.map((x) => x[3])),
  top_institutions_asia: (r) => bar(r.rows.map((x) => `${x[0]} (${x[1]})`), r.rows.map((x) => x[3])),
  origin_countries: (r) => estimatedBar(r),
  graduate_countries: (r) => estimatedBar(r),
  retention: (r) => estimatedBar(r),
  trends: (r) => {
    const byCountry = {};
    r.rows.forEach(([year, country, people]) => { (byCountry[country] = byCountry[country] || { x: [], y: [] }); byCountry[country].x.push(year); byCountry[country].y.push(people); });
    return Object.entries(byCountry).map(([c, d]) => ({ type: "scatter", mode: "lines+markers", name: esc(c), x: d.x, y: d.y }));
  },
  net_flows: (r) => r.method === "model" ? bar(r.rows.map((x) => x[0]), r.rows.map((x) => x[1]))
    : bar(r.rows.map((x) => x[0]), r.rows.map((x) => x[1]), [r.rows.map((x) => x[2]), r.rows.map((x) => x[3])]),
  us_origin_mix: (r) => bar(r.rows.map((x) => x[0]), r.rows.map((x) => x[1])),
  editions: (r) => [
    { type: "bar", name: r.columns[1].replace("people_", ""), x: r.rows.map((x) => esc(x[0])), y: r.rows.map((x) => x[1]) },
    { type: "bar", name: r.columns[3].replace("people_", ""), x: r.rows.map((x) => esc(x[0])), y: r.rows.map((x) => x[3]) },
  ],
  flows: (r) => {
    const nodes = [], index = {};
    const node = (label) => { if (!(label in index)) { index[label] = nodes.length; nodes.push(label); } return index[label]; };
    const link = { source: [], target: [], value: [], customdata: [] };
    const model = r.method === "model";
    r.rows.forEach(([o, g, w, est, low, high]) => {
      if (est == null) return; // too uncertain to show
      [[`origin ${o}`, `graduate ${g}`], [`graduate ${g}`, `work ${w}`]].forEach(([a, b]) => {
        link.source.push(node(a)); link.target.push(node(b)); link.value.push(est);
        link.customdata.push(model ? "predicted, not an estimate" : `interval ${Math.round(low)}–${Math.round(high)}`);
      });
    });
    return [{ type: "sankey", node: { label: nodes.map(esc), pad: 12 }, link: { ...link, hovertemplate: "%{value:.0f} (%{customdata})<extra></extra>" } }];
  },
};

let WORLD = null;
async function world() {
  if (WORLD) return WORLD;
  let topo;
  if (STATIC) {
    await loadScript("static/world.js");
    topo = window.TT_WORLD;
    // plotly.js reads its base-map geometry from here before trying to fetch it
    window.PlotlyGeoAssets = window.PlotlyGeoAssets || { topojson: {} };
    window.PlotlyGeoAssets.topojson.world_110m = topo;
  } else {
    topo = await (await fetch("/vendor/countries-110m.json")).json();
  }
  WORLD = topojson.feature(topo, topo.objects.countries);
  return WORLD;
}

async function drawMap(section, result) {
  const geo = await world();
  const rows = result.rows.filter((r) => r[4]);
  const trace = { type: "choropleth", geojson: geo, featureidkey: "id", locations: rows.map((r) => r[4]),
    z: rows.map((r) => r[2]), text: rows.map((r) => esc(r[1] || r[0])), colorscale: "Blues", reversescale: true,
    hovertemplate: "%{text}: %{z} people<extra></extra>" };
  await Plotly.react(section.querySelector(".plot"), [trace], { ...LAYOUT, margin: { l: 0, r: 0, t: 0, b: 0 },
    geo: { visible: false, projection: { type: "natural earth" }, lataxis: { range: [-60, 85] } } },
    { responsive: true, displaylogo: false, topojsonURL: STATIC ? "static/topojson/" : "/static-vendor/topojson/" });
}

async function drawCountry(section, p) {
  const data = await load("country", p);
  const plot = section.querySelector(".plot");
  if (data.unavailable) { setText(section, ".chart-method", data.unavailable); return; }
  setText(section, ".chart-title", `${data.name} (${data.country})`);
  setText(section, ".chart-method", `${data.people.toLocaleString()} people work here by their latest paper (${(100 * data.share).toFixed(1)}% of located people) · ${methodText(data.method, data.coverage)} · ${data.filters}`);
  await Plotly.react(plot, [{ type: "scatter", mode: "lines+markers", x: data.trend.map((t) => t[0]), y: data.trend.map((t) => t[1]) }],
    { ...LAYOUT, margin: { l: 50, r: 20, t: 10, b: 40 } }, { responsive: true, displaylogo: false });
  fillTable(section.querySelector("table.data"), data.institutions.columns, data.institutions.rows, 15);
  plot.dataset.rendered = JSON.stringify([p, data.people]);
  hookDownloads(section, data.institutions, "country");
}

// what a figure rests on: exact (95% or more of the population known), partial (fewer:
// say how many), or a sample's estimate (the share of sampled people with a value)
function methodText(method, coverage) {
  if (coverage == null) return method;
  const share = `${(100 * coverage).toFixed(coverage < 0.1 ? 1 : 0)}%`;
  if (method === "partial") return `partial — only ${share} of people have a value`;
  if (method === "sample") return `sample (${share} of sampled people known)`;
  if (method === "assisted") return `model-assisted estimate (${share} of sampled people known)`;
  if (method === "model") return `model only — predicted, not an estimate; no interval (${share} of people have a prediction)`;
  return `${method} (coverage ${share})`;
}

function hookDownloads(section, result, name) {
  const plot = section.querySelector(".plot");
  csvDownload(section, result, name);
  section.querySelector("a.json").href = apiUrl(name, params());
  section.querySelector("a.png").onclick = (e) => { e.preventDefault(); Plotly.downloadImage(plot, { format: "png", filename: name }); };
  section.querySelector("a.svg").onclick = (e) => { e.preventDefault(); Plotly.downloadImage(plot, { format: "svg", filename: name }); };
}

// the published tracker's figures beside ours: a table of every figure, and a chart of
// those the tracker has a figure for
async function drawCompare(section) {
  const data = STATIC ? (await load("compare", { venueKey: "all", tier: "all", place: "hq", years: "" })) :
    await (await fetch("/api/compare")).json();
  const plot = section.querySelector(".plot");
  setText(section, ".chart-title", "The published tracker beside this one");
  if (data.unavailable || !data.figures || !data.figures.length) {
    setText(section, ".chart-method", `Not available: ${data.unavailable || "no published figures"}`);
    plot.dataset.rendered = JSON.stringify(["compare", "empty"]);
    return;
  }
  setText(section, ".chart-method", `${data.available} of ${data.total} published figures have a figure here; ` +
    "the rest say why not. Definitions differ: see each row.");
  const shown = data.figures.filter((f) => f.tracker != null);
  const labels = shown.map((f) => esc(`${f.population.replace(" authors", "")} · ${f.measure} · ${f.category}`));
  const tracker = { type: "bar", orientation: "h", name: "this tracker", y: labels, x: shown.map((f) => f.tracker) };
  const errors = shown.map((f) => (f.low != null ? [f.tracker - f.low, f.high - f.tracker] : [0, 0]));
  if (errors.some((e) => e[0] || e[1])) tracker.error_x = { type: "data", symmetric: false, array: errors.map((e) => e[1]), arrayminus: errors.map((e) => e[0]) };
  await Plotly.react(plot, [{ type: "bar", orientation: "h", name: "published", y: labels, x: shown.map((f) => f.published) }, tracker],
    { ...LAYOUT, barmode: "group", height: Math.max(300, 34 * shown.length), margin: { ...LAYOUT.margin, l: 330 },
      xaxis: { title: "% of people" } }, { responsive: true, displaylogo: false });
  const columns = ["edition", "population", "tier", "measure", "category", "published %", "tracker %", "interval", "coverage", "status", "definitions"];
  const rows = data.figures.map((f) => [f.edition, f.population, f.tier, f.measure, f.category, f.published,
    f.tracker ?? "—", f.low != null ? `${f.low}–${f.high}` : "", `${Math.round(100 * f.coverage)}%`, f.status, f.differences]);
  fillTable(section.querySelector("table.data"), columns, rows, 200);
  plot.dataset.rendered = JSON.stringify(["compare", data.available]);
  const result = { columns, rows };
  csvDownload(section, result, "compare");
  section.querySelector("a.json").href = STATIC ? `data/${dataKey("compare", { venueKey: "all", tier: "all", place: "hq", years: "" })}.js` : "/api/compare";
  section.querySelector("a.png").onclick = (e) => { e.preventDefault(); Plotly.downloadImage(plot, { format: "png", filename: "compare" }); };
  section.querySelector("a.svg").onclick = (e) => { e.preventDefault(); Plotly.downloadImage(plot, { format: "svg", filename: "compare" }); };
}

async function drawSection(section, p) {
  const name = section.dataset.chart;
  if (name === "country") return drawCountry(section, p);
  if (name === "compare") return drawCompare(section);
  const result = await load(name, p);
  const plot = section.querySelector(".plot");
  const notes = section.querySelector("ul.notes");
  notes.textContent = "";
  if (result.unavailable || result.method === "unavailable" || !result.rows.length) {
    setText(section, ".chart-title", result.title || name);
    setText(section, ".chart-method", `Not available for these filters: ${result.unavailable || (result.notes || []).join(" ") || "no data"}`);
    Plotly.purge(plot);
    await Plotly.react(plot, [], { ...LAYOUT, height: 120, annotations: [{ text: "no data for these filters", showarrow: false }] }, { displaylogo: false });
    plot.dataset.rendered = JSON.stringify([p, "empty"]);
    section.querySelector("table.data").textContent = "";
    return;
  }
  setText(section, ".chart-title", result.title);
  const sizes = result.sample_size != null ? ` · n = ${result.sample_size.toLocaleString()} of N = ${(result.population_size || 0).toLocaleString()}`
    : result.population_size != null ? ` · N = ${result.population_size.toLocaleString()}` : "";
  const intervals = ["sample", "assisted"].includes(result.method) ? " (95% intervals shown)" : "";
  setText(section, ".chart-method", `Method: ${methodText(result.method, result.coverage)}${intervals}${sizes} · ${result.filters}`);
  section.dataset.method = result.method;
  (result.notes || []).forEach((n) => { const li = document.createElement("li"); li.textContent = n; notes.appendChild(li); });
  if (name === "map") await drawMap(section, result);
  else await Plotly.react(plot, DRAW[name](result), { ...LAYOUT, barmode: "group", margin: name === "flows" ? { l: 10, r: 10, t: 10, b: 10 } : LAYOUT.margin }, { responsive: true, displaylogo: false });
  plot.dataset.rendered = JSON.stringify([p, result.rows.slice(0, 3)]);
  fillTable(section.querySelector("table.data"), result.columns, result.rows, 25);
  hookDownloads(section, result, name);
}

async function render() {
  const p = document.getElementById("venue") ? params() : {};
  const country = document.getElementById("country");
  if (country) p.country = country.value;
  await Promise.all([...document.querySelectorAll("section.chart")].map((s) => drawSection(s, p)));
  document.body.dataset.ready = String(Date.now());
}

async function setUpCountries() {
  const select = document.getElementById("country");
  if (!select) return;
  const top = await load("work_countries", params());
  (top.rows || []).slice(0, 60).forEach((r) => option(select, r[0], `${r[1] || r[0]} (${r[0]})`));
  const wanted = document.body.dataset.country;
  if (wanted && [...select.options].some((o) => o.value === wanted)) select.value = wanted;
}

(async () => {
  setUpFilters();
  if (PAGE === "methodology") { document.body.dataset.ready = String(Date.now()); return; }
  await setUpCountries();
  await render();
})();

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

// a share reads as a percentage, people as whole numbers: never a bare decimal
const PERCENT_COLUMN = /(share|retention|coverage)/;
function cellText(value, column) {
  if (value == null) return "";
  if (typeof value !== "number") return String(value);
  if (PERCENT_COLUMN.test(column)) return `${(100 * value).toFixed(1)}%`;
  if (column === "year" || column === "edition" || /^\d{4}$/.test(column)) return String(value);
  return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toLocaleString("en-US", { maximumFractionDigits: 1 });
}

function fillTable(table, columns, rows, limit) {
  table.textContent = "";
  const head = table.createTHead().insertRow();
  columns.forEach((c) => { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); });
  const body = table.createTBody();
  rows.slice(0, limit).forEach((r) => {
    const tr = body.insertRow();
    r.forEach((v, i) => { tr.insertCell().textContent = cellText(v, columns[i]); });
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

// An estimated share: bars with their intervals for the figures that may be shown, and for
// those too uncertain to show, their interval alone (a range, never a bar). Columns: label,
// value, low, high, flag at the given indexes; shares in percent.
function sharesWithIntervals(rows, at) {
  const pct = (v) => (v == null ? null : 100 * v);
  const shown = rows.filter((x) => !x[at.flag]).slice(0, 15);
  const uncertain = rows.filter((x) => x[at.flag]).slice(0, 15);
  const traces = [];
  if (shown.length) {
    const trace = bar(shown.map((x) => x[at.label]), shown.map((x) => pct(x[at.value])),
      [shown.map((x) => pct(x[at.low])), shown.map((x) => pct(x[at.high]))])[0];
    trace.name = "estimate (95% interval)";
    trace.hovertemplate = "%{y}: %{x:.1f}%<extra></extra>";
    traces.push(trace);
  }
  if (uncertain.length) {
    const mid = uncertain.map((x) => (pct(x[at.low]) + pct(x[at.high])) / 2);
    traces.push({ type: "scatter", mode: "markers", orientation: "h", name: "too uncertain: interval only",
      y: uncertain.map((x) => esc(x[at.label])).reverse(), x: mid.slice().reverse(),
      marker: { symbol: "line-ns-open", size: 1, color: "#999" },
      error_x: { type: "data", symmetric: false, color: "#999",
        array: uncertain.map((x, i) => pct(x[at.high]) - mid[i]).reverse(),
        arrayminus: uncertain.map((x, i) => mid[i] - pct(x[at.low])).reverse() },
      customdata: uncertain.map((x) => esc(x[at.flag])).reverse(),
      hovertemplate: "%{y}: too uncertain (%{customdata})<extra></extra>" });
  }
  return traces;
}

const SHARE_AXIS = { xaxis: { title: "% of people", ticksuffix: "%", rangemode: "tozero" } };

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
  // country, people, low, high, share, share_low, share_high, flag
  origin_countries: (r) => sharesWithIntervals(r.rows, { label: 0, value: 4, low: 5, high: 6, flag: 7 }),
  graduate_countries: (r) => sharesWithIntervals(r.rows, { label: 0, value: 4, low: 5, high: 6, flag: 7 }),
  us_origin_mix: (r) => sharesWithIntervals(r.rows, { label: 0, value: 4, low: 5, high: 6, flag: 7 }),
  // origin, retention, low, high, origin_sampled, stayed, flag
  retention: (r) => sharesWithIntervals(r.rows, { label: 0, value: 1, low: 2, high: 3, flag: 6 }),
  trends: (r) => {
    const byCountry = {};
    r.rows.forEach(([year, country, people]) => { (byCountry[country] = byCountry[country] || { x: [], y: [] }); byCountry[country].x.push(year); byCountry[country].y.push(people); });
    return Object.entries(byCountry).map(([c, d]) => ({ type: "scatter", mode: "lines+markers", name: esc(c), x: d.x, y: d.y }));
  },
  // country, net, low, high, in_sampled, out_sampled, flag: people, intervals; too uncertain: the interval only
  net_flows: (r) => {
    const rows = r.rows.slice(0, 20);
    const shown = rows.filter((x) => !x[6]), uncertain = rows.filter((x) => x[6]);
    const traces = [];
    if (shown.length) traces.push({ ...bar(shown.map((x) => x[0]), shown.map((x) => x[1]), [shown.map((x) => x[2]), shown.map((x) => x[3])])[0], name: "net (95% interval)" });
    if (uncertain.length) {
      const mid = uncertain.map((x) => (x[2] + x[3]) / 2);
      traces.push({ type: "scatter", mode: "markers", orientation: "h", name: "too uncertain: interval only",
        y: uncertain.map((x) => esc(x[0])).reverse(), x: mid.slice().reverse(), marker: { size: 1, color: "#999" },
        error_x: { type: "data", symmetric: false, color: "#999", array: uncertain.map((x, i) => x[3] - mid[i]).reverse(),
          arrayminus: uncertain.map((x, i) => mid[i] - x[2]).reverse() } });
    }
    return traces;
  },
  editions: (r) => [
    { type: "bar", name: r.columns[1].replace("people_", ""), x: r.rows.map((x) => esc(x[0])), y: r.rows.map((x) => x[1]) },
    { type: "bar", name: r.columns[3].replace("people_", ""), x: r.rows.map((x) => esc(x[0])), y: r.rows.map((x) => x[3]) },
  ],
  // origin, graduate, work, people, low, high, sampled, flag; the pooled "other paths" row and
  // paths too uncertain to show are not drawn (they stay in the table)
  flows: (r) => {
    const nodes = [], index = {};
    const node = (label) => { if (!(label in index)) { index[label] = nodes.length; nodes.push(label); } return index[label]; };
    const link = { source: [], target: [], value: [], customdata: [] };
    r.rows.forEach(([o, g, w, est, low, high, , flag]) => {
      if (est == null || flag || g == null || w == null) return;
      [[`origin ${o}`, `graduate ${g}`], [`graduate ${g}`, `work ${w}`]].forEach(([a, b]) => {
        link.source.push(node(a)); link.target.push(node(b)); link.value.push(est);
        link.customdata.push(`interval ${Math.round(low).toLocaleString("en-US")}–${Math.round(high).toLocaleString("en-US")}`);
      });
    });
    if (!link.value.length) return null;
    return [{ type: "sankey", node: { label: nodes.map(esc), pad: 12 }, link: { ...link, hovertemplate: "%{value:,.0f} people (%{customdata})<extra></extra>" } }];
  },
};

// what each chart's axes say, where the default would not
const AXES = { origin_countries: SHARE_AXIS, graduate_countries: SHARE_AXIS, us_origin_mix: SHARE_AXIS,
  retention: { xaxis: { title: "% who work in their origin country", ticksuffix: "%", range: [0, 100] } },
  net_flows: { xaxis: { title: "people (net)" } } };

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
  if (method === "partial") return `exact, partial — only ${share} of people have a value`;
  if (method === "sample") return `sampled — estimated from a random sample (${share} of the people drawn annotated)`;
  if (method === "assisted") return `assisted — estimated from a random sample and everyone's predictions (${share} of the people drawn annotated)`;
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
// The comparison as a reader takes it in: one block per edition, population and measure,
// its status, definitions and the top 2%'s definition said once above its rows, then one
// line per category (published, tracker, interval, difference, n, coverage; the status
// only where it differs from the block's)
function compareTable(table, figures) {
  table.textContent = "";
  const columns = ["category", "published %", "tracker %", "interval", "difference (points)", "n", "coverage", "status"];
  const head = table.createTHead().insertRow();
  columns.forEach((c) => { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); });
  const body = table.createTBody();
  const groups = new Map();
  figures.forEach((f) => {
    const key = `${f.edition} edition — ${f.population} (${f.tier}), ${f.measure}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(f);
  });
  groups.forEach((rows, key) => {
    const statuses = new Set(rows.map((f) => f.status));
    const shared = statuses.size === 1 ? rows[0].status : "";
    const top = body.insertRow();
    top.className = "group";
    const cell = top.insertCell();
    cell.colSpan = columns.length;
    const title = document.createElement("strong");
    title.textContent = key + (shared ? `: ${shared}` : "");
    cell.appendChild(title);
    [rows[0].differences, rows[0].tier_definition, rows[0].note ? `Published: ${rows[0].note}` : ""].filter(Boolean)
      .forEach((text) => { const p = document.createElement("div"); p.className = "note"; p.textContent = text; cell.appendChild(p); });
    rows.forEach((f) => {
      const tr = body.insertRow();
      [f.category, f.published.toFixed(1), f.tracker != null ? f.tracker.toFixed(1) : "—",
        f.low != null ? `${f.low.toFixed(1)}–${f.high.toFixed(1)}` : "",
        f.difference != null ? `${f.difference > 0 ? "+" : ""}${f.difference.toFixed(1)}` : "",
        f.people != null ? f.people.toLocaleString("en-US") : "", `${Math.round(100 * f.coverage)}%`,
        shared ? "" : f.status].forEach((v) => { tr.insertCell().textContent = v; });
    });
  });
}

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
  if (shown.length) {
    plot.hidden = false;
    section.querySelector(".empty")?.remove();
    await Plotly.react(plot, [{ type: "bar", orientation: "h", name: "published", y: labels, x: shown.map((f) => f.published) }, tracker],
      { ...LAYOUT, barmode: "group", height: Math.max(300, 34 * shown.length), margin: { ...LAYOUT.margin, l: 330 },
        xaxis: { title: "% of people", ticksuffix: "%" } }, { responsive: true, displaylogo: false });
  } else {
    showEmpty(section, "No published figure has a figure of this tracker beside it yet: the table says why for each.");
  }
  const columns = ["edition", "population", "tier", "measure", "category", "published %", "tracker %", "interval",
    "difference (points)", "n", "coverage", "status", "definitions"];
  const rows = data.figures.map((f) => [f.edition, f.population, f.tier, f.measure, f.category, f.published.toFixed(1),
    f.tracker != null ? f.tracker.toFixed(1) : "—", f.low != null ? `${f.low.toFixed(1)}–${f.high.toFixed(1)}` : "",
    f.difference != null ? `${f.difference > 0 ? "+" : ""}${f.difference.toFixed(1)}` : "",
    f.people != null ? f.people.toLocaleString("en-US") : "", `${Math.round(100 * f.coverage)}%`, f.status,
    [f.differences, f.tier_definition, f.note ? `Published: ${f.note}` : ""].filter(Boolean).join(" ")]);
  compareTable(section.querySelector("table.data"), data.figures);
  plot.dataset.rendered = JSON.stringify(["compare", data.available]);
  const result = { columns, rows };
  csvDownload(section, result, "compare");
  section.querySelector("a.json").href = STATIC ? `data/${dataKey("compare", { venueKey: "all", tier: "all", place: "hq", years: "" })}.js` : "/api/compare";
  section.querySelector("a.png").onclick = (e) => { e.preventDefault(); Plotly.downloadImage(plot, { format: "png", filename: "compare" }); };
  section.querySelector("a.svg").onclick = (e) => { e.preventDefault(); Plotly.downloadImage(plot, { format: "svg", filename: "compare" }); };
}

// an empty state is a sentence saying what is missing and what to do: never empty axes
function showEmpty(section, text) {
  const plot = section.querySelector(".plot");
  Plotly.purge(plot);
  plot.hidden = true;
  let empty = section.querySelector(".empty");
  if (!empty) {
    empty = document.createElement("p");
    empty.className = "empty";
    plot.after(empty);
  }
  empty.textContent = text;
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
    setText(section, ".chart-method", "Not available for these filters");
    showEmpty(section, result.unavailable || (result.notes || []).join(" ") || "No data for these filters.");
    section.querySelector("table.data").textContent = "";
    plot.dataset.rendered = JSON.stringify([p, "empty"]);
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
  else {
    const traces = DRAW[name](result);
    if (!traces || !traces.length) {
      showEmpty(section, "Every figure here is too uncertain to draw: the table gives each one's interval and why.");
    } else {
      plot.hidden = false;
      section.querySelector(".empty")?.remove();
      await Plotly.react(plot, traces, { ...LAYOUT, barmode: "group", ...(AXES[name] || {}),
        margin: name === "flows" ? { l: 10, r: 10, t: 10, b: 10 } : LAYOUT.margin }, { responsive: true, displaylogo: false });
    }
  }
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

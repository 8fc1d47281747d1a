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

// the latest edition most of whose people have a work country (else the latest): the
// figure the tracker is asked for first
function latestYear(venue) {
  const venues = venue === "all" ? Object.keys(META.venues) : [venue];
  const editions = venues.flatMap((v) => META.venues[v] || []);
  const located = editions.filter((e) => e.located >= 0.5).map((e) => e.year);
  const all = editions.map((e) => e.year);
  return String(Math.max(...(located.length ? located : all)));
}

// The view (venue, years, tier, place, country) lives in the URL's fragment, so a view can
// be bookmarked, linked and sent, and the back button returns to the one before. The
// fragment, not the query, so the published site opened from disk keeps it too.
const VIEW_KEYS = ["venue", "years", "tier", "place", "country"];
const YEARS_PATTERN = /^\d{4}(-\d{4})?(,\d{4}(-\d{4})?)*$/;

function viewInUrl() {
  const q = new URLSearchParams(location.hash.slice(1));
  return Object.fromEntries(VIEW_KEYS.filter((k) => q.get(k)).map((k) => [k, q.get(k)]));
}

function currentView() {
  const view = {};
  VIEW_KEYS.forEach((k) => { const el = document.getElementById(k); if (el && el.value !== undefined) view[k] = el.value || "all"; });
  return view;
}

function fragment(view) {
  const q = new URLSearchParams();
  VIEW_KEYS.forEach((k) => { if (view[k]) q.set(k, view[k]); });
  return "#" + q.toString();
}

function fillYears(keep) {
  const venue = document.getElementById("venue").value;
  const years = document.getElementById("years");
  years.textContent = "";
  const list = yearsOf(venue);
  option(years, "", `all years, pooled (${list[0]}–${list[list.length - 1]})`);
  list.slice().reverse().forEach((y) => option(years, String(y), String(y)));
  if (keep && keep !== "all" && !list.includes(Number(keep)) && YEARS_PATTERN.test(keep) && !STATIC) {
    option(years, keep, `${keep.replace(/-/g, "–")}, pooled`);  // a range or list from a shared link
  }
  const wanted = keep === "all" ? "" : keep;
  years.value = [...years.options].some((o) => o.value === wanted) ? wanted : latestYear(venue);
}

// set the filters to a view; what it leaves out (or names wrongly) takes the default
function applyView(view) {
  const venue = document.getElementById("venue");
  if (!venue) return;
  venue.value = view.venue in META.venues || view.venue === "all" ? view.venue : (META.venues.neurips ? "neurips" : Object.keys(META.venues)[0]);
  fillYears(view.years);
  if (STATIC && document.getElementById("country")) document.getElementById("years").value = "";
  document.getElementById("tier").value = ["top20", "top2"].includes(view.tier) ? view.tier : "top20";
  document.getElementById("place").value = ["lab", "hq"].includes(view.place) ? view.place : "lab";
  const country = document.getElementById("country");
  if (country && view.country && [...country.options].some((o) => o.value === view.country)) country.value = view.country;
}

// the URL says the whole view (replacing, not adding, a history entry), and the page links
// carry it to the other pages
function showView() {
  const filtered = !!document.getElementById("venue");
  const view = filtered ? currentView() : viewInUrl();
  const hash = fragment(view);
  if (filtered && location.hash !== hash) history.replaceState(null, "", hash);
  document.querySelectorAll("nav a").forEach((a) => {
    const carried = fragment(a.dataset.page === "countries" ? view : { ...view, country: "" });
    a.href = a.href.split("#")[0] + (carried === "#" ? "" : carried);
  });
  describeView(view);
}

const VENUE_NAMES = { neurips: "NeurIPS", icml: "ICML", iclr: "ICLR", all: "all venues" };
function describeView(view) {
  const line = document.getElementById("view");
  if (!line || !document.getElementById("venue")) return;
  const years = view.years === "all" ? `all years (${yearsOf(view.venue)[0]}–${yearsOf(view.venue).slice(-1)[0]}), pooled` : view.years.replace(/-/g, "–");
  line.textContent = `${VENUE_NAMES[view.venue] || view.venue} ${years} · ${view.tier === "top2" ? "top 2%: authors of oral papers" : "top 20%: authors of accepted papers"} · work country of ${view.place === "hq" ? "the employer's headquarters" : "the lab"}`;
  const previous = document.getElementById("previous");
  const located = yearsOf(view.venue).filter((y) => (view.venue === "all" ? Object.keys(META.venues) : [view.venue])
    .some((v) => (META.venues[v] || []).some((e) => e.year === y && e.located >= 0.5)));
  const before = located.filter((y) => String(y) !== view.years && y < Number(view.years));
  if (/^\d{4}$/.test(view.years) && before.length && located.includes(Number(view.years))) {
    previous.hidden = false;
    previous.textContent = `Compare with the previous edition (${before[before.length - 1]}) →`;
    previous.href = (STATIC ? "trends.html" : "/trends") + fragment({ ...view, country: "" });
  } else {
    previous.hidden = true;
  }
}

function setUpFilters() {
  const venue = document.getElementById("venue");
  if (!venue) return;
  Object.keys(META.venues).forEach((v) => option(venue, v, VENUE_NAMES[v] || v));
  option(venue, "all", "all venues");
  if (STATIC && document.getElementById("country")) document.getElementById("years").disabled = true;  // a published site has country profiles for all years only
  // a change is a new view: a new history entry, which the hashchange below draws
  const changed = () => { const hash = fragment(currentView()); if (location.hash !== hash) location.hash = hash; else render(); };
  venue.addEventListener("change", () => { fillYears(document.getElementById("years").value || "all"); changed(); });
  ["years", "tier", "place", "country"].forEach((k) => document.getElementById(k)?.addEventListener("change", changed));
  window.addEventListener("hashchange", () => { applyView(viewInUrl()); render(); });
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
  return Math.round(value).toLocaleString("en-US");  // people, papers and their estimates: whole numbers
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

// Okabe & Ito's colour-blind-safe palette (Wong, Nature Methods 8:441, 2011)
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
const LAYOUT = { margin: { l: 10, r: 20, t: 10, b: 50 }, height: 420, font: { family: "system-ui, sans-serif", size: 12 },
  colorway: PALETTE, piecolorway: PALETTE, legend: { orientation: "h", y: -0.15 },
  xaxis: { automargin: true }, yaxis: { automargin: true } };
// no plotly toolbar over the bars: each chart has its own download links
const CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };
// a phone's screen: shorter labels (the charts are drawn again when the width crosses it)
const NARROW = window.matchMedia("(max-width: 600px)");
let LABEL_LENGTH = NARROW.matches ? 24 : 42;
NARROW.addEventListener("change", () => { LABEL_LENGTH = NARROW.matches ? 24 : 42; render(); });

// a label that fits beside its bar: long names end in "…" (the whole name is in the hover and table)
function short(label, length = LABEL_LENGTH) {
  const text = String(label ?? "");
  return text.length > length ? text.slice(0, length - 1) + "…" : text;
}

// bars of `labels` (shortened to fit; `hover`: the whole labels) against `values`, with
// [low, high] `errors` if given
function bar(labels, values, errors, horizontal = true, hover = labels) {
  const trace = { type: "bar", orientation: horizontal ? "h" : "v", marker: { color: PALETTE[0] } };
  const shown = labels.map((l) => esc(short(l)));
  if (horizontal) { trace.y = shown.reverse(); trace.x = values.slice().reverse(); trace.hovertext = hover.map(esc).reverse(); }
  else { trace.x = shown; trace.y = values; trace.hovertext = hover.map(esc); }
  if (errors) {
    const [low, high] = errors;
    const key = horizontal ? "error_x" : "error_y";
    const hi = values.map((v, i) => high[i] - v), lo = values.map((v, i) => v - low[i]);
    trace[key] = { type: "data", symmetric: false, array: horizontal ? hi.reverse() : hi, arrayminus: horizontal ? lo.reverse() : lo };
  }
  return [trace];
}

// An exact count with some people unknown lies between the count and the count plus all
// of them (methodology: exact figures with missing values): bars with those bounds
function counts(r, label, value, limit, unit) {
  const rows = r.rows.slice(0, limit);
  const missing = Math.max(0, (r.population_size || 0) - (r.sample_size || 0));
  const values = rows.map((x) => x[value]);
  const [trace] = bar(rows.map(label), values, missing ? [values, values.map((v) => v + missing)] : null);
  trace.name = unit;
  trace.hovertemplate = missing ? `%{hovertext}: %{x:,} ${unit} (up to %{x:,} + ${missing.toLocaleString("en-US")} without a value)<extra></extra>`
    : `%{hovertext}: %{x:,} ${unit}<extra></extra>`;
  if (missing) Object.assign(trace.error_x, { color: "#888", thickness: 1, width: 3 });
  return [trace];
}

// institutions by people: "name (country)", the name shortened to fit and whole in the hover
function institutions(r) {
  const [trace] = bar(r.rows.map((x) => `${short(x[0], LABEL_LENGTH - 5)} (${x[1]})`), r.rows.map((x) => x[3]), null, true,
    r.rows.map((x) => `${x[0]} (${x[1]}, ${x[2]})`));
  trace.hovertemplate = "%{hovertext}: %{x:,} people<extra></extra>";
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
      y: uncertain.map((x) => esc(short(x[at.label]))).reverse(), x: mid.slice().reverse(),
      marker: { symbol: "line-ns-open", size: 1, color: "#999" },
      error_x: { type: "data", symmetric: false, color: "#999",
        array: uncertain.map((x, i) => pct(x[at.high]) - mid[i]).reverse(),
        arrayminus: uncertain.map((x, i) => mid[i] - pct(x[at.low])).reverse() },
      customdata: uncertain.map((x) => esc(x[at.flag])).reverse(),
      hovertemplate: "%{y}: too uncertain (%{customdata})<extra></extra>" });
  }
  return traces;
}

// a line per series over every year from the first to the last, with a gap (null) where a
// year has no figure, so a line never bridges missing years
function yearLines(series) {
  const all = Object.values(series).flatMap((d) => d.x);
  const first = Math.min(...all), last = Math.max(...all);
  return Object.entries(series).map(([name, d]) => {
    const at = Object.fromEntries(d.x.map((x, i) => [x, d.y[i]]));
    const x = [], y = [];
    for (let year = first; year <= last; year++) { x.push(year); y.push(at[year] ?? null); }
    return { type: "scatter", mode: "lines+markers", name: esc(name), x, y, connectgaps: false,
      hovertemplate: `${esc(name)} %{x}: %{y:,} people<extra></extra>` };
  });
}

const YEAR_AXIS = { xaxis: { title: { text: "year" }, tickformat: "d", automargin: true }, yaxis: { title: { text: "people" }, rangemode: "tozero", automargin: true } };
const SHARE_AXIS = { xaxis: { title: { text: "% of people" }, ticksuffix: "%", rangemode: "tozero", automargin: true } };
const pct = (v) => (v == null ? null : 100 * v);
const SANKEY_PATHS = 12;

const DRAW = {
  work_countries: (r) => counts(r, (x) => x[1] || x[0], 2, 20, "people"),
  work_regions: (r) => counts(r, (x) => x[0], 1, 20, "people"),
  paper_countries: (r) => counts(r, (x) => x[1] || x[0], 2, 20, "papers"),
  work_sectors: (r) => counts(r, (x) => x[0], 1, 20, "people"),
  tier_comparison: (r) => [
    { type: "bar", name: "top 20%", x: r.rows.map((x) => esc(x[0])), y: r.rows.map((x) => pct(x[1])), hovertemplate: "%{x}: %{y:.1f}% of the top 20%<extra></extra>" },
    { type: "bar", name: "top 2%", x: r.rows.map((x) => esc(x[0])), y: r.rows.map((x) => pct(x[2])), hovertemplate: "%{x}: %{y:.1f}% of the top 2%<extra></extra>" },
  ],
  top_institutions: (r) => institutions(r),
  top_institutions_asia: (r) => institutions(r),
  // country, people, low, high, share, share_low, share_high, flag
  origin_countries: (r) => sharesWithIntervals(r.rows, { label: 0, value: 4, low: 5, high: 6, flag: 7 }),
  graduate_countries: (r) => sharesWithIntervals(r.rows, { label: 0, value: 4, low: 5, high: 6, flag: 7 }),
  us_origin_mix: (r) => sharesWithIntervals(r.rows, { label: 0, value: 4, low: 5, high: 6, flag: 7 }),
  // origin, retention, low, high, origin_sampled, stayed, flag
  retention: (r) => sharesWithIntervals(r.rows, { label: 0, value: 1, low: 2, high: 3, flag: 6 }),
  trends: (r) => {
    const byCountry = {};
    r.rows.forEach(([year, country, people]) => { (byCountry[country] = byCountry[country] || { x: [], y: [] }); byCountry[country].x.push(year); byCountry[country].y.push(people); });
    if (new Set(r.rows.filter((x) => x[2] != null).map((x) => x[0])).size < 2) return null;
    return yearLines(byCountry);
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
  // country, people_A, share_A, people_B, share_B: the two editions' shares side by side
  editions: (r) => [1, 3].map((i, k) => ({ type: "bar", name: r.columns[i].replace("people_", ""), marker: { color: PALETTE[k] },
    x: r.rows.map((x) => esc(x[0])), y: r.rows.map((x) => pct(x[i + 1])), customdata: r.rows.map((x) => x[i]),
    hovertemplate: `%{x} in ${r.columns[i].replace("people_", "")}: %{y:.1f}% (%{customdata:,} people)<extra></extra>` })),
  // origin, graduate, work, people, low, high, sampled, flag: the SANKEY_PATHS largest paths
  // drawn, the rest pooled as "other" (the table has every path); the pooled "other paths"
  // row and paths too uncertain to show are not drawn (they stay in the table)
  flows: (r) => {
    const paths = r.rows.filter(([o, g, w, est, , , , flag]) => est != null && !flag && g != null && w != null)
      .sort((a, b) => b[3] - a[3]);
    if (!paths.length) return null;
    const rest = paths.slice(SANKEY_PATHS);
    const drawn = paths.slice(0, SANKEY_PATHS).map((x) => [x[0], x[1], x[2], x[3],
      `interval ${Math.round(x[4]).toLocaleString("en-US")}–${Math.round(x[5]).toLocaleString("en-US")}`]);
    if (rest.length) drawn.push(["other", "other", "other", rest.reduce((t, x) => t + x[3], 0), `${rest.length} smaller paths pooled (see the table)`]);
    const nodes = [], index = {}, columns = ["origin", "graduate school", "work"];
    const node = (stage, label) => { const key = `${stage}|${label}`; if (!(key in index)) { index[key] = nodes.length; nodes.push([stage, label]); } return index[key]; };
    const link = { source: [], target: [], value: [], customdata: [] };
    drawn.forEach(([o, g, w, est, note]) => {
      [[0, o, 1, g], [1, g, 2, w]].forEach(([sa, a, sb, b]) => {
        link.source.push(node(sa, a)); link.target.push(node(sb, b)); link.value.push(est); link.customdata.push(note);
      });
    });
    return [{ type: "sankey", arrangement: "snap",
      node: { label: nodes.map(([, l]) => esc(l)), customdata: nodes.map(([st]) => columns[st]), pad: 18, thickness: 14,
        color: nodes.map(([st]) => PALETTE[st]), hovertemplate: "%{label} (%{customdata}): %{value:,.0f} people<extra></extra>" },
      link: { ...link, color: "rgba(0,114,178,0.25)", hovertemplate: "%{value:,.0f} people (%{customdata})<extra></extra>" } }];
  },
};

// what each chart's axes say, where the default would not
const COUNT_AXIS = (unit) => ({ xaxis: { title: { text: unit }, rangemode: "tozero", automargin: true, tickformat: ",d" } });
const AXES = { origin_countries: SHARE_AXIS, graduate_countries: SHARE_AXIS, us_origin_mix: SHARE_AXIS,
  work_countries: COUNT_AXIS("people"), work_regions: COUNT_AXIS("people"), work_sectors: COUNT_AXIS("people"),
  paper_countries: COUNT_AXIS("papers"), top_institutions: COUNT_AXIS("people"), top_institutions_asia: COUNT_AXIS("people"),
  tier_comparison: { yaxis: { title: { text: "% of the tier's people with a country" }, ticksuffix: "%", rangemode: "tozero", automargin: true } },
  editions: { yaxis: { title: { text: "% of the edition's people with a country" }, ticksuffix: "%", rangemode: "tozero", automargin: true } },
  trends: YEAR_AXIS,
  retention: { xaxis: { title: { text: "% who work in their origin country" }, ticksuffix: "%", range: [0, 100], automargin: true } },
  net_flows: { xaxis: { title: { text: "people (net)" }, automargin: true } },
  flows: { margin: { l: 10, r: 10, t: 30, b: 10 }, height: 520, annotations: ["origin (undergraduate)", "graduate school", "work"].map(
    (text, i) => ({ text, x: i / 2, xanchor: ["left", "center", "right"][i], y: 1.0, yanchor: "bottom", yref: "paper", xref: "paper", showarrow: false })) } };

// how tall a chart of horizontal bars is: room for each label
function heightFor(traces) {
  const bars = traces.filter((t) => t.orientation === "h").reduce((n, t) => Math.max(n, (t.y || []).length), 0);
  return bars ? Math.max(260, 60 + 24 * bars) : LAYOUT.height;
}

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

// the map's colours on a log scale, so the countries between the US and the rest show
async function drawMap(section, result) {
  const geo = await world();
  const rows = result.rows.filter((r) => r[4] && r[2] > 0);
  const top = Math.max(1, ...rows.map((r) => r[2]));
  const ticks = [1, 10, 100, 1000, 10000, 100000].filter((t) => t <= top * 1.5);
  const trace = { type: "choropleth", geojson: geo, featureidkey: "id", locations: rows.map((r) => r[4]),
    z: rows.map((r) => Math.log10(r[2])), customdata: rows.map((r) => r[2]), text: rows.map((r) => esc(r[1] || r[0])),
    colorscale: "Viridis", reversescale: true, zmin: 0, zmax: Math.log10(top),
    colorbar: { title: { text: "people (log scale)" }, tickvals: ticks.map(Math.log10), ticktext: ticks.map((t) => t.toLocaleString("en-US")), len: 0.8 },
    hovertemplate: "%{text}: %{customdata:,} people<extra></extra>" };
  const plot = section.querySelector(".plot");
  await draw(plot, [trace], { ...LAYOUT, margin: { l: 0, r: 0, t: 0, b: 0 },
    geo: { visible: false, projection: { type: "natural earth" }, lataxis: { range: [-60, 85] } } },
    { ...CONFIG, topojsonURL: STATIC ? "static/topojson/" : "/static-vendor/topojson/" });
  describePlot(plot, result.title, rows.slice(0, 3).map((r) => `${r[1] || r[0]} ${r[2].toLocaleString("en-US")} people`));
}

async function drawCountry(section, p) {
  const data = await load("country", p);
  const plot = section.querySelector(".plot");
  if (data.unavailable) {
    setText(section, ".chart-title", "Country profile");
    setText(section, ".chart-method", "Not available for these filters");
    showEmpty(section, `${data.unavailable}.`);
    plot.dataset.rendered = JSON.stringify([p, "empty"]);
    return;
  }
  setText(section, ".chart-title", `${data.name} (${data.country}): people who work there, per year`);
  setText(section, ".chart-method", `${data.people.toLocaleString("en-US")} people work here by their latest paper (${(100 * data.share).toFixed(1)}% of people with a work country) · Method: ${methodText(data.method, data.coverage)} · ${data.filters}`);
  const years = data.trend.filter((t) => t[1] != null);
  if (years.length < 2) {
    showEmpty(section, `A trend needs two years or more with a work country for most people: choose all years (${data.filters}).`);
  } else {
    plot.hidden = false;
    section.querySelector(".empty")?.remove();
    const traces = yearLines({ [data.name]: { x: data.trend.map((t) => t[0]), y: data.trend.map((t) => t[1]) } });
    await draw(plot, traces, { ...LAYOUT, ...YEAR_AXIS, showlegend: false }, CONFIG);
    describePlot(plot, `${data.name}: people per year`, years.slice(-3).map((t) => `${t[0]} ${t[1].toLocaleString("en-US")}`));
  }
  fillTable(section.querySelector("table.data"), data.institutions.columns, data.institutions.rows, 15);
  const caption = section.querySelector("table.data").createCaption();
  caption.textContent = data.institutions.title;
  plot.dataset.rendered = JSON.stringify([p, data.people]);
  section.dataset.counts = JSON.stringify({ [data.country]: data.people, ...countsOf("top_institutions", data.institutions) });
  hookDownloads(section, data.institutions, "country");
}

// a chart at its height: the plot element is given it, since a responsive chart drawn again
// after a resize otherwise takes its element's height (none)
function draw(plot, traces, layout, config = CONFIG) {
  plot.style.height = `${layout.height || LAYOUT.height}px`;
  return Plotly.react(plot, traces, layout, config);
}

// a chart's text alternative: its title and its first figures
function describePlot(plot, title, figures) {
  plot.setAttribute("role", "img");
  plot.setAttribute("aria-label", `${title}${figures.length ? ": " + figures.join("; ") : ""} (the table below has every figure)`);
}

// what a figure rests on: exact (95% or more of the population known), partial (fewer:
// say how many), or a sample's estimate (the share of sampled people with a value)
function methodText(method, coverage, unit = "people") {
  if (coverage == null) return method;
  const share = `${(100 * coverage).toFixed(coverage < 0.1 ? 1 : 0)}%`;
  if (method === "partial") return `exact, partial — only ${share} of ${unit} have a value`;
  if (method === "sample") return `sampled — estimated from a random sample (${share} of the people drawn annotated)`;
  if (method === "assisted") return `assisted — estimated from a random sample and everyone's predictions (${share} of the people drawn annotated)`;
  return `${method} (coverage ${share})`;
}

function hookDownloads(section, result, name) {
  const plot = section.querySelector(".plot");
  section.querySelector(".downloads").hidden = false;
  section.querySelectorAll("a.png, a.svg").forEach((a) => { a.hidden = plot.hidden; });  // no chart drawn, no picture of it
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
      [f.category, `${f.published.toFixed(1)}%`, f.tracker != null ? `${f.tracker.toFixed(1)}%` : "—",
        f.low != null ? `${f.low.toFixed(1)}–${f.high.toFixed(1)}%` : "",
        f.difference != null ? `${f.difference > 0 ? "+" : ""}${f.difference.toFixed(1)} pts` : "",
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
    "the rest say why not. Intervals: 95% where sampled; bounds (the count to the count plus everyone without a value) where exact. Each label ends with the difference in points. Definitions differ: see each row.");
  const shown = data.figures.filter((f) => f.tracker != null);
  // each label ends with the difference in points (the tracker's figure less the published)
  const difference = (f) => (f.difference != null ? `${f.difference > 0 ? "+" : ""}${f.difference.toFixed(1)} pts` : "");
  const labels = shown.map((f) => esc(`${short(`${f.category} · ${f.population.replace(" authors", "")} · ${f.measure}`, LABEL_LENGTH)}` +
    (f.difference != null ? ` (${difference(f)})` : "")));
  const tracker = { type: "bar", orientation: "h", name: "this tracker, with its interval", y: labels, x: shown.map((f) => f.tracker),
    marker: { color: PALETTE[0] },
    customdata: shown.map((f) => [f.low != null ? `${f.low.toFixed(1)}–${f.high.toFixed(1)}%` : "no interval (exact)", difference(f) || "–"]),
    hovertemplate: "%{y}: %{x:.1f}% (%{customdata[0]}), %{customdata[1]} against the published<extra></extra>" };
  const errors = shown.map((f) => (f.low != null ? [f.tracker - f.low, f.high - f.tracker] : [0, 0]));
  if (errors.some((e) => e[0] || e[1])) tracker.error_x = { type: "data", symmetric: false, array: errors.map((e) => e[1]), arrayminus: errors.map((e) => e[0]), color: "#333" };
  if (shown.length) {
    plot.hidden = false;
    section.querySelector(".empty")?.remove();
    const top = Math.max(...shown.map((f) => Math.max(f.published, f.high ?? f.tracker)));
    await draw(plot, [{ type: "bar", orientation: "h", name: "published", y: labels, x: shown.map((f) => f.published),
      marker: { color: PALETTE[1] }, hovertemplate: "%{y}: %{x:.1f}% published<extra></extra>" }, tracker],
      { ...LAYOUT, barmode: "group", height: Math.max(300, 60 + 40 * shown.length),
        xaxis: { title: { text: "% of people" }, ticksuffix: "%", range: [0, top * 1.05], automargin: true }, yaxis: { automargin: true } }, CONFIG);
    describePlot(plot, "Published figures beside this tracker's", shown.slice(0, 3).map((f) => `${f.category}: published ${f.published.toFixed(1)}%, tracker ${f.tracker.toFixed(1)}%`));
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
  section.querySelector(".downloads").hidden = false;
  section.querySelectorAll("a.png, a.svg").forEach((a) => { a.hidden = plot.hidden; });
  section.querySelector("a.png").onclick = (e) => { e.preventDefault(); Plotly.downloadImage(plot, { format: "png", filename: "compare" }); };
  section.querySelector("a.svg").onclick = (e) => { e.preventDefault(); Plotly.downloadImage(plot, { format: "svg", filename: "compare" }); };
}

// an empty state is a sentence saying what is missing and what to do: never empty axes
function showEmpty(section, text) {
  const plot = section.querySelector(".plot");
  Plotly.purge(plot);
  plot.hidden = true;
  plot.style.height = "";
  section.querySelector(".downloads").hidden = true;  // nothing to take away
  let empty = section.querySelector(".empty");
  if (!empty) {
    empty = document.createElement("p");
    empty.className = "empty";
    plot.after(empty);
  }
  empty.textContent = text;
}

// what a chart says when there is nothing to draw, by chart
const NOTHING_TO_DRAW = {
  trends: "A trend needs two years or more in which most people have a work country: choose all years, or another venue.",
};

// the counts a page shows, by what they count, so pages can be checked against each other
function countsOf(name, result) {
  if (["work_countries", "map"].includes(name)) return Object.fromEntries(result.rows.map((r) => [r[0], r[2]]));
  if (name.startsWith("top_institutions")) return Object.fromEntries(result.rows.map((r) => [`${r[0]} (${r[1]})`, r[3]]));
  return null;
}

async function drawSection(section, p) {
  const name = section.dataset.chart;
  if (name === "country") return drawCountry(section, p);
  if (name === "compare") return drawCompare(section);
  const result = await load(name, p);
  const plot = section.querySelector(".plot");
  const notes = section.querySelector("ul.notes");
  notes.textContent = "";
  delete section.dataset.counts;
  if (result.unavailable || result.method === "unavailable" || !result.rows.length) {
    setText(section, ".chart-title", result.title || name);
    setText(section, ".chart-method", "Not available for these filters");
    showEmpty(section, result.unavailable || (result.notes || []).map((n) => (/[.!?)]$/.test(n) ? n : `${n}.`)).join(" ")
      || "No data for these filters.");
    section.querySelector("table.data").textContent = "";
    plot.dataset.rendered = JSON.stringify([p, "empty"]);
    return;
  }
  setText(section, ".chart-title", result.title);
  const unit = result.columns.includes("papers") ? "papers" : "people";
  const sampled = ["sample", "assisted"].includes(result.method);
  const sizes = sampled && result.sample_size != null
    ? ` · n = ${result.sample_size.toLocaleString("en-US")} sampled of N = ${(result.population_size || 0).toLocaleString("en-US")} people`
    : result.population_size != null ? ` · N = ${result.population_size.toLocaleString("en-US")} ${unit}` +
      (result.sample_size != null && result.sample_size !== result.population_size ? `, ${result.sample_size.toLocaleString("en-US")} with a value` : "") : "";
  const intervals = sampled ? " (95% intervals shown)"
    : (result.population_size || 0) > (result.sample_size ?? result.population_size) && DRAW[name] && name !== "trends"
      && !name.startsWith("top_institutions") ? " (bounds: the count, up to the count plus everyone without a value)" : "";
  setText(section, ".chart-method", `Method: ${methodText(result.method, result.coverage, unit)}${intervals}${sizes} · ${result.filters}`);
  section.dataset.method = result.method;
  (result.notes || []).forEach((n) => { const li = document.createElement("li"); li.textContent = n; notes.appendChild(li); });
  if (name === "map") await drawMap(section, result);
  else {
    const traces = DRAW[name](result);
    if (!traces || !traces.length) {
      showEmpty(section, NOTHING_TO_DRAW[name] || "Every figure here is too uncertain to draw: the table gives each one's interval and why.");
    } else {
      plot.hidden = false;
      section.querySelector(".empty")?.remove();
      const axes = AXES[name] || {};
      await draw(plot, traces, { ...LAYOUT, barmode: "group", height: heightFor(traces), ...axes,
        xaxis: { ...LAYOUT.xaxis, ...(axes.xaxis || {}) }, yaxis: { ...LAYOUT.yaxis, ...(axes.yaxis || {}) } }, CONFIG);
      describePlot(plot, result.title, result.rows.slice(0, 3).map((r) => r.filter((v) => v != null).slice(0, 3)
        .map((v, i) => cellText(v, result.columns[i])).join(" ")));
    }
  }
  const counted = countsOf(name, result);
  if (counted) section.dataset.counts = JSON.stringify(counted);
  plot.dataset.rendered = JSON.stringify([p, result.rows.slice(0, 3)]);
  // the table: every figure the chart draws (the map's ISO numbers are for drawing only)
  const keep = result.columns.map((c, i) => (c === "iso_numeric" ? -1 : i)).filter((i) => i >= 0);
  fillTable(section.querySelector("table.data"), keep.map((i) => result.columns[i]), result.rows.map((r) => keep.map((i) => r[i])), 25);
  hookDownloads(section, result, name);
}

async function render() {
  showView();
  const p = document.getElementById("venue") ? params() : {};
  const country = document.getElementById("country");
  if (country) p.country = country.value;
  await Promise.all([...document.querySelectorAll("section.chart")].map((s) => drawSection(s, p)));
  document.body.dataset.ready = String(Date.now());
}

async function setUpCountries(view) {
  const select = document.getElementById("country");
  if (!select) return;
  const top = await load("work_countries", params());
  (top.rows || []).slice(0, 60).forEach((r) => option(select, r[0], `${r[1] || r[0]} (${r[0]})`));
  const wanted = view.country || document.body.dataset.country;
  if (wanted && [...select.options].some((o) => o.value === wanted)) select.value = wanted;
}

(async () => {
  setUpFilters();
  if (PAGE === "methodology" || PAGE === "compare") showView();
  if (PAGE === "methodology") { document.body.dataset.ready = String(Date.now()); return; }
  const view = viewInUrl();
  applyView(view);
  await setUpCountries(view);
  await render();
})();

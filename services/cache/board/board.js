// The station board: every station's latest reading of one temporal aspect, its age and a
// sparkline of its recent readings, kept current by the server-sent events of /v1/stream.
// Served by gridgate-cache under a Content-Security-Policy that allows this file and nothing
// inline: all markup is built with DOM calls and every text from the API goes in as text.
"use strict";

(function () {
  const SPARK_POINTS = 60;      // readings per sparkline
  const PAGE = 1000;            // stations per /v1/stations page (the API's maximum)
  const MAX_STATIONS = 5000;    // the board stops listing beyond this many
  const RECENT_PARALLEL = 4;    // /recent requests in flight while the board fills
  const POLL_MS = 2000;         // while the stream cannot be had
  const STREAM_RETRY_MS = 30000;
  const SVG = "http://www.w3.org/2000/svg";

  // The aspect lives in the fragment (#aspect=edge_prediction): it never reaches the server,
  // whose GET / takes no query parameters.
  const params = new URLSearchParams(location.hash.slice(1));
  const state = {
    aspect: params.get("aspect") === "edge_prediction" ? "edge_prediction" : "real_time",
    stations: new Map(), // id -> {id, latest, series: [{t, v}], el: {...}}
    stream: null,
    pollTimer: 0,
    retryTimer: 0,
    generation: 0,       // bumps on an aspect switch, so late answers of the old one are dropped
    lastEvent: 0,
  };
  const $ = (id) => document.getElementById(id);

  // Station ids in the API's order: digits-only ids by value, then the others by bytes.
  function compareIds(a, b) {
    const da = /^[0-9]+$/.test(a), db = /^[0-9]+$/.test(b);
    if (da !== db) return da ? -1 : 1;
    if (da) {
      const x = a.replace(/^0+(?=.)/, ""), y = b.replace(/^0+(?=.)/, "");
      if (x.length !== y.length) return x.length - y.length;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function setStatus(kind, text) {
    const s = $("status");
    s.dataset.state = kind;
    s.textContent = text;
  }

  async function getJSON(url) {
    const r = await fetch(url, {headers: {Accept: "application/json"}, cache: "no-cache"});
    if (r.status === 404) return null;
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    return r.json();
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function formatValue(v) {
    if (typeof v !== "number" || !isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toPrecision(6)));
  }

  function formatAge(us) {
    const s = Math.max(0, Math.round((Date.now() * 1000 - us) / 1e6));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  // Newer-wins, as the cache orders readings: event time, then correlation id.
  function newer(a, b) {
    if (!b) return true;
    if (a.created_at_us !== b.created_at_us) return a.created_at_us > b.created_at_us;
    return (a.correlation_id || "") > (b.correlation_id || "");
  }

  function card(st) {
    const root = el("article", "card");
    root.dataset.station = st.id;
    const head = el("header");
    head.append(el("h2", "", st.id), el("span", "aspect", state.aspect.replace("_", " ")));
    const value = el("p", "value");
    const num = el("span", "num", "–");
    const unit = el("span", "unit", "");
    value.append(num, unit);
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("viewBox", "0 0 100 30");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "recent readings of station " + st.id);
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
    const meta = el("p", "meta");
    const age = el("span", "age", "");
    const time = el("time", "", "");
    meta.append(age, time);
    root.append(head, value, svg, meta);
    st.el = {root, num, unit, line, age, time, svg};
    return root;
  }

  function place(st) {
    const board = $("board");
    const ids = [...state.stations.keys()].sort(compareIds);
    const next = ids[ids.indexOf(st.id) + 1];
    const before = next && state.stations.get(next).el ? state.stations.get(next).el.root : null;
    board.insertBefore(card(st), before);
  }

  function drawSpark(st) {
    const pts = st.series;
    if (!st.el) return;
    if (pts.length < 2) {
      st.el.line.setAttribute("points", pts.length ? "0,15 100,15" : "");
      return;
    }
    let lo = Infinity, hi = -Infinity;
    for (const p of pts) { lo = Math.min(lo, p.v); hi = Math.max(hi, p.v); }
    const t0 = pts[0].t, span = pts[pts.length - 1].t - t0 || 1, range = hi - lo || 1;
    st.el.line.setAttribute("points", pts.map((p) => {
      const x = ((p.t - t0) / span) * 100;
      const y = 28 - ((p.v - lo) / range) * 26;
      return x.toFixed(2) + "," + y.toFixed(2);
    }).join(" "));
    st.el.svg.dataset.points = String(pts.length);
  }

  function show(st, fresh) {
    const r = st.latest, e = st.el;
    if (!r || !e) return;
    e.num.textContent = formatValue(r.modality);
    e.unit.textContent = r.unit || "";
    e.age.textContent = formatAge(r.created_at_us);
    e.time.textContent = r.created_at.replace("T", " ").replace(/\.\d+Z$/, "Z");
    e.time.setAttribute("datetime", r.created_at);
    e.root.dataset.created = String(r.created_at_us);
    e.root.dataset.correlationId = r.correlation_id || "";
    if (fresh) {
      e.root.classList.remove("fresh");
      void e.root.offsetWidth; // restart the highlight
      e.root.classList.add("fresh");
    }
  }

  function addPoint(st, r) {
    const p = {t: r.created_at_us, v: r.modality, id: r.correlation_id || ""};
    const s = st.series;
    if (s.some((q) => q.t === p.t && q.id === p.id)) return;
    let i = s.length;
    while (i > 0 && s[i - 1].t > p.t) i--;
    s.splice(i, 0, p);
    if (s.length > SPARK_POINTS) s.splice(0, s.length - SPARK_POINTS);
  }

  function summary() {
    const n = [...state.stations.values()].filter((s) => s.latest).length;
    $("summary").textContent = n + (n === 1 ? " station" : " stations") +
      (state.stations.size >= MAX_STATIONS ? " (the first " + MAX_STATIONS + ")" : "");
    $("empty").hidden = n > 0;
  }

  // One reading, from the stream or a poll: a new station gets a card, a newer reading moves
  // the value, any reading of the aspect joins the sparkline.
  function apply(r, fromLive) {
    if (!r || typeof r.station_id !== "string" || r.temporal_aspect !== state.aspect) return;
    let st = state.stations.get(r.station_id);
    if (!st) {
      if (state.stations.size >= MAX_STATIONS) return;
      st = {id: r.station_id, latest: null, series: [], el: null};
      state.stations.set(st.id, st);
      place(st);
    }
    addPoint(st, r);
    drawSpark(st);
    if (newer(r, st.latest)) {
      st.latest = r;
      show(st, fromLive);
    }
    summary();
  }

  async function listStations(gen) {
    const found = [];
    let cursor = "";
    do {
      const page = await getJSON("v1/stations?limit=" + PAGE +
                                 (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      if (gen !== state.generation || !page) break;
      for (const s of page.stations) found.push(s);
      cursor = page.next_cursor || "";
    } while (cursor && found.length < MAX_STATIONS);
    return found.slice(0, MAX_STATIONS);
  }

  async function latestOf(ids, gen) {
    const out = {};
    for (let i = 0; i < ids.length && gen === state.generation; i += PAGE) {
      const chunk = ids.slice(i, i + PAGE).map(encodeURIComponent).join(",");
      const body = await getJSON("v1/latest?aspect=" + state.aspect + "&stations=" + chunk);
      Object.assign(out, body ? body.latest : {});
    }
    return out;
  }

  async function loadRecent(ids, gen) {
    let next = 0;
    async function worker() {
      while (next < ids.length && gen === state.generation) {
        const id = ids[next++];
        let body = null;
        try {
          body = await getJSON("v1/stations/" + encodeURIComponent(id) + "/recent?limit=100");
        } catch (e) {
          continue; // a sparkline fills from the stream instead
        }
        if (gen !== state.generation || !body) continue;
        const st = state.stations.get(id);
        for (const r of body.readings) {
          if (r.temporal_aspect === state.aspect) addPoint(st, r);
        }
        drawSpark(st);
      }
    }
    await Promise.all(Array.from({length: RECENT_PARALLEL}, worker));
  }

  async function load() {
    const gen = ++state.generation;
    stopStream();
    state.stations.clear();
    $("board").replaceChildren();
    setStatus("loading", "loading");
    try {
      const listed = await listStations(gen);
      if (gen !== state.generation) return;
      const ids = listed.map((s) => s.station_id);
      const latest = state.aspect === "real_time"
        ? Object.fromEntries(listed.map((s) => [s.station_id, s.latest]))
        : await latestOf(ids, gen);
      if (gen !== state.generation) return;
      for (const id of ids) {
        if (latest[id]) apply(latest[id], false);
      }
      summary();
      startStream(gen);
      await loadRecent(ids.filter((id) => state.stations.has(id)), gen);
    } catch (e) {
      if (gen === state.generation) {
        setStatus("error", "cannot load: " + e.message);
        state.retryTimer = setTimeout(load, 5000);
      }
    }
  }

  function stopStream() {
    if (state.stream) state.stream.close();
    state.stream = null;
    clearInterval(state.pollTimer);
    clearTimeout(state.retryTimer);
    state.pollTimer = state.retryTimer = 0;
  }

  // Events carry a reading (or an object holding one under "reading").
  function onEvent(ev) {
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    state.lastEvent = Date.now();
    apply(data && data.reading ? data.reading : data, true);
  }

  function startStream(gen) {
    if (!window.EventSource) return startPolling(gen);
    const es = new EventSource("v1/stream?aspect=" + state.aspect);
    state.stream = es;
    es.onopen = () => setStatus("live", "live");
    es.onmessage = onEvent;
    es.addEventListener("reading", onEvent);
    es.onerror = () => {
      if (gen !== state.generation) return;
      if (es.readyState === EventSource.CLOSED) {
        // Refused outright (no stream on this server, or too many streams): poll, and try
        // the stream again later.
        state.stream = null;
        startPolling(gen);
      } else {
        setStatus("loading", "reconnecting");
      }
    };
  }

  function startPolling(gen) {
    setStatus("polling", "polling");
    const tick = async () => {
      if (gen !== state.generation) return;
      try {
        const ids = [...state.stations.keys()];
        const latest = await latestOf(ids, gen);
        for (const id of ids) if (latest[id]) apply(latest[id], true);
        setStatus("polling", "polling");
      } catch (e) {
        setStatus("error", "cannot poll: " + e.message);
      }
    };
    state.pollTimer = setInterval(tick, POLL_MS);
    state.retryTimer = setTimeout(() => {
      if (gen !== state.generation) return;
      clearInterval(state.pollTimer);
      state.pollTimer = 0;
      startStream(gen);
    }, STREAM_RETRY_MS);
  }

  function pickAspect(aspect) {
    if (aspect === state.aspect) return;
    state.aspect = aspect;
    for (const b of document.querySelectorAll(".aspects button")) {
      b.setAttribute("aria-pressed", String(b.dataset.aspect === aspect));
    }
    history.replaceState(null, "", location.pathname + location.search +
                         (aspect === "real_time" ? "" : "#aspect=" + aspect));
    load();
  }

  function start() {
    for (const b of document.querySelectorAll(".aspects button")) {
      b.setAttribute("aria-pressed", String(b.dataset.aspect === state.aspect));
      b.addEventListener("click", () => pickAspect(b.dataset.aspect));
    }
    setInterval(() => {
      for (const st of state.stations.values()) {
        if (st.latest && st.el) st.el.age.textContent = formatAge(st.latest.created_at_us);
      }
    }, 1000);
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

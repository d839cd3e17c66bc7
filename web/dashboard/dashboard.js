// The dashboard page: polls the server's JSON API (host/dashboard/dashboard-server.ts), draws the
// service graph with cytoscape and one workload's golden signals with uPlot. Plain script (no
// build step): the libraries are globals loaded from this origin before it.
'use strict';
(() => {
  const POLL_MS = 5000;
  const $ = (id) => document.getElementById(id);
  const state = { window: $('window').value, selected: null, graph: null, charts: {}, layoutKey: '' };

  async function getJson(path) {
    const res = await fetch(path, { headers: { accept: 'application/json' } });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    return body;
  }

  function fmt(n, digits = 2) {
    if (n === null || n === undefined || !Number.isFinite(n)) return '–';
    return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
  }

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  const cy = cytoscape({
    container: $('graph'),
    wheelSensitivity: 0.3,
    style: [
      { selector: 'node', style: {
        label: 'data(label)', 'text-valign': 'bottom', 'text-margin-y': 4, 'font-size': 11, 'text-wrap': 'wrap',
        'background-color': '#3b6fd6', width: 34, height: 34, shape: 'round-rectangle', 'border-width': 2, 'border-color': '#fff',
      } },
      { selector: 'node[kind = "unknown"]', style: { shape: 'ellipse', 'background-color': '#8a93a6' } },
      { selector: 'node[kind = "service"]', style: { shape: 'diamond', 'background-color': '#6a55c2' } },
      { selector: 'node[?failing]', style: { 'border-color': '#b42318', 'border-width': 4 } },
      { selector: 'node:selected', style: { 'border-color': '#f5a524', 'border-width': 4 } },
      { selector: 'edge', style: {
        label: 'data(label)', 'font-size': 10, 'text-background-color': '#fff', 'text-background-opacity': 0.85,
        'curve-style': 'bezier', 'target-arrow-shape': 'triangle', width: 'data(width)', 'line-color': 'data(color)', 'target-arrow-color': 'data(color)',
      } },
      { selector: 'edge[mtls = "none"]', style: { 'line-style': 'dashed' } },
      { selector: 'edge[mtls = "unknown"]', style: { 'line-style': 'dotted' } },
      { selector: 'edge[mtls = "partial"]', style: { 'line-style': 'dashed', 'line-dash-pattern': [8, 3] } },
    ],
  });
  // For the browser test and for poking from the devtools console.
  window.wasmeshDashboard = { cy, state };

  function edgeLabel(e) {
    const lock = e.mtls === 'mutual_tls' ? 'mTLS ' : e.mtls === 'partial' ? 'part-mTLS ' : '';
    if (e.protocol === 'tcp') return `${lock}${fmt(e.tcpBytesPerS, 0)} B/s`;
    return `${lock}${fmt(e.rps)} rps · ${fmt(e.errorRate * 100, 1)}% · p99 ${fmt(e.p99Ms, 0)}ms`;
  }

  function edgeColor(e) {
    if (e.errorRate > 0.05) return '#b42318';
    if (e.errorRate > 0) return '#d97706';
    return e.mtls === 'mutual_tls' ? '#1f8a4c' : '#6b7385';
  }

  function renderGraph(graph) {
    const failing = new Set(graph.edges.filter((e) => e.errorRate > 0.05).map((e) => e.target));
    const elements = [
      ...graph.nodes.map((n) => ({ group: 'nodes', data: {
        id: n.id, kind: n.kind, namespace: n.namespace, workload: n.workload, app: n.app, version: n.version, inRps: n.inRps,
        failing: failing.has(n.id), label: n.kind === 'workload' ? `${n.workload}\n${n.namespace}` : n.kind === 'service' ? n.app : 'unknown',
      } })),
      ...graph.edges.map((e) => ({ group: 'edges', data: {
        id: e.id, source: e.source, target: e.target, mtls: e.mtls, rps: e.rps, errorRate: e.errorRate, p99Ms: e.p99Ms, protocol: e.protocol,
        destinationService: e.destinationService, label: edgeLabel(e), color: edgeColor(e),
        width: Math.min(8, 1.5 + Math.log10(1 + (e.protocol === 'tcp' ? e.tcpBytesPerS / 1000 : e.rps)) * 2),
      } })),
    ];
    const ids = new Set(elements.map((el) => el.data.id));
    cy.batch(() => {
      cy.elements().filter((el) => !ids.has(el.id())).remove();
      for (const el of elements) {
        const existing = cy.getElementById(el.data.id);
        if (existing.nonempty()) existing.data(el.data);
        else cy.add(el);
      }
    });
    // Lay out again only when the shape changed: a poll must not move what the user looks at.
    const key = [...ids].sort().join('|');
    if (key !== state.layoutKey) {
      state.layoutKey = key;
      // Callers left, callees right: breadthfirst ranks top-down, its positions are turned.
      cy.layout({ name: 'breadthfirst', directed: true, padding: 40, spacingFactor: 1.2, animate: false, transform: (_node, p) => ({ x: p.y * 2.6, y: p.x }) }).run();
    }
    const tbody = $('edges').tBodies[0];
    tbody.replaceChildren(...graph.edges.map((e) => {
      const tr = document.createElement('tr');
      tr.dataset.edge = e.id;
      tr.append(
        cell(e.source), cell(e.target), cell(e.destinationService), cell(e.protocol),
        cell(e.protocol === 'http' ? fmt(e.rps) : '–', 'num rps'),
        cell(e.protocol === 'http' ? `${fmt(e.errorRate * 100, 1)}%` : '–', e.errorRate > 0.05 ? 'num bad' : 'num'),
        cell(fmt(e.p99Ms, 1), 'num'), cell(e.protocol === 'tcp' ? fmt(e.tcpBytesPerS, 0) : '–', 'num'),
        cell(e.mtls === 'mutual_tls' ? 'mTLS' : e.mtls, e.mtls === 'mutual_tls' ? 'ok' : ''), cell(e.reporter),
      );
      return tr;
    }));
  }

  function chart(id, title, series, times, columns, unit) {
    const el = $(id);
    const width = Math.max(280, el.clientWidth || $('panel').clientWidth - 24);
    const data = [times, ...columns];
    const old = state.charts[id];
    if (old && old.series.length === series.length + 1) {
      old.setData(data);
      return;
    }
    if (old) old.destroy();
    el.replaceChildren();
    state.charts[id] = new uPlot({
      title, width, height: 150,
      scales: { x: { time: true } },
      axes: [{}, { label: unit, size: 55 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false, points: { show: true, size: 4 } }))],
    }, data, el);
  }

  async function renderSignals() {
    const n = state.selected;
    if (!n) return;
    $('panel-hint').hidden = true;
    $('details').hidden = false;
    $('details-title').textContent = n.kind === 'workload' ? `${n.workload}.${n.namespace}` : n.label;
    if (n.kind !== 'workload') {
      $('details-summary').textContent = 'Not a workload with a proxy: its calls are known from the callers\' reports only.';
      return;
    }
    const q = new URLSearchParams({ namespace: n.namespace, workload: n.workload, window: state.window, range: '600', step: '5' });
    const s = await getJson(`/api/workload?${q}`);
    const last = (arr) => { for (let i = arr.length - 1; i >= 0; i--) if (arr[i] !== null) return arr[i]; return null; };
    $('details-summary').textContent = `app ${n.app} · version ${n.version} · now ${fmt(last(s.values.requests))} rps, ` +
      `${fmt((last(s.values.errors) ?? 0) * 100, 1)}% 5xx, p99 ${fmt(last(s.values.p99), 0)} ms`;
    chart('chart-requests', 'Incoming requests/s', [{ label: 'requests/s', color: '#3b6fd6' }], s.times, [s.values.requests], 'req/s');
    chart('chart-errors', 'Incoming 5xx %', [{ label: '5xx %', color: '#b42318' }], s.times, [s.values.errors.map((v) => (v === null ? null : v * 100))], '%');
    chart('chart-latency', 'Request duration (ms)', [
      { label: 'p50', color: '#1f8a4c' }, { label: 'p90', color: '#d97706' }, { label: 'p99', color: '#b42318' },
    ], s.times, [s.values.p50, s.values.p90, s.values.p99], 'ms');
    await renderConfig(n);
  }

  async function renderConfig(n) {
    const list = $('config');
    if (!state.info || !state.info.controlPlane) {
      list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'Start with --control-plane to see the resources that apply.' }));
      return;
    }
    const services = cy.edges().filter((e) => e.target().id() === n.id).map((e) => e.data('destinationService'));
    const q = new URLSearchParams({ namespace: n.namespace, workload: n.workload, app: n.app });
    for (const s of new Set(services)) q.append('service', s);
    const body = await getJson(`/api/config?${q}`);
    list.replaceChildren(...(body.resources.length === 0
      ? [Object.assign(document.createElement('li'), { className: 'muted', textContent: 'none' })]
      : body.resources.map((r) => Object.assign(document.createElement('li'), { textContent: `${r.kind} ${r.namespace}/${r.name} — ${r.why}` }))));
  }

  async function renderProxies() {
    const body = await getJson('/api/proxies');
    const tbody = $('proxies').tBodies[0];
    if (body.controlPlane === null) {
      const tr = document.createElement('tr');
      const td = cell('Start with --control-plane http://<host>:15014 to see every proxy\'s sync status.', 'muted');
      td.colSpan = 5;
      tr.append(td);
      tbody.replaceChildren(tr);
      return;
    }
    tbody.replaceChildren(...body.proxies.map((p) => {
      const tr = document.createElement('tr');
      tr.append(cell(p.proxy), cell(p.kind), cell(p.overall, p.overall === 'SYNCED' ? 'ok' : 'bad'),
        cell(Object.entries(p.types).map(([t, s]) => `${t} ${s}`).join(', ')), cell(p.error || ''));
      return tr;
    }));
  }

  async function refresh() {
    try {
      const graph = await getJson(`/api/graph?window=${encodeURIComponent(state.window)}`);
      state.graph = graph;
      renderGraph(graph);
      await Promise.all([renderProxies(), renderSignals()]);
      $('status').textContent = `updated ${new Date(graph.at).toLocaleTimeString()} · ${graph.nodes.length} workloads, ${graph.edges.length} calls`;
      document.body.dataset.refreshed = String((Number(document.body.dataset.refreshed) || 0) + 1);
    } catch (err) {
      $('status').textContent = `error: ${err.message}`;
    }
  }

  cy.on('tap', 'node', (evt) => {
    state.selected = evt.target.data();
    renderSignals().catch((err) => { $('details-summary').textContent = `error: ${err.message}`; });
  });
  $('window').addEventListener('change', () => {
    state.window = $('window').value;
    refresh();
  });

  getJson('/api/info').then((info) => {
    state.info = info;
    // The server's --window is the page's starting window.
    const select = $('window');
    if (![...select.options].some((o) => o.value === info.window)) select.add(new Option(info.window, info.window));
    select.value = info.window;
    state.window = info.window;
    $('source').textContent = `Prometheus ${info.prometheus}${info.controlPlane ? ` · control plane ${info.controlPlane}` : ''}`;
  }).catch(() => {}).finally(() => {
    refresh();
    setInterval(refresh, POLL_MS);
  });
})();

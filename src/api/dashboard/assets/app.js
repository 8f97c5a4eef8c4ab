// The ringkv dashboard: loads the cluster overview once with five minutes of history, then follows
// the node's live stream (one snapshot per poll interval, whatever the number of open dashboards).
import { colourOf, renderEvents, renderHealing, renderMembers, renderPbs, renderRing } from './render.js';
import { Unauthorized, getJson, openStream, savePassword, savedPassword } from './stream.js';

const HISTORY_SECONDS = 300;

/** per member: second (epoch s) → { rate, put99, get99 } */
const history = new Map();
let charts = [];
let chartMembers = '';

function absorbSeries(overview) {
  for (const m of overview.members) {
    const s = m.node?.series;
    if (!s) continue;
    let points = history.get(m.id);
    if (!points) history.set(m.id, (points = new Map()));
    s.t.forEach((tMs, i) => {
      const ops = s.operations;
      const rate = Object.values(ops).reduce((sum, o) => sum + o.count[i], 0);
      points.set(Math.floor(tMs / 1000), { rate, put99: ops.put.p99Ms[i], get99: ops.get.p99Ms[i] });
    });
  }
  const horizon = Math.floor(Date.now() / 1000) - HISTORY_SECONDS;
  for (const points of history.values()) for (const t of points.keys()) if (t < horizon) points.delete(t);
}

function chartData(ids, field) {
  const seconds = new Set();
  for (const id of ids) for (const t of history.get(id)?.keys() ?? []) seconds.add(t);
  const xs = [...seconds].sort((a, b) => a - b);
  return [xs, ...ids.map((id) => xs.map((t) => history.get(id)?.get(t)?.[field] ?? null))];
}

const CHARTS = [
  { id: 'chart-rate', field: 'rate', title: 'requests per second, by node', unit: 'req/s' },
  { id: 'chart-put', field: 'put99', title: 'put latency p99 per second (ms), by node', unit: 'ms' },
  { id: 'chart-get', field: 'get99', title: 'get latency p99 per second (ms), by node', unit: 'ms' },
];

function drawCharts(overview) {
  const ids = overview.members.map((m) => m.id);
  if (ids.join(',') !== chartMembers) {
    for (const c of charts) c.plot.destroy();
    chartMembers = ids.join(',');
    charts = CHARTS.map((spec) => {
      const box = document.getElementById(spec.id);
      const opts = {
        title: spec.title,
        width: Math.max(300, box.clientWidth),
        height: 180,
        scales: { x: { time: true } },
        series: [{}, ...ids.map((id) => ({ label: id, stroke: colourOf(id), width: 1.5, spanGaps: false, value: (_u, v) => (v === null ? '–' : `${v.toFixed(spec.unit === 'ms' ? 2 : 0)} ${spec.unit}`) }))],
        axes: [{}, { size: 60 }],
      };
      return { spec, plot: new uPlot(opts, chartData(ids, spec.field), box) };
    });
  } else {
    for (const c of charts) c.plot.setData(chartData(ids, c.spec.field));
  }
}

function render(overview) {
  document.getElementById('served-by').textContent = `served by ${overview.servedBy} · ${new Date(overview.timeMs).toLocaleTimeString()}`;
  absorbSeries(overview);
  renderMembers(overview);
  renderRing(overview);
  renderPbs(overview);
  renderHealing(overview);
  renderEvents(overview);
  drawCharts(overview);
}

function setConnection(state, text) {
  const c = document.getElementById('connection');
  c.dataset.state = state;
  c.textContent = text;
}

function askPassword(message) {
  document.getElementById('dashboard').hidden = true;
  const form = document.getElementById('login');
  form.hidden = false;
  document.getElementById('login-error').textContent = message;
  setConnection('lost', 'password needed');
}

let stopStream;
async function start() {
  try {
    const session = await (await fetch('/ui/session', { cache: 'no-store' })).json();
    if (session.passwordRequired && !savedPassword()) return askPassword('');
    const overview = await getJson(`/cluster/overview?series=${HISTORY_SECONDS - 1}`);
    document.getElementById('login').hidden = true;
    document.getElementById('dashboard').hidden = false;
    render(overview);
  } catch (e) {
    if (e instanceof Unauthorized) return askPassword('');
    setConnection('lost', `cannot load the overview: ${e.message}; retrying`);
    setTimeout(start, 2000);
    return;
  }
  stopStream?.();
  stopStream = openStream(render, (state) => {
    if (state === 'live') setConnection('live', 'live');
    else if (state === 'reconnecting') setConnection('reconnecting', 'connection to the node lost; reconnecting…');
    else if (state === 'unauthorized') askPassword('The password was refused.');
  });
}

document.getElementById('login').addEventListener('submit', (event) => {
  event.preventDefault();
  savePassword(document.getElementById('password').value);
  void start();
});

void start();

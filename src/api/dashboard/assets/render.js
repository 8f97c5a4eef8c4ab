// Renders the overview (GET /cluster/overview, or one event of /ui/events) into the page. Text goes
// in through textContent only: names and errors come from the cluster, not from this page.

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#1f77b4', '#2ca02c'];

/** one colour per member, stable for the page's life */
const colours = new Map();
export function colourOf(id) {
  if (!colours.has(id)) colours.set(id, PALETTE[colours.size % PALETTE.length]);
  return colours.get(id);
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function ms(x) {
  return x === null || x === undefined ? '–' : x < 10 ? `${x.toFixed(2)} ms` : `${Math.round(x)} ms`;
}

function pct(p) {
  return `${(p * 100).toFixed(p > 0.999 && p < 1 ? 2 : 1)} %`;
}

/** requests per second summed over operations */
export function totalRate(node) {
  if (!node) return 0;
  return Object.values(node.requests.operations).reduce((sum, o) => sum + o.ratePerSec, 0);
}

/** the prediction for the node's configured r and w */
export function configuredPrediction(node) {
  if (!node || !node.pbs.ready) return undefined;
  return node.pbs.predictions.find((p) => p.r === node.config.r && p.w === node.config.w);
}

export function renderMembers(overview) {
  const tbody = document.querySelector('#members tbody');
  const rows = overview.members.map((m) => {
    const n = m.node;
    const self = n?.members.find((x) => x.id === m.id);
    const ring = overview.ring.owners.filter((o) => o === m.id).length;
    const prediction = configuredPrediction(n);
    const pbsText = !n ? '–' : prediction ? `${pct(prediction.freshAtCommit)} fresh at once · 99.9 % after ${ms(prediction.delta999Ms)}` : n.pbs.note;
    const status = el('td', { class: 'status status-cell', 'data-status': m.status }, m.status);
    if (m.error) status.title = m.error;
    return el(
      'tr',
      { 'data-member': m.id, 'data-status': m.status, 'data-rate': totalRate(n).toFixed(1) },
      el('td', {}, el('span', { class: 'swatch', style: `background:${colourOf(m.id)}` }), m.id, m.id === overview.servedBy ? ' (this node)' : ''),
      status,
      el('td', {}, m.address),
      el('td', {}, m.zone ?? '–'),
      el('td', {}, n?.incarnation ?? self?.incarnation ?? '–'),
      el('td', {}, self?.phi ?? '–'),
      el('td', {}, ring),
      el('td', {}, n ? [n.storage.bytesOnDisk !== null ? bytes(n.storage.bytesOnDisk) : '', n.storage.keys !== null ? `${n.storage.keys} keys` : ''].filter(Boolean).join(' · ') || '–' : '–'),
      el('td', {}, n ? totalRate(n).toFixed(1) : '–'),
      el('td', {}, ms(n?.requests.operations.get.p99Ms)),
      el('td', {}, ms(n?.requests.operations.put.p99Ms)),
      el('td', {}, pbsText),
    );
  });
  tbody.replaceChildren(...rows);
  const down = overview.members.filter((m) => !m.reachable);
  document.getElementById('members-note').textContent = down.length
    ? `Not answering ${overview.servedBy}'s status requests: ${down.map((m) => `${m.id} (${m.error})`).join('; ')}. ` +
      (overview.members.find((m) => m.id === overview.servedBy)?.node?.membership === 'gossip'
        ? 'Their status is what the member table says (gossip and failure detection).'
        : 'With a static member list a member that does not answer is shown down.')
    : `Every member answers ${overview.servedBy}'s status requests (refreshed every ${overview.pollIntervalMs / 1000} s).`;
}

let drawnRing = '';
export function renderRing(overview) {
  const { owners, pending, epoch, partitions, n } = overview.ring;
  const key = owners.join(',') + JSON.stringify(pending);
  if (key === drawnRing) return;
  drawnRing = key;
  const svg = document.getElementById('ring');
  const moving = new Map(pending.map((m) => [m.partition, m]));
  const paths = owners.map((owner, p) => {
    const a0 = (p / partitions) * 2 * Math.PI - Math.PI / 2;
    const a1 = ((p + 1) / partitions) * 2 * Math.PI - Math.PI / 2;
    const [r0, r1] = [60, 100];
    const pt = (r, a) => `${(r * Math.cos(a)).toFixed(2)} ${(r * Math.sin(a)).toFixed(2)}`;
    const d = `M ${pt(r0, a0)} L ${pt(r1, a0)} A ${r1} ${r1} 0 0 1 ${pt(r1, a1)} L ${pt(r0, a1)} A ${r0} ${r0} 0 0 0 ${pt(r0, a0)} Z`;
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', colourOf(owner));
    path.setAttribute('data-partition', String(p));
    path.setAttribute('data-owner', owner);
    const move = moving.get(p);
    if (move) path.setAttribute('class', 'pending');
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = move ? `partition ${p}: ${owner}, moving ${move.from.join(', ') || '–'} → ${move.to.join(', ')}${move.percent !== null ? ` (${move.percent} %)` : ''}${move.stalled ? ' (stalled)' : ''}` : `partition ${p}: ${owner}`;
    path.append(title);
    return path;
  });
  svg.replaceChildren(...paths);
  const counts = new Map();
  for (const o of owners) counts.set(o, (counts.get(o) ?? 0) + 1);
  document.getElementById('ring-legend').replaceChildren(
    ...[...counts.entries()].sort().map(([id, c]) => el('li', {}, el('span', { class: 'swatch', style: `background:${colourOf(id)}` }), `${id}: ${c} partitions (${((c / partitions) * 100).toFixed(1)} %)`)),
  );
  document.getElementById('ring-note').textContent =
    `${partitions} partitions, N = ${n}, coloured by owner (first replica)${epoch !== null ? `, epoch ${epoch}` : ''}. ` +
    (pending.length ? `${pending.length} partition(s) moving (dashed).` : 'No partition moving.');
}

export function renderPbs(overview) {
  const self = overview.members.find((m) => m.id === overview.servedBy)?.node;
  const grid = document.getElementById('pbs-grid');
  if (!self) return;
  const { pbs, config } = self;
  document.getElementById('pbs-note').textContent = pbs.ready
    ? `${overview.servedBy}'s prediction for N = ${pbs.n}: probability that a read started at once after a write commits sees it, and the time after which 99.9 % do. ${pbs.note}; ${pct(pbs.readLocalProbability)} of reads coordinated by a replica.`
    : `${overview.servedBy}: ${pbs.note}`;
  if (!pbs.ready) {
    grid.replaceChildren();
    return;
  }
  const head = el('tr', {}, el('th', {}, 'R \\ W'), ...Array.from({ length: pbs.n }, (_, i) => el('th', {}, `W = ${i + 1}`)));
  const rows = Array.from({ length: pbs.n }, (_, ri) =>
    el(
      'tr',
      {},
      el('th', {}, `R = ${ri + 1}`),
      ...Array.from({ length: pbs.n }, (_, wi) => {
        const p = pbs.predictions.find((x) => x.r === ri + 1 && x.w === wi + 1);
        const cell = el('td', { 'data-r': ri + 1, 'data-w': wi + 1 }, `${pct(p.freshAtCommit)} · ${ms(p.delta999Ms)}`);
        if (ri + 1 === config.r && wi + 1 === config.w) cell.style.fontWeight = '700';
        return cell;
      }),
    ),
  );
  grid.replaceChildren(head, ...rows);
}

export function renderHealing(overview) {
  const box = document.getElementById('healing');
  const items = [];
  for (const m of overview.members) {
    const n = m.node;
    if (!n) continue;
    const parts = [];
    parts.push(
      n.hints
        ? `hints: ${n.hints.pendingCount} pending (${bytes(n.hints.pendingBytes)})${n.hints.targets.map((t) => ` · for ${t.node}: ${t.count}`).join('')}, ${n.hints.deliveredTotal} delivered`
        : 'hinted handoff: not in this version',
    );
    const a = n.antiEntropy;
    const repair = a?.operatorRepair;
    parts.push(
      a
        ? `anti-entropy: ${a.exchanges} exchanges (${a.exchangesInSync} in sync, ${a.exchangesFailed} failed), ${a.keysPushed + a.keysPulled} keys repaired` +
            (a.fullRepair.total > 0 && a.fullRepair.done < a.fullRepair.total ? `, full repair ${Math.round((a.fullRepair.done / a.fullRepair.total) * 100)} %` : '') +
            (repair?.running ? `, operator repair ${repair.partitionsDone}/${repair.partitionsTotal} partitions` : '')
        : 'anti-entropy: not in this version',
    );
    const inflight = n.transfers?.inbound.filter((t) => t.phase !== 'done') ?? [];
    parts.push(
      n.transfers
        ? `transfers: ${inflight.map((t) => `p${t.partition} ${t.from.join('+')}→${t.to} ${t.percent} %${t.stalled ? ' (stalled)' : ''}`).join(', ') || 'none in flight'}`
        : 'transfers: not in this version',
    );
    items.push(el('p', { 'data-member': m.id, class: n.hints || n.antiEntropy || n.transfers ? '' : 'absent' }, `${m.id}: ${parts.join(' · ')}`));
  }
  box.replaceChildren(...items);
}

export function renderEvents(overview) {
  document.getElementById('events-note').textContent = `Status changes ${overview.servedBy} has seen (from its status requests; gossip will report joins, leaves and downs here).`;
  const list = [...overview.events].reverse().map((e) =>
    el('li', { 'data-member': e.member, 'data-status': e.to }, `${new Date(e.timeMs).toLocaleTimeString()} ${e.member}: ${e.from ?? '–'} → ${e.to}${e.detail ? ` (${e.detail})` : ''}`),
  );
  document.getElementById('events').replaceChildren(...(list.length ? list : [el('li', { class: 'absent' }, 'none yet')]));
}

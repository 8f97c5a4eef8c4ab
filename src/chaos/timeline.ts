/**
 * The timeline a person opens in a browser: one lane per node (operations sent through it), time
 * left to right in buckets, each bucket a stacked bar of ok (green), unknown (orange) and failed (red)
 * operations; fault windows shaded grey with their name, convergence checks shaded blue, nodes that
 * died by themselves marked with a red line.
 */
import type { HistoryRecord, OpRecord } from './history.js';
import { HistoryIndex } from './checkers/history-index.js';

const WIDTH = 1400;
const LANE_HEIGHT = 70;
const TOP = 60;
const LEFT = 60;
const COLORS = { ok: '#3a9a4a', unknown: '#f0a020', fail: '#d0302a' } as const;

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function timelineHtml(records: HistoryRecord[], title: string): string {
  const ix = new HistoryIndex(records);
  // the nodes the run started with, then any that joined later (they appear in the operations only)
  const nodes = [...new Set([...(ix.meta?.nodes ?? []), ...[...new Set(ix.ops.map((o) => o.node))].sort()])];
  const endMs = Math.max(1, ...ix.ops.map((o) => o.completeMs), ...ix.checks.map((c) => c.endMs), ...ix.faults.map((f) => f.healedMs));
  const plotW = WIDTH - LEFT - 20;
  const bucketMs = Math.max(100, Math.ceil(endMs / (plotW / 3) / 100) * 100);
  const x = (t: number): number => LEFT + (t / endMs) * plotW;
  const buckets = Math.ceil(endMs / bucketMs);
  const height = TOP + nodes.length * LANE_HEIGHT + 40;
  const parts: string[] = [];

  for (const f of ix.faults) {
    parts.push(`<rect x="${x(f.startMs)}" y="${TOP - 30}" width="${Math.max(1, x(f.healedMs) - x(f.startMs))}" height="${nodes.length * LANE_HEIGHT + 30}" fill="#888" opacity="0.18"><title>${esc(`${f.nemesis}: ${f.description} (${f.startMs}–${f.healedMs} ms)`)}</title></rect>`);
    parts.push(`<text x="${x(f.startMs) + 3}" y="${TOP - 16}" font-size="11">${esc(f.nemesis)}</text>`);
  }
  for (const c of ix.checks) {
    parts.push(`<rect x="${x(c.startMs)}" y="${TOP - 30}" width="${Math.max(1, x(c.endMs) - x(c.startMs))}" height="${nodes.length * LANE_HEIGHT + 30}" fill="#2060c0" opacity="0.12"><title>convergence check ${c.check}</title></rect>`);
    parts.push(`<text x="${x(c.startMs) + 3}" y="${TOP - 4}" font-size="10" fill="#2060c0">check ${c.check}</text>`);
  }
  nodes.forEach((node, lane) => {
    const y0 = TOP + lane * LANE_HEIGHT;
    parts.push(`<text x="8" y="${y0 + LANE_HEIGHT / 2}" font-size="13">${esc(node)}</text>`);
    parts.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y0 + LANE_HEIGHT - 4}" y2="${y0 + LANE_HEIGHT - 4}" stroke="#ccc"/>`);
    const counts = Array.from({ length: buckets }, () => ({ ok: 0, unknown: 0, fail: 0 }));
    for (const o of ix.ops) if (o.node === node) counts[Math.min(buckets - 1, Math.floor(o.invokeMs / bucketMs))][o.outcome]++;
    const max = Math.max(1, ...counts.map((c) => c.ok + c.unknown + c.fail));
    const scale = (LANE_HEIGHT - 12) / max;
    counts.forEach((c, i) => {
      let y = y0 + LANE_HEIGHT - 4;
      for (const k of ['ok', 'unknown', 'fail'] as const) {
        if (c[k] === 0) continue;
        const h = Math.max(1, c[k] * scale);
        y -= h;
        parts.push(`<rect x="${x(i * bucketMs)}" y="${y}" width="${Math.max(1, x(bucketMs) - x(0) - 0.5)}" height="${h}" fill="${COLORS[k]}"><title>${esc(`${node} ${i * bucketMs}–${(i + 1) * bucketMs} ms: ${c.ok} ok, ${c.unknown} unknown, ${c.fail} failed`)}</title></rect>`);
      }
    });
    for (const e of ix.nodeExits.filter((e) => e.node === node)) {
      parts.push(`<line x1="${x(e.atMs)}" x2="${x(e.atMs)}" y1="${y0}" y2="${y0 + LANE_HEIGHT}" stroke="red" stroke-width="2"><title>${esc(`${node} exited by itself (code ${e.code}, signal ${e.signal})`)}</title></line>`);
    }
  });
  for (let t = 0; t <= endMs; t += 10_000) {
    parts.push(`<text x="${x(t)}" y="${height - 12}" font-size="10" text-anchor="middle">${t / 1000} s</text>`);
  }
  const errors = ix.ops.filter((o: OpRecord) => o.outcome !== 'ok');
  const errorList = errors.slice(0, 300).map((o) => `<li>${o.invokeMs} ms ${esc(o.workload)} ${o.f} ${esc(o.key)} via ${o.node}: <b>${o.outcome}</b> ${esc(o.error ?? '')}</li>`);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;margin:16px} .legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}</style></head>
<body><h2>${esc(title)}</h2>
<p class="legend">operations per ${bucketMs} ms through each node:<span style="background:${COLORS.ok}"></span>ok<span style="background:${COLORS.unknown}"></span>unknown<span style="background:${COLORS.fail}"></span>failed<span style="background:#888;opacity:.4"></span>fault window<span style="background:#2060c0;opacity:.3"></span>convergence check (clients stopped)</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">${parts.join('')}</svg>
<h3>operations that did not succeed (${errors.length}${errors.length > 300 ? ', first 300' : ''})</h3><ul style="font-size:12px">${errorList.join('')}</ul>
</body></html>
`;
}

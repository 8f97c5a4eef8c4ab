/**
 * The compact peer list syntax used by env and flags:
 *   id@host:port[?http=host:port&zone=z&weight=2], comma separated
 * or a JSON array of {id, address, httpAddress?, zone?, weight?}.
 * Parsing is lenient about shape (the schema validates afterwards) but strict about syntax.
 */
export class PeerSyntaxError extends Error {}

export function parsePeerList(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new PeerSyntaxError(`not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new PeerSyntaxError('expected a JSON array');
    return parsed;
  }
  return trimmed.split(',').map((item) => parsePeerSpec(item.trim()));
}

function parsePeerSpec(spec: string): Record<string, unknown> {
  const at = spec.indexOf('@');
  if (at <= 0) throw new PeerSyntaxError(`"${spec}" is not id@host:port`);
  const id = spec.slice(0, at);
  const rest = spec.slice(at + 1);
  const q = rest.indexOf('?');
  const address = q < 0 ? rest : rest.slice(0, q);
  const peer: Record<string, unknown> = { id, address };
  if (q >= 0) {
    for (const [name, value] of new URLSearchParams(rest.slice(q + 1))) {
      if (name === 'http') peer.httpAddress = value;
      else if (name === 'zone') peer.zone = value;
      else if (name === 'weight') peer.weight = Number(value);
      else throw new PeerSyntaxError(`"${spec}": unknown option "${name}" (http, zone, weight)`);
    }
  }
  return peer;
}

/** The inverse of parsePeerList for the compact syntax (used by `ringkv dev` to build flags). */
export function formatPeerList(peers: { id: string; address: string; httpAddress?: string; zone?: string; weight?: number }[]): string {
  return peers
    .map((p) => {
      const opts = new URLSearchParams();
      if (p.httpAddress) opts.set('http', p.httpAddress);
      if (p.zone) opts.set('zone', p.zone);
      if (p.weight !== undefined && p.weight !== 1) opts.set('weight', String(p.weight));
      // ':' is safe in a query value and keeps host:port readable in process listings
      const query = opts.toString().replace(/%3A/gi, ':');
      return `${p.id}@${p.address}${query ? `?${query}` : ''}`;
    })
    .join(',');
}

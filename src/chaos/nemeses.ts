/**
 * The nemesis catalogue. A nemesis starts one fault on the cluster and returns how to heal it and
 * which nodes it put on the minority side (cut off, down, paused, out of disk) — availability is
 * counted through the other nodes. Each entry names what it needs from the machine, so a schedule can
 * leave out what cannot run here and say why. The membership nemeses (join, leave, remove) change
 * the member count for good; each says by how much (membersDelta), so a schedule never takes the
 * cluster under n members.
 */
import type { ChaosCluster } from './cluster.js';

export type Capability = 'delay' | 'faketime';

export interface ActiveFault {
  description: string;
  affected: string[];
  heal(): Promise<void>;
}

export interface Nemesis {
  name: string;
  summary: string;
  minNodes: number;
  needs: Capability[];
  /** how the fault changes the number of members for the rest of the run (join +1, leave and remove −1) */
  membersDelta?: number;
  /** not implemented yet, and why */
  unavailable?: string;
  start(cluster: ChaosCluster, random: () => number): Promise<ActiveFault>;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** both directions blocked between every node of a and every node of b */
export function cut(a: string[], b: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const x of a) for (const y of b) pairs.push([x, y], [y, x]);
  return pairs;
}

/** a nemesis that needs nothing beyond root, namespaces and iptables */
function basic(name: string, summary: string, minNodes: number, start: Nemesis['start']): Nemesis {
  return { name, summary, minNodes, needs: [], start };
}

/** a fault on one node picked at random, which is then the minority side */
function oneNode(
  name: string,
  summary: string,
  minNodes: number,
  act: (cluster: ChaosCluster, node: string) => Promise<{ description: string; heal(): Promise<void> }>,
): Nemesis {
  return basic(name, summary, minNodes, async (cluster, random) => {
    const x = shuffled(cluster.ids, random)[0];
    return { ...(await act(cluster, x)), affected: [x] };
  });
}

/** a partition: plan() picks the dropped pairs from the node ids in random order */
function partition(
  name: string,
  summary: string,
  minNodes: number,
  plan: (ids: string[]) => { pairs: Array<[string, string]>; description: string; affected: string[] },
): Nemesis {
  return basic(name, summary, minNodes, async (cluster, random) => {
    const { pairs, description, affected } = plan(shuffled(cluster.ids, random));
    await cluster.setDrops(pairs);
    return { description, affected, heal: () => cluster.setDrops([]) };
  });
}

/** a change of membership that lasts for the rest of the run (membersDelta members more or fewer) */
function membership(name: string, summary: string, minNodes: number, membersDelta: number, start: Nemesis['start']): Nemesis {
  return { name, summary: `membership: ${summary}`, minNodes, needs: [], membersDelta, start };
}

export const NEMESES: Nemesis[] = [
  partition('isolate-one', 'one node cut off from every other node (iptables DROP both ways); clients still reach it', 3, ([x, ...rest]) => ({
    pairs: cut([x], rest),
    description: `${x} isolated from ${rest.join(',')}`,
    affected: [x],
  })),
  partition('halves', 'random halves: the nodes split in two groups that cannot reach each other', 3, (all) => {
    const small = all.slice(0, Math.floor(all.length / 2));
    const big = all.slice(small.length);
    return { pairs: cut(small, big), description: `{${small.join(',')}} | {${big.join(',')}}`, affected: small };
  }),
  partition('majorities-ring', 'every node sees a majority (itself and its ring neighbours), but each a different one', 5, (ring) => {
    const k = ring.length;
    // neighbours seen on each side, so that each node's view (itself included) is a majority
    const reach = Math.ceil(Math.floor(k / 2) / 2);
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) if (Math.min((i - j + k) % k, (j - i + k) % k) > reach) pairs.push([ring[i], ring[j]]);
    }
    return { pairs, description: `ring ${ring.join('-')}, each node sees its ${reach} nearest on each side`, affected: [] };
  }),
  partition('bridge', 'two halves that cannot reach each other, and one node that reaches both', 3, (all) => {
    const half = Math.floor((all.length - 1) / 2);
    const a = all.slice(0, half);
    const b = all.slice(half + 1);
    return { pairs: cut(a, b), description: `{${a.join(',')}} | {${b.join(',')}} bridged by ${all[half]}`, affected: [] };
  }),
  partition('one-way', 'one node receives nothing from the other nodes, while its own packets still get out', 3, ([x, ...rest]) => ({
    pairs: rest.map((y): [string, string] => [y, x]),
    description: `${x} drops every packet from ${rest.join(',')}`,
    affected: [x],
  })),
  oneNode('kill-one', 'kill -9 of one node; restarted on its data directory when healed', 2, async (cluster, x) => {
    await cluster.kill(x);
    return { description: `kill -9 ${x}`, heal: () => cluster.restart(x) };
  }),
  {
    name: 'kill-all',
    summary: 'kill -9 of every node at once; all restarted when healed',
    minNodes: 1,
    needs: [],
    async start(cluster) {
      await Promise.all(cluster.ids.map((id) => cluster.kill(id)));
      return { description: 'kill -9 every node', affected: cluster.ids, heal: async () => void (await Promise.all(cluster.ids.map((id) => cluster.restart(id)))) };
    },
  },
  oneNode('pause-one', 'SIGSTOP of one node (its connections stay open, nothing answers); SIGCONT when healed', 2, async (cluster, x) => {
    cluster.pause(x);
    return { description: `SIGSTOP ${x}`, heal: async () => cluster.resume(x) };
  }),
  {
    name: 'delay',
    summary: 'every packet a node sends delayed 50 ms ± 10 ms (normal): tc netem, or an NFQUEUE delayer where the kernel lacks netem',
    minNodes: 1,
    needs: ['delay'],
    async start(cluster) {
      await cluster.setDelay({ delayMs: 50, jitterMs: 10 });
      return { description: `50 ms ± 10 ms delay on every node (${cluster.opts.delayMethod})`, affected: [], heal: () => cluster.setDelay(null) };
    },
  },
  {
    name: 'loss',
    summary: '20 % of the packets every node receives dropped (iptables statistic), clients\' and peers\' alike',
    minNodes: 1,
    needs: [],
    async start(cluster) {
      await cluster.setLoss(0.2);
      return { description: '20% packet loss into every node', affected: [], heal: () => cluster.setLoss(0) };
    },
  },
  {
    name: 'clock-bump',
    summary: 'one node\'s wall clock jumps 60 s ahead and another\'s 60 s behind (libfaketime); true again when healed',
    minNodes: 2,
    needs: ['faketime'],
    async start(cluster, random) {
      const [ahead, behind] = shuffled(cluster.ids, random);
      cluster.setClockOffset(ahead, 60);
      cluster.setClockOffset(behind, -60);
      return {
        description: `${ahead} +60 s, ${behind} -60 s`,
        affected: [],
        heal: async () => {
          cluster.setClockOffset(ahead, 0);
          cluster.setClockOffset(behind, 0);
        },
      };
    },
  },
  oneNode('disk-full', 'one node\'s data directory (a tmpfs) filled to the last byte; the filler deleted when healed', 2, async (cluster, x) => {
    const bytes = cluster.fillDisk(x);
    return { description: `${x}: disk filled (${(bytes / 2 ** 20).toFixed(0)} MiB of filler)`, heal: async () => cluster.freeDisk(x) };
  }),
  oneNode('wipe-one', 'kill -9 of one node, its data directory deleted, restarted with the same id and an empty disk', 3, async (cluster, x) => {
    await cluster.wipe(x);
    return { description: `${x} wiped and restarted empty`, heal: async () => {} };
  }),
  membership('join', 'one more node (next id, own namespace, disk, clock) starts with --join through the members; healed when every ring settled with it', 1, +1, async (cluster) => {
    const id = await cluster.join();
    return { description: `${id} joined through ${cluster.ids.filter((x) => x !== id).join(',')}`, affected: [id], heal: () => cluster.waitSettled() };
  }),
  membership('leave', 'POST /cluster/leave to one node; healed when it is left, off every ring, nothing pending — then its process is stopped', 2, -1, async (cluster, random) => {
    const x = pickLeaver(cluster, random, 'leave');
    await cluster.leave(x);
    return { description: `${x} leaves`, affected: [x], heal: () => cluster.finishLeave(x) };
  }),
  membership('remove', 'kill -9 of one node, then POST /cluster/remove/<id> through another once it is down; its disk is lost; healed when every ring settled without it', 2, -1, async (cluster, random) => {
    const x = pickLeaver(cluster, random, 'remove');
    const via = shuffled(cluster.ids.filter((id) => id !== x), random)[0];
    await cluster.remove(x, via);
    return { description: `${x} killed and removed through ${via}`, affected: [x], heal: () => cluster.waitSettled() };
  }),
];

/** a member that may go for good: the cluster keeps at least n members (the schedule sees to it; this is the last guard) */
function pickLeaver(cluster: ChaosCluster, random: () => number, what: string): string {
  if (cluster.ids.length - 1 < cluster.opts.n) throw new Error(`nemesis ${what}: ${cluster.ids.length} members, n=${cluster.opts.n}: none may go`);
  return shuffled(cluster.ids, random)[0];
}

export function nemesisByName(name: string): Nemesis {
  const n = NEMESES.find((x) => x.name === name);
  if (!n) throw new Error(`unknown nemesis "${name}" (known: ${NEMESES.map((x) => x.name).join(', ')})`);
  return n;
}

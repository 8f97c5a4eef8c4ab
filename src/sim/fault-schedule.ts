import type { NodeId } from '../core/member.js';
import type { SimCluster } from './sim-cluster.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * Cluster faults scheduled on virtual time while a workload runs, each with its repair: crashes
 * (optionally with the disk replaced before the restart), graceful restarts, partitions and clock
 * steps. Faults that would act on a node in the wrong state (crashing a node that is down) are
 * skipped at their time, so plans can be drawn at random without tracking state up front.
 */
export class FaultSchedule {
  private outstanding = 0;
  /** virtual ms (since the run started) by which every scheduled fault is repaired */
  repairByMs = 0;
  /** nodes currently taken down by this schedule */
  private readonly down = new Set<NodeId>();
  /** at most this many nodes down at once @default 1 */
  maxDown = 1;
  /** faults that threw (a harness bug, reported as a violation) */
  readonly errors: string[] = [];

  constructor(
    private readonly cluster: SimCluster,
    private readonly rnd: SeededRandom,
  ) {}

  /** every scheduled fault has been repaired (or skipped) */
  get repaired(): boolean {
    return this.outstanding === 0;
  }

  /** a node of the cluster picked at random (not one that left or was removed) */
  pickNode(): NodeId {
    return this.rnd.pick(this.cluster.memberIds());
  }

  /**
   * Crashes `victim` at atMs and restarts it downMs later; with replaceDisk its disk is swapped for
   * an empty one in between (same node id, no data, no identity record).
   */
  crash(atMs: number, downMs: number, victim: NodeId = this.pickNode(), replaceDisk = false): void {
    this.at(atMs, atMs + downMs, async () => {
      if (!this.cluster.isUp(victim) || this.down.size >= this.maxDown) return;
      this.down.add(victim);
      this.cluster.crash(victim);
      if (replaceDisk) this.cluster.replaceDisk(victim);
      await this.sleep(downMs);
      this.down.delete(victim);
      await this.cluster.restart(victim);
    });
  }

  /** a clean stop and start of `node` at atMs (its identity keeps its actor) */
  gracefulRestart(atMs: number, node: NodeId = this.pickNode()): void {
    this.at(atMs, atMs, async () => {
      if (!this.cluster.isUp(node) || this.down.size >= this.maxDown) return;
      this.down.add(node);
      try {
        await this.cluster.gracefulRestart(node);
      } finally {
        this.down.delete(node);
      }
    });
  }

  /** cuts `group` off from the rest at atMs and heals the network healAfterMs later */
  partition(atMs: number, healAfterMs: number, group: readonly NodeId[]): void {
    this.at(atMs, atMs + healAfterMs, async () => {
      this.cluster.partition(group);
      await this.sleep(healAfterMs);
      this.cluster.network.heal();
    });
  }

  /** a random minority (one or two nodes, fewer than half) */
  minority(): NodeId[] {
    const ids = this.cluster.memberIds();
    const size = Math.max(1, Math.min(2, Math.floor((ids.length - 1) / 2)));
    const pool = [...ids];
    const group: NodeId[] = [];
    for (let i = 0; i < size; i++) group.push(pool.splice(this.rnd.int(pool.length), 1)[0]);
    return group;
  }

  /** sets node's clock offset (and drift) at atMs: a step if the node is running */
  clockStep(atMs: number, node: NodeId, offsetMs: number, driftPpm = 0): void {
    this.at(atMs, atMs, async () => this.cluster.setClockSkew(node, offsetMs, driftPpm));
  }

  /**
   * runs `run` at atMs (virtual ms since the run started), counted until it settles; repairAtMs is
   * when its repair is due (for repairByMs). Families use it for faults and changes of their own.
   */
  at(atMs: number, repairAtMs: number, run: () => Promise<void>): void {
    this.outstanding++;
    this.repairByMs = Math.max(this.repairByMs, repairAtMs);
    this.cluster.sim.clock.setTimer(Math.max(0, atMs - this.cluster.sim.elapsedMs), () => {
      run()
        .catch((e: unknown) => this.errors.push(`fault at ${atMs} ms failed: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => this.outstanding--);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.cluster.sim.clock.setTimer(ms, resolve));
  }
}

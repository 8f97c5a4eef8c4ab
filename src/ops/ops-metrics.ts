/**
 * Metrics of the transport, the RESP front end and the PBS predictor, read at scrape time from the
 * running totals those parts keep. Names: ringkv_<subsystem>_<what>_<unit>.
 */
import type { NodeMetrics } from '../api/metrics.js';
import type { RespStats } from '../api/resp/command.js';
import type { TransportStats } from '../net/tcp-transport.js';
import { PBS_LEGS, type PbsStatus } from './pbs-sampler.js';

/** Δ values (ms) exported as ringkv_pbs_fresh_read_probability series */
export const PBS_EXPORTED_DELTAS_MS = [0, 1, 10, 100];
/** probabilities exported as ringkv_pbs_visibility_delta_seconds series */
export const PBS_EXPORTED_PROBABILITIES = ['0.5', '0.99', '0.999'] as const;

export function registerTransportMetrics(metrics: NodeMetrics, read: () => TransportStats): void {
  const total = (name: string, help: string, pick: (s: TransportStats) => number): void => void metrics.runningTotal(name, help, () => pick(read()));
  total('ringkv_transport_sent_bytes_total', 'bytes written to internode sockets', (s) => s.bytesSent);
  total('ringkv_transport_received_bytes_total', 'bytes read from internode sockets', (s) => s.bytesReceived);
  total('ringkv_transport_sent_messages_total', 'internode messages sent (requests, replies, one-way messages)', (s) => s.messagesSent);
  total('ringkv_transport_received_messages_total', 'internode messages received', (s) => s.messagesReceived);
  total('ringkv_transport_sent_frames_total', 'internode frames sent: one per connection per event-loop turn, carrying that turn\'s messages', (s) => s.framesSent);
  total('ringkv_transport_received_frames_total', 'internode frames received', (s) => s.framesReceived);
  total('ringkv_transport_socket_writes_total', 'socket writes issued (one per frame)', (s) => s.socketWrites);
  total('ringkv_transport_reconnects_total', 'dials to a peer this node had been connected to before', (s) => s.reconnects);
  total('ringkv_transport_dial_failures_total', 'dials that failed before the peer answered the handshake', (s) => s.dialFailures);
  total('ringkv_transport_request_timeouts_total', 'internode requests that got no reply in time', (s) => s.requestsTimedOut);
  total('ringkv_transport_auth_refused_total', 'internode connections refused because the other end did not prove the cluster secret', (s) => s.authRefused);
  total('ringkv_transport_protocol_errors_total', 'internode connections closed for a malformed frame or a protocol violation', (s) => s.protocolErrors);
  metrics.runningTotal(
    'ringkv_transport_refused_requests_total',
    'internode requests refused by a per-peer bound: ours unsent (pending_limit), a peer\'s answered OVERLOADED at once (serving_limit)',
    () => {
      const s = read();
      return [
        ['pending_limit', s.requestsRefusedPending],
        ['serving_limit', s.requestsRefusedOverloaded],
      ];
    },
    'reason',
  );
  const gauge = (name: string, help: string, pick: (s: TransportStats) => number): void =>
    void metrics.gauge({
      name,
      help,
      collect() {
        this.set(pick(read()));
      },
    });
  gauge('ringkv_transport_connections', 'open internode connections (including ones in their handshake)', (s) => s.connections);
  gauge('ringkv_transport_pending_requests', 'internode requests of this node waiting for a reply', (s) => s.pendingRequests);
  gauge('ringkv_transport_outbound_queue_bytes', 'bytes queued for peers, not yet taken by the kernel', (s) => s.outboundQueueBytes);
  gauge('ringkv_transport_peers_in_backoff', 'peers not dialled for now because a recent dial failed', (s) => s.peersInBackoff);
}

export function registerRespMetrics(metrics: NodeMetrics, read: () => { stats: Readonly<RespStats>; connections: number }): void {
  metrics.gauge({
    name: 'ringkv_resp_connections',
    help: 'open RESP client connections',
    collect() {
      this.set(read().connections);
    },
  });
  metrics.runningTotal('ringkv_resp_connections_received_total', 'RESP connections accepted or refused', () => read().stats.connectionsReceived);
  metrics.runningTotal('ringkv_resp_connections_rejected_total', 'RESP connections refused past maxclients', () => read().stats.connectionsRejected);
  metrics.runningTotal('ringkv_resp_commands_total', 'RESP commands received, by command name (unknown for the rest)', () => read().stats.commandsByName.entries(), 'command');
  metrics.runningTotal('ringkv_resp_error_replies_total', 'RESP error replies sent', () => read().stats.errorReplies);
  metrics.runningTotal('ringkv_resp_protocol_errors_total', 'RESP connections closed for malformed input', () => read().stats.protocolErrors);
}

/**
 * The PBS prediction: series exist from start-up; until every leg has enough samples the prediction
 * series are NaN and ringkv_pbs_prediction_ready is 0 (ringkv_pbs_samples says how many there are).
 */
export function registerPbsMetrics(metrics: NodeMetrics, n: number, read: () => PbsStatus): void {
  metrics.gauge({
    name: 'ringkv_pbs_samples',
    help: 'latency samples of each PBS leg in the estimation window (write, ack, read, response)',
    labelNames: ['leg'],
    collect() {
      const s = read();
      for (const leg of PBS_LEGS) this.set({ leg }, s.samples[leg]);
    },
  });
  metrics.gauge({
    name: 'ringkv_pbs_prediction_ready',
    help: '1 when the staleness prediction has enough samples; 0 while its series are NaN',
    collect() {
      this.set(read().ready ? 1 : 0);
    },
  });
  metrics.gauge({
    name: 'ringkv_pbs_read_local_ratio',
    help: 'fraction of reads coordinated by one of the key\'s replicas (input to the PBS model)',
    collect() {
      this.set(read().readLocalProbability);
    },
  });
  const combos: Array<{ r: number; w: number }> = [];
  for (let r = 1; r <= n; r++) for (let w = 1; w <= n; w++) combos.push({ r, w });
  metrics.gauge({
    name: 'ringkv_pbs_fresh_read_probability',
    help: 'predicted probability that a read delta_ms after a write commits sees it, per n, r, w (NaN without samples)',
    labelNames: ['n', 'r', 'w', 'delta_ms'],
    collect() {
      const s = read();
      for (const { r, w } of combos) {
        const p = s.predictions.find((x) => x.r === r && x.w === w);
        for (const d of PBS_EXPORTED_DELTAS_MS) {
          const point = p?.curve.find((c) => c.deltaMs === d);
          this.set({ n: String(n), r: String(r), w: String(w), delta_ms: String(d) }, point ? point.probability : NaN);
        }
      }
    },
  });
  metrics.gauge({
    name: 'ringkv_pbs_visibility_delta_seconds',
    help: 'predicted time after a write commits at which a read sees it with the given probability, per n, r, w (NaN without samples)',
    labelNames: ['n', 'r', 'w', 'probability'],
    collect() {
      const s = read();
      for (const { r, w } of combos) {
        const p = s.predictions.find((x) => x.r === r && x.w === w);
        const values = { '0.5': p?.delta50Ms, '0.99': p?.delta99Ms, '0.999': p?.delta999Ms };
        for (const probability of PBS_EXPORTED_PROBABILITIES) {
          const ms = values[probability];
          this.set({ n: String(n), r: String(r), w: String(w), probability }, ms === undefined ? NaN : ms / 1000);
        }
      }
    },
  });
}

/** the member table as this node sees it: members by status, and the failure detector's phi per peer */
export function registerMembershipMetrics(metrics: NodeMetrics, self: string, read: () => Array<{ id: string; status: string; phi: number | null }>): void {
  metrics.gauge({
    name: 'ringkv_membership_members',
    help: 'members in this node\'s member table, by status (up, suspect, down, leaving, left)',
    labelNames: ['status'],
    collect() {
      const counts = new Map<string, number>([['up', 0], ['suspect', 0], ['down', 0], ['leaving', 0], ['left', 0]]);
      for (const m of read()) counts.set(m.status, (counts.get(m.status) ?? 0) + 1);
      for (const [status, n] of counts) this.set({ status }, n);
    },
  });
  metrics.gauge({
    name: 'ringkv_membership_phi',
    help: 'phi of the failure detector for each peer (suspicion grows with silence)',
    labelNames: ['peer'],
    collect() {
      this.reset();
      for (const m of read()) if (m.id !== self && m.phi !== null) this.set({ peer: m.id }, m.phi);
    },
  });
}

/** Running totals of one transport, for metrics and tests; plain numbers, bumped in place. */
export interface NetCounters {
  /** envelopes (requests, replies, one-way messages) queued for peers */
  messagesSent: number;
  /** frames written: one per connection per event-loop turn, carrying that turn's messages */
  framesSent: number;
  bytesSent: number;
  /** socket writes issued (one per frame) */
  socketWrites: number;
  messagesReceived: number;
  framesReceived: number;
  bytesReceived: number;
  requestsTimedOut: number;
  /** connections closed for a malformed frame or a protocol violation */
  protocolErrors: number;
  /** connections refused because the other end did not prove the cluster secret */
  authRefused: number;
  /** dials that failed before the handshake completed */
  dialFailures: number;
  /** dials to a peer we had been connected to before (its connection was lost) */
  reconnects: number;
  /** our requests refused before sending: too many already waited for replies from that peer */
  requestsRefusedPending: number;
  /** a peer's requests answered OVERLOADED at once: too many of its requests were being served already */
  requestsRefusedOverloaded: number;
}

export function newNetCounters(): NetCounters {
  return {
    messagesSent: 0,
    messagesReceived: 0,
    framesSent: 0,
    bytesSent: 0,
    socketWrites: 0,
    framesReceived: 0,
    bytesReceived: 0,
    requestsTimedOut: 0,
    protocolErrors: 0,
    authRefused: 0,
    dialFailures: 0,
    reconnects: 0,
    requestsRefusedPending: 0,
    requestsRefusedOverloaded: 0,
  };
}

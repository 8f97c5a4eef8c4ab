/**
 * Every error a client or peer can see, in one place: its code, its HTTP status and its RESP form.
 * Grouped by subsystem. A RESP error line is `-<respPrefix> <message>`.
 */
export const ERROR_CODES = {
  // request validation
  BAD_PARAMETER: { httpStatus: 400, respPrefix: 'ERR' },
  MALFORMED_CONTEXT: { httpStatus: 400, respPrefix: 'ERR' },
  MALFORMED_REQUEST: { httpStatus: 400, respPrefix: 'ERR' },
  KEY_TOO_LARGE: { httpStatus: 413, respPrefix: 'ERR' },
  VALUE_TOO_LARGE: { httpStatus: 413, respPrefix: 'ERR' },
  NOT_FOUND: { httpStatus: 404, respPrefix: 'ERR' },
  NO_SUCH_ROUTE: { httpStatus: 404, respPrefix: 'ERR' },
  UNAUTHORIZED: { httpStatus: 401, respPrefix: 'NOAUTH' },
  // versions
  TOO_MANY_SIBLINGS: { httpStatus: 409, respPrefix: 'SIBLINGS' },
  WRONG_TYPE: { httpStatus: 409, respPrefix: 'WRONGTYPE' },
  NOT_AN_INTEGER: { httpStatus: 409, respPrefix: 'ERR' },
  // replication
  QUORUM_NOT_MET: { httpStatus: 503, respPrefix: 'QUORUM' },
  TIMEOUT: { httpStatus: 504, respPrefix: 'TIMEOUT' },
  /** the request was not delivered (no connection, refused, closed before it was sent): safe to try elsewhere */
  PEER_UNREACHABLE: { httpStatus: 503, respPrefix: 'UNAVAILABLE' },
  /** internode: the node does not hold that key's partition at its ring epoch (the sender's view is older or newer) */
  NOT_A_REPLICA: { httpStatus: 503, respPrefix: 'UNAVAILABLE' },
  /** the connection failed after the request was sent: the peer may have applied it (outcome unknown) */
  CONNECTION_LOST: { httpStatus: 504, respPrefix: 'TIMEOUT' },
  /** the node is past its capacity: the request could not start within its timeout and was refused, nothing done */
  OVERLOADED: { httpStatus: 503, respPrefix: 'BUSY' },
  // internode protocol
  MALFORMED_FRAME: { httpStatus: 400, respPrefix: 'ERR' },
  UNKNOWN_MESSAGE: { httpStatus: 400, respPrefix: 'ERR' },
  /** a peer of another cluster (its gossip names another cluster name): refused, never merged */
  CLUSTER_MISMATCH: { httpStatus: 400, respPrefix: 'ERR' },
  // storage
  STORAGE_FULL: { httpStatus: 507, respPrefix: 'STORAGE' },
  STORAGE_IO: { httpStatus: 500, respPrefix: 'STORAGE' },
  STORAGE_CORRUPT: { httpStatus: 500, respPrefix: 'STORAGE' },
  // RESP front end
  UNKNOWN_COMMAND: { httpStatus: 400, respPrefix: 'ERR' },
  WRONG_ARITY: { httpStatus: 400, respPrefix: 'ERR' },
  SYNTAX: { httpStatus: 400, respPrefix: 'ERR' },
  // operations
  /** a node serves a bounded number of live dashboard streams */
  TOO_MANY_STREAMS: { httpStatus: 503, respPrefix: 'ERR' },
  // anything else
  INTERNAL: { httpStatus: 500, respPrefix: 'ERR' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class RingkvError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'RingkvError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }

  get respPrefix(): string {
    return ERROR_CODES[this.code].respPrefix;
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isRingkvError(e: unknown): e is RingkvError {
  return e instanceof RingkvError;
}

/** Wraps anything thrown into a RingkvError so front ends can always answer in the documented shape. */
export function toRingkvError(e: unknown): RingkvError {
  if (e instanceof RingkvError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new RingkvError('INTERNAL', message);
}

import { RingkvError } from '../core/errors.js';

/** what a client may pass as a write id: printable ASCII without spaces or commas, 1..128 characters */
const CLIENT_WRITE_ID = /^[\x21-\x2b\x2d-\x7e]{1,128}$/;

/** Refuses a malformed client write id with a 400 naming the rule (a header given twice arrives comma-joined). */
export function checkClientWriteId(id: string): string {
  if (!CLIENT_WRITE_ID.test(id)) {
    throw new RingkvError('BAD_PARAMETER', `write id ${JSON.stringify(id.slice(0, 40))} is malformed: it must be 1 to 128 printable ASCII characters without spaces or commas (was the header given twice?)`);
  }
  return id;
}

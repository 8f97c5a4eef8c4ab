import { toRingkvError } from '../../core/errors.js';
import { err, type Reply } from './reply.js';

/**
 * Error replies worded exactly as Redis words them, because client libraries and tools match on the
 * text (and users search for it). Errors of ringkv's own (quorum, timeout, limits) come from
 * RingkvError: `-<respPrefix> <message>`.
 */
export const SYNTAX_ERROR = err('ERR syntax error');
export const NOT_AN_INTEGER = err('ERR value is not an integer or out of range');
export const NOAUTH = err('NOAUTH Authentication required.');
export const WRONGPASS = err('WRONGPASS invalid username-password pair or user is disabled.');
export const NO_PASSWORD_CONFIGURED = err(
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
);
export const NOPROTO = err('NOPROTO unsupported protocol version');
export const DB_OUT_OF_RANGE = err('ERR DB index is out of range');
export const BAD_CLIENT_NAME = err('ERR Client names cannot contain spaces, newlines or special characters.');

export function wrongArity(commandName: string): Reply {
  return err(`ERR wrong number of arguments for '${commandName.toLowerCase()}' command`);
}

export function unknownSubcommand(sub: Buffer | string, command: string): Reply {
  return err(`ERR unknown subcommand '${clip(String(sub), 128)}'. Try ${command.toUpperCase()} HELP.`);
}

/** Redis 7's text, including its trailing space after each quoted argument */
export function unknownCommand(args: readonly Buffer[]): Reply {
  let quoted = '';
  for (let i = 1; i < args.length && quoted.length < 128; i++) {
    quoted += `'${clip(args[i].toString('latin1'), 128 - quoted.length)}' `;
  }
  return err(`ERR unknown command '${clip(args[0].toString('latin1'), 128)}', with args beginning with: ${quoted}`);
}

/** any thrown value as an error reply; RingkvError keeps its code's RESP prefix */
export function errorReply(e: unknown): Reply {
  const re = toRingkvError(e);
  return err(`${re.respPrefix} ${re.message}`);
}

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

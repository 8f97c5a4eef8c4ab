/**
 * Turns a node's pino JSON log line into one short human line for `ringkv dev`:
 *   12:00:01.234 INFO  node ready http=http://127.0.0.1:8001 engine=memory
 * Lines that are not pino JSON pass through unchanged.
 */
const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'node', 'v']);

export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = LEVEL_NAMES[entry.level as number] ?? String(entry.level ?? '');
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return [time, level, entry.msg ?? '', fields].filter((s) => s !== '').join(' ');
}

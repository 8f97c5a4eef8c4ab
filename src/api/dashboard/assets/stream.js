// Requests and the live stream, carrying the node's password when it has one. A browser's EventSource
// cannot send an Authorization header, so the stream is read with fetch: the node sends
// text/event-stream and this parses it.

const PASSWORD_KEY = 'ringkv.password';

export class Unauthorized extends Error {}

export function savedPassword() {
  return sessionStorage.getItem(PASSWORD_KEY);
}

export function savePassword(password) {
  sessionStorage.setItem(PASSWORD_KEY, password);
}

function headers() {
  const password = savedPassword();
  return password ? { authorization: `Bearer ${password}` } : {};
}

/** GET a JSON route of the node; throws Unauthorized on 401 */
export async function getJson(path) {
  const res = await fetch(path, { headers: headers(), cache: 'no-store' });
  if (res.status === 401) throw new Unauthorized('the node wants its password');
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

/**
 * Reads /ui/events until stopped, reconnecting after a failure; onEvent gets each overview,
 * onState 'live' | 'reconnecting' | 'unauthorized'.
 */
export function openStream(onEvent, onState) {
  let stopped = false;
  let controller;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch('/ui/events', { headers: headers(), signal: controller.signal, cache: 'no-store' });
        if (res.status === 401) {
          onState('unauthorized');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState('live');
        await readEvents(res.body, onEvent);
      } catch {
        // the node went away or the connection dropped: try again below
      }
      if (stopped) return;
      onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data) onEvent(JSON.parse(data));
    }
  }
}

/**
 * Entry point of the table worker thread (started by TableBuilder): runs flush and compaction jobs
 * (table-jobs.ts) one message at a time, doing all its file I/O through the engine's thread
 * (remote-fs.ts).
 *
 *   engine → worker  { t: 'job', id, job } | { t: 'cancel', id } | fs replies
 *   worker → engine  { t: 'done', id, result } | { t: 'done', id, error } | fs requests
 */
import { parentPort } from 'node:worker_threads';
import { errorToWire, RemoteFS, type FsReply } from './remote-fs.js';
import { runTableJob, type TableJob } from './table-jobs.js';

type Incoming = { t: 'job'; id: number; job: TableJob } | { t: 'cancel'; id: number } | FsReply;

const port = parentPort;
if (port === null) throw new Error('table-worker.js runs only as a worker thread');
const fs = new RemoteFS(port);
const cancelled = new Set<number>();

port.on('message', (msg: Incoming) => {
  switch (msg.t) {
    case 'fsr':
      fs.onReply(msg);
      return;
    case 'cancel':
      cancelled.add(msg.id);
      return;
    case 'job':
      runTableJob(fs, msg.job, () => cancelled.has(msg.id)).then(
        (result) => {
          cancelled.delete(msg.id);
          port.postMessage({ t: 'done', id: msg.id, result });
        },
        (err: unknown) => {
          cancelled.delete(msg.id);
          port.postMessage({ t: 'done', id: msg.id, error: errorToWire(err) });
        },
      );
      return;
  }
});

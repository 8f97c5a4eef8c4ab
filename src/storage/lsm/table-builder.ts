/**
 * Where the engine's flushes and compactions run: in a worker thread (the default), so encoding
 * blocks, checksums, bloom filters and merging never hold up reads and writes on the engine's thread;
 * or in-line on the engine's thread (`worker: false`, for a fully deterministic single thread).
 *
 * Either way the same job code runs (table-jobs.ts) and every file operation goes through the
 * engine's FS; with a worker, its FS requests are carried out here by an FsHost.
 */
import { Worker } from 'node:worker_threads';
import type { FS } from '../fs/fs.js';
import { FsHost, plainErrorFromWire, type FsRequest, type WireError } from './remote-fs.js';
import { CorruptTableError } from './sstable-format.js';
import { JobCancelledError, runTableJob, type TableJob, type TableJobResult } from './table-jobs.js';

export interface RunningJob {
  readonly done: Promise<TableJobResult>;
  /** asks the job to stop; `done` then rejects with JobCancelledError (unless it finished first) */
  cancel(): void;
}

type FromWorker = { t: 'done'; id: number; result?: TableJobResult; error?: WireError } | FsRequest;

interface PendingJob {
  resolve: (r: TableJobResult) => void;
  reject: (e: unknown) => void;
}

/** A corrupt-table error from a job names its input table (`input`, for compactions). */
export type JobCorruptTableError = CorruptTableError & { input?: number };

function errorFromJob(w: WireError): Error {
  if (w.name === 'CorruptTableError') {
    const err = new CorruptTableError(w.file ?? '', w.offset ?? 0, '') as JobCorruptTableError;
    err.message = w.message;
    if (w.input !== undefined) err.input = w.input;
    return err;
  }
  if (w.name === 'JobCancelledError') return new JobCancelledError();
  return plainErrorFromWire(w);
}

function workerUrl(): URL {
  // from source (tsx) the sibling is table-worker.ts; compiled, table-worker.js
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./table-worker${ext}`, import.meta.url);
}

export class TableBuilder {
  private worker: Worker | undefined;
  private readonly host: FsHost;
  private readonly pending = new Map<number, PendingJob>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly fs: FS, private readonly useWorker: boolean) {
    this.host = new FsHost(fs);
  }

  get inWorker(): boolean {
    return this.useWorker;
  }

  run(job: TableJob): RunningJob {
    if (this.closed) return { done: Promise.reject(new Error('table builder is closed')), cancel() {} };
    if (!this.useWorker) {
      let stop = false;
      return { done: runTableJob(this.fs, job, () => stop), cancel: () => (stop = true) };
    }
    const id = this.nextId++;
    const worker = this.ensureWorker();
    const done = new Promise<TableJobResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    worker.ref();
    worker.postMessage({ t: 'job', id, job });
    return {
      done,
      cancel: () => {
        if (this.pending.has(id)) this.worker?.postMessage({ t: 'cancel', id });
      },
    };
  }

  /** Stops the worker (jobs still running reject) and closes file handles it left open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('table builder closed'));
    if (worker !== undefined) await worker.terminate();
    await this.host.closeAll();
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(workerUrl());
    worker.unref();
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (err) => this.onWorkerGone(worker, err));
    worker.on('exit', (code) => this.onWorkerGone(worker, new Error(`table worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private onMessage(msg: FromWorker): void {
    if (msg.t === 'fs') {
      void this.host.serve(msg).then(({ reply, transfer }) => {
        // a terminated worker is gone; its job already failed
        this.worker?.postMessage(reply, transfer);
      });
      return;
    }
    const job = this.pending.get(msg.id);
    if (job === undefined) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (msg.error !== undefined) job.reject(errorFromJob(msg.error));
    else job.resolve(msg.result!);
  }

  private onWorkerGone(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.failAll(err);
    void this.host.closeAll();
  }

  private failAll(err: Error): void {
    const jobs = [...this.pending.values()];
    this.pending.clear();
    for (const j of jobs) j.reject(err);
  }
}

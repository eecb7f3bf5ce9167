/**
 * Ports of bulk export (C35): the job record, the output files and the scheduling of the worker.
 * Adapters: dynamo-export-jobs.ts (the table), s3-export-files.ts (the bucket), and
 * sqs-export-scheduler.ts (the worker's queue). The core never imports an AWS type.
 */

/** One finished output file of a job. */
export interface ExportFile {
  /** 1-based file number within the job. */
  n: number;
  /** Binaries (ndjson lines) in the file. */
  count: number;
  bytes: number;
}

export type ExportStatus = 'running' | 'complete' | 'failed';

export interface ExportJob {
  org: string;
  jobId: string;
  status: ExportStatus;
  /** The kick-off request URL, echoed in the manifest's `request`. */
  request: string;
  /** Inclusive lower bound on lastUpdated (`_since`). */
  since?: string;
  /** FHIR instant of the kick-off: only versions written up to it are exported. */
  transactionTime: string;
  /** Position (store-owned, opaque) after which the next file starts; undefined = the beginning. */
  cursor?: string;
  /** Files written and checkpointed, in order. */
  files: ExportFile[];
  /** Set when the job failed: the diagnostics of its OperationOutcome. */
  error?: string;
  /** Epoch seconds after which the job and its files are gone (404). */
  expiresAt: number;
}

export interface ExportJobStore {
  /**
   * Records a new running job unless the tenant already has one running (its lock held and not
   * expired): then returns false and stores nothing.
   */
  start(job: ExportJob, lockSeconds: number): Promise<boolean>;
  get(org: string, jobId: string): Promise<ExportJob | undefined>;
  /**
   * Saves progress (cursor, files) and/or the final status of a running job, renewing the
   * tenant's lock while it runs and releasing it when it ends. Returns false, saving nothing,
   * when the job is no longer running (cancelled or already ended).
   */
  checkpoint(job: ExportJob, lockSeconds: number): Promise<boolean>;
  /** Removes the job and releases the tenant's lock (cancel). */
  remove(org: string, jobId: string): Promise<void>;
}

/** A file being written: lines go in as they are produced; `finish` makes it visible whole. */
export interface ExportFileWriter {
  write(line: string): Promise<void>;
  /** Completes the file; a file never finished leaves nothing readable behind. */
  finish(): Promise<void>;
  /** Drops a file that will not be finished. */
  abort(): Promise<void>;
}

export interface ExportFileStore {
  /** Starts file `name` of a job (`name` is `{n}.ndjson` or `errors.ndjson`), replacing any earlier try. */
  open(org: string, jobId: string, name: string): ExportFileWriter;
  /** Size of a finished file, or undefined when it does not exist (expired, cancelled). */
  size(org: string, jobId: string, name: string): Promise<number | undefined>;
  read(org: string, jobId: string, name: string): Promise<Uint8Array>;
  presignGet(org: string, jobId: string, name: string, expiresInSeconds: number): Promise<string>;
  /** Deletes every file of the job. */
  removeAll(org: string, jobId: string): Promise<void>;
}

/** Runs the worker for a job, now or after `delaySeconds` (a queue on AWS and locally). */
export interface ExportScheduler {
  schedule(org: string, jobId: string, delaySeconds?: number): Promise<void>;
}

export interface ExportConfig {
  /** A file is closed once it holds at least this many bytes. */
  fileBytes: number;
  /** Seconds the files and the job stay available after the job ends. */
  retentionSeconds: number;
  /** Binaries read per index page. */
  pageSize: number;
  /** The worker stops starting work when fewer than this many ms remain in its invocation. */
  marginMs: number;
}

export interface ExportDeps {
  exportJobs: ExportJobStore;
  exportFiles: ExportFileStore;
  exportScheduler: ExportScheduler;
  exportConfig: ExportConfig;
}

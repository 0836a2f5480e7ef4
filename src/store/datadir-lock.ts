/**
 * One embedded (PGlite) data dir is owned by one process at a time: two PGlite instances
 * writing the same files would corrupt them. The owner holds `<dir>/store.lock`, created
 * atomically with 'wx' and holding its pid, start time, host and a random token.
 *
 * A lock whose process is gone is stale and taken over (a killed process never releases it).
 * "Gone" means: no such pid, or a pid reused by another process (its start time in /proc
 * differs), or our own pid without our token (containers restart as pid 1). A lock written
 * on another host cannot be checked, so it counts as held.
 *
 * Released by close() and, as a last resort, synchronously on process exit.
 *
 * Worker threads never open an embedded data dir (they get reason `locked` at once). A worker
 * shares the pid and start time of the main thread but not its module state, so it cannot tell
 * a lock the main thread holds from a stale one; taking it over (as it once did) put two PGlite
 * instances on one dir and destroyed it. Nor could the main thread tell a lock a live worker
 * holds from one a terminated worker left behind (terminate() runs no exit hook). Workers that
 * make governed calls use PostgreSQL (see README, "Workers and child processes").
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { ProvablyStoreError } from '../errors/index.js';

export const LOCK_FILE = 'store.lock';

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  /** ISO time this process started: for people reading the file and the error. */
  startedAt: string;
  /** Linux /proc start time in clock ticks: tells a live owner from a reused pid. */
  procStart?: string;
  host: string;
  token: string;
}

// Locks this process holds, path → token: released on exit, and how we recognise our own. In a
// global slot: the ESM preload and a CommonJS require('provably') are separate module copies,
// and a copy that did not see the other's lock would take it over as stale.
const HELD = Symbol.for('provably.datadirLocks.v1');
const held: Map<string, string> =
  ((globalThis as Record<symbol, unknown>)[HELD] as Map<string, string>) ?? new Map<string, string>();
(globalThis as Record<symbol, unknown>)[HELD] = held;
let exitHookInstalled = false;

const RETRY_MS = 25;
const MAX_ATTEMPTS = 200;
// A lock or guard file with no readable content is being written right now, unless older than this.
const WRITE_GRACE_MS = 2_000;

export async function acquireDataDirLock(dir: string): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE);
  if (!isMainThread) throw workerError(dir);
  const info: LockInfo = {
    pid: process.pid,
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    procStart: procStartOf('self'),
    host: hostname(),
    token: randomUUID(),
  };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await tryCreate(path, info)) return remember(path, info.token);
    const current = await readLock(path);
    if (current === 'gone') continue;
    if (current === 'being-written') {
      await sleep(RETRY_MS);
      continue;
    }
    if (current !== 'corrupt' && isLive(current, path)) throw lockedError(dir, current);
    await takeOver(path, current === 'corrupt' ? undefined : current.token);
  }
  throw new ProvablyStoreError(
    'open embedded store',
    'locked',
    `could not acquire ${path} (it keeps changing hands)`,
  );
}

async function tryCreate(path: string, info: LockInfo): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new ProvablyStoreError('open embedded store', 'unknown', `cannot create ${path}: ${String(err)}`, {
      cause: err,
    });
  }
  try {
    await handle.writeFile(`${JSON.stringify(info)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

type ReadOutcome = LockInfo | 'gone' | 'being-written' | 'corrupt';

async function readLock(path: string): Promise<ReadOutcome> {
  try {
    const info = JSON.parse(await readFile(path, 'utf8')) as Partial<LockInfo>;
    if (typeof info.pid === 'number' && typeof info.token === 'string') return info as LockInfo;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
  }
  return (await isYoung(path)) ? 'being-written' : 'corrupt';
}

function isLive(info: LockInfo, path: string): boolean {
  if (info.host !== hostname()) return true;
  if (info.pid === process.pid) return held.get(path) === info.token;
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = procStartOf(String(info.pid));
  return info.procStart === undefined || now === undefined || now === info.procStart;
}

/**
 * Removes a stale lock. Several processes may find the same stale lock at once; a guard file
 * (also 'wx') lets one of them re-check and remove it, so nobody deletes a lock that another
 * process has just freshly created.
 */
async function takeOver(path: string, staleToken: string | undefined): Promise<void> {
  const guard = `${path}.takeover`;
  let g: Awaited<ReturnType<typeof open>>;
  try {
    g = await open(guard, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Someone else is taking over; a guard left by a process that died mid-takeover expires.
    if (!(await isYoung(guard))) await unlink(guard).catch(() => {});
    await sleep(RETRY_MS);
    return;
  }
  try {
    await g.close();
    const again = await readLock(path);
    const sameStale =
      again === 'corrupt'
        ? staleToken === undefined
        : again !== 'gone' && again !== 'being-written' && again.token === staleToken;
    if (sameStale) await unlink(path).catch(() => {});
  } finally {
    await unlink(guard).catch(() => {});
  }
}

function remember(path: string, token: string): DataDirLock {
  held.set(path, token);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', releaseAllSync);
  }
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      held.delete(path);
      try {
        const info = JSON.parse(await readFile(path, 'utf8')) as Partial<LockInfo>;
        if (info.token === token) await unlink(path);
      } catch {
        // Already gone or unreadable: nothing of ours left to remove.
      }
    },
  };
}

function releaseAllSync(): void {
  for (const [path, token] of held) {
    try {
      const info = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
      if (info.token === token) unlinkSync(path);
    } catch {
      // Exiting: nothing more we can do.
    }
  }
  held.clear();
}

function workerError(dir: string): ProvablyStoreError {
  return new ProvablyStoreError(
    'open embedded store',
    'locked',
    `the embedded store in ${dir} cannot be opened from a worker thread (thread ${threadId}): an ` +
      'embedded data dir is opened by the main thread of one process only, and a worker cannot ' +
      'share it safely. For governed calls or store reads in worker threads use PostgreSQL ' +
      '(set PROVABLY_DATABASE_URL).',
  );
}

function lockedError(dir: string, info: LockInfo): ProvablyStoreError {
  const who =
    info.pid === process.pid && info.host === hostname()
      ? `this process (pid ${info.pid}) already has it open through another store object`
      : `process ${info.pid}${info.host !== hostname() ? ` on host ${info.host}` : ''} (started ${info.startedAt}) holds it`;
  return new ProvablyStoreError(
    'open embedded store',
    'locked',
    `the embedded store in ${dir} is in use: ${who}. One embedded data dir serves one process at a time; ` +
      'stop the other process, or, for several processes sharing provably data, use PostgreSQL ' +
      '(set PROVABLY_DATABASE_URL). A lock left by a dead process on this host is taken over ' +
      `automatically; one from another host must be removed by hand (${join(dir, LOCK_FILE)}).`,
  );
}

/** Field 22 of /proc/<pid>/stat (start time in ticks since boot); undefined off Linux. */
function procStartOf(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function isYoung(path: string): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs < WRITE_GRACE_MS;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

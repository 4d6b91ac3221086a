/**
 * One broker per data directory: `cicada.lock` in the directory names the process that owns it.
 *
 * Node has no file lock held by an open descriptor (flock/fcntl) without native code, so the lock
 * is a file created atomically (written under a temporary name, then hard-linked to
 * `cicada.lock`, which fails if the name exists) holding the owner's identity: host name, pid,
 * and on Linux the boot id and the process start time (field 22 of /proc/PID/stat), so that a pid
 * reused after a crash or a reboot (containers start their processes with the same pids) is not
 * taken for the owner. A lock whose owner is gone (killed with SIGKILL, crashed, a zombie) is
 * stale: it is moved aside and taken. A lock written on another host cannot be checked and is
 * respected. The lock is removed by `release()` (broker close) and at process exit.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'cicada.lock';

/** The data directory is owned by another running process; the message is one line for the user. */
export class DataDirectoryLockedError extends Error {
  override readonly name = 'DataDirectoryLockedError';
}

interface Owner {
  pid: number;
  host: string;
  /** Linux: /proc/sys/kernel/random/boot_id. */
  boot?: string;
  /** Linux: start time of the process in clock ticks since boot. */
  start?: string;
  /** When the lock was taken (ISO time), for the message. */
  since: string;
}

export interface DirectoryLock {
  /** The lock file. */
  readonly file: string;
  /** Remove the lock (idempotent). */
  release(): void;
}

/** Lock files held by this process, by path, with their text (released at exit). */
const held = new Map<string, string>();
let exitHookInstalled = false;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  return readText('/proc/sys/kernel/random/boot_id')?.trim();
}

/** Linux: the process's state letter and start time from /proc/PID/stat, or undefined. */
function procStat(pid: number): { state: string; start: string } | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19]; // field 22 of the line; fields[0] is field 3
  return state === undefined || start === undefined ? undefined : { state, start };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function me(): Owner {
  const owner: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const boot = bootId();
  const stat = procStat(process.pid);
  if (boot !== undefined) owner.boot = boot;
  if (stat !== undefined) owner.start = stat.start;
  return owner;
}

function parseOwner(text: string): Owner | undefined {
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    if (typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid <= 0 || typeof o.host !== 'string') return undefined;
    return { pid: o.pid, host: o.host, since: typeof o.since === 'string' ? o.since : '?', ...(typeof o.boot === 'string' ? { boot: o.boot } : {}), ...(typeof o.start === 'string' ? { start: o.start } : {}) };
  } catch {
    return undefined;
  }
}

/** Whether the process named by a lock may still be running (and so owns the directory). */
function ownerAlive(owner: Owner, file: string): boolean {
  if (owner.host !== hostname()) return true; // cannot be checked from here: respected
  const boot = bootId();
  if (boot !== undefined && owner.boot !== undefined && owner.boot !== boot) return false; // written before a reboot
  if (!pidExists(owner.pid)) return false;
  const stat = procStat(owner.pid);
  if (stat !== undefined) {
    if (stat.state === 'Z' || stat.state === 'X') return false; // exited, not yet reaped
    if (owner.start !== undefined) return stat.start === owner.start;
  }
  // No start time to compare: our own pid is the owner only if this process took the lock.
  if (owner.pid === process.pid) return held.has(file);
  return true;
}

function describe(dir: string, owner: Owner): string {
  const where = owner.host === hostname() ? '' : ` on host ${owner.host}`;
  const who = owner.pid === process.pid && where === '' ? `another broker of this process (pid ${owner.pid}` : `another Cicada process (pid ${owner.pid}${where}`;
  return `data directory ${dir} is in use by ${who}, since ${owner.since}): stop it, or set persistence_location to another directory`;
}

function releaseAll(): void {
  for (const [file, text] of held) {
    if (readText(file) === text) tryUnlink(file);
  }
  held.clear();
}

function tryUnlink(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * Take the lock of a data directory (created if missing). Throws DataDirectoryLockedError when
 * a live process holds it; a stale lock (its process gone) is replaced.
 */
export function lockDataDirectory(directory: string): DirectoryLock {
  const dir = resolve(directory);
  const file = join(dir, LOCK_FILE);
  const text = `${JSON.stringify(me())}\n`;
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(temp, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      // A permissions problem, worded as the store words it (never "corrupt", never "move it away").
      throw new Error(
        `cannot use data directory ${dir}: the directory ${dir} is not writable by the broker (uid ${process.getuid?.() ?? '?'}, ${code}): ` +
          'fix its owner or permissions (chown/chmod), or set persistence_location to a directory the broker may write',
        { cause: error },
      );
    }
    throw new Error(`cannot lock data directory ${dir} (${code}): check that it exists and that this user may write it`, { cause: error });
  }
  try {
    // Bounded: each round either takes the lock, finds a live owner, or removes a stale lock.
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        linkSync(temp, file);
        held.set(file, text);
        if (!exitHookInstalled) {
          exitHookInstalled = true;
          process.once('exit', releaseAll);
        }
        return { file, release: () => release(file, text) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const current = readText(file);
      if (current === undefined) continue; // removed meanwhile: try again
      const owner = parseOwner(current);
      if (owner !== undefined && ownerAlive(owner, file)) throw new DataDirectoryLockedError(describe(dir, owner));
      removeStale(file, current, attempt);
    }
    throw new DataDirectoryLockedError(`data directory ${dir}: cannot take ${file} (other processes keep taking it)`);
  } finally {
    tryUnlink(temp);
  }
}

/** Move a stale lock aside; if another process replaced it meanwhile, put that one back. */
function removeStale(file: string, staleText: string, attempt: number): void {
  const aside = `${file}.${process.pid}.${attempt}.stale`;
  try {
    renameSync(file, aside);
  } catch {
    return; // gone already
  }
  if (readText(aside) !== staleText) {
    try {
      linkSync(aside, file);
    } catch {
      // a third process took it: its own lock stands
    }
  }
  tryUnlink(aside);
}

function release(file: string, text: string): void {
  if (held.get(file) !== text) return;
  held.delete(file);
  if (readText(file) === text) tryUnlink(file);
}

/**
 * Who may use the admin HTTP server, and as what.
 * - Dashboard users live in `dashboard-users.json` in the data directory (hashed, Mosquitto's
 *   PBKDF2-SHA512 format). On first start the file is created with an `admin` user whose random
 *   password is logged once. A login returns a session token, sent back as `Authorization: Bearer`
 *   (never a cookie, so another site's page cannot make the browser use it: no CSRF). Sessions end
 *   after 30 minutes unused or 8 hours in all. Five failed logins lock the user for ten minutes.
 * - API keys (`http_api_key_file`, `key:secret:role` per line, EMQX's bootstrap format) for
 *   scripts, as HTTP Basic `key:secret`.
 * Secrets are compared in constant time; tokens are kept only as their SHA-256.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../broker/logger.js';
import { hashPassword, verifyPassword } from '../auth/password-file.js';
import { ApiError } from './errors.js';

export const ROLES = ['viewer', 'publisher', 'administrator'] as const;
export type Role = (typeof ROLES)[number];

/** `role` may do what `needed` may. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export interface Principal {
  kind: 'session' | 'key';
  name: string;
  role: Role;
}

export const USERS_FILE = 'dashboard-users.json';
const HASH_ITERATIONS = 20_000;
export const MAX_FAILED_LOGINS = 5;
export const LOCK_MS = 10 * 60_000;
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 8 * 3600_000;
/** Bounds the failed-login records an attacker trying random names can create. */
const MAX_FAILURE_RECORDS = 10_000;
const MAX_SESSIONS = 10_000;

interface StoredUser {
  username: string;
  hash: string;
  role: Role;
}

/** Write a file so that a reader sees the old or the new content, never half of it. */
export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, content, { mode });
  renameSync(temporary, path);
}

export function validUsername(name: string): boolean {
  return /^[A-Za-z0-9_.@-]{1,64}$/.test(name);
}

/** Dashboard users, their failed logins and their sessions. */
export class DashboardUsers {
  private users = new Map<string, StoredUser>();
  private loadedMtime = 0;
  private readonly failures = new Map<string, { count: number; lockedUntil: number }>();
  private readonly sessions = new Map<string, { username: string; role: Role; createdAt: number; usedAt: number }>();
  /** A hash to verify against for unknown users, so both answers take as long (made at first need). */
  private decoy: string | undefined;

  private constructor(
    readonly path: string,
    private readonly now: () => number,
  ) {}

  /** The users of `directory` as they are (none when the file does not exist): `cicada admin passwd`. */
  static load(directory: string): DashboardUsers {
    const users = new DashboardUsers(join(directory, USERS_FILE), Date.now);
    if (existsSync(users.path)) users.load();
    return users;
  }

  /** The users of `directory`; the first time, an `admin` with a random password, logged once. */
  static open(directory: string, log: Logger, now: () => number = Date.now): DashboardUsers {
    const users = new DashboardUsers(join(directory, USERS_FILE), now);
    if (existsSync(users.path)) {
      users.load();
      return users;
    }
    const password = randomBytes(12).toString('base64url');
    users.users.set('admin', { username: 'admin', role: 'administrator', hash: hashPassword(password, { iterations: HASH_ITERATIONS }) });
    users.save();
    log.warn({ type: 'notice', user: 'admin', file: users.path }, `dashboard user admin created with password ${password} (shown once; change it with cicada admin passwd admin)`);
    return users;
  }

  private load(): void {
    let parsed: unknown;
    try {
      this.loadedMtime = statSync(this.path).mtimeMs;
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (error) {
      throw new Error(`${this.path}: cannot read the dashboard users (${(error as Error).message})`, { cause: error });
    }
    const list = (parsed as { users?: unknown }).users;
    if (!Array.isArray(list)) throw new Error(`${this.path}: expected {"users": [...]}`);
    this.users = new Map();
    for (const entry of list as Partial<StoredUser>[]) {
      if (typeof entry.username !== 'string' || typeof entry.hash !== 'string' || !ROLES.includes(entry.role as Role)) {
        throw new Error(`${this.path}: a user needs username, hash and role (${ROLES.join(', ')})`);
      }
      this.users.set(entry.username, { username: entry.username, hash: entry.hash, role: entry.role as Role });
    }
  }

  private save(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileAtomic(this.path, `${JSON.stringify({ users: [...this.users.values()] }, null, 2)}\n`);
    chmodSync(this.path, 0o600);
    this.loadedMtime = statSync(this.path).mtimeMs;
  }

  /** The file changed under us (`cicada admin passwd` while the broker runs): read it again. */
  private refresh(): void {
    try {
      if (statSync(this.path).mtimeMs !== this.loadedMtime) this.load();
    } catch {
      // Unreadable now: keep the users we have (fail closed would lock everyone out).
    }
  }

  list(): Array<{ username: string; role: Role }> {
    return [...this.users.values()].map(({ username, role }) => ({ username, role }));
  }

  /** Create or change a user (new users: viewer, or administrator when there is none); its sessions end. */
  setUser(username: string, password: string, role?: Role): void {
    const previous = this.users.get(username);
    const fallback = this.users.size === 0 ? 'administrator' : 'viewer';
    this.users.set(username, { username, role: role ?? previous?.role ?? fallback, hash: hashPassword(password, { iterations: HASH_ITERATIONS }) });
    this.save();
    this.endSessionsOf(username);
  }

  deleteUser(username: string): boolean {
    if (!this.users.delete(username)) return false;
    this.save();
    this.endSessionsOf(username);
    return true;
  }

  /** Check a login; a session token, or an ApiError (BAD_CREDENTIALS, USER_LOCKED). */
  login(username: string, password: string): { token: string; expiresAt: number; role: Role } {
    this.refresh();
    const now = this.now();
    const failure = this.failures.get(username);
    if (failure !== undefined && failure.lockedUntil > now) {
      throw new ApiError('USER_LOCKED', `too many failed logins: try again in ${Math.ceil((failure.lockedUntil - now) / 60_000)} minutes`);
    }
    const user = this.users.get(username);
    const ok = verifyPassword(user?.hash ?? (this.decoy ??= hashPassword(randomBytes(16), { iterations: HASH_ITERATIONS })), password) && user !== undefined;
    if (!ok) {
      this.failed(username, now);
      throw new ApiError('BAD_CREDENTIALS', 'wrong user name or password');
    }
    this.failures.delete(username);
    if (this.sessions.size >= MAX_SESSIONS) this.sweep(now);
    // Still full: the oldest session ends (a Map iterates in insertion order).
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
    const token = randomBytes(32).toString('base64url');
    this.sessions.set(digest(token), { username, role: user.role, createdAt: now, usedAt: now });
    return { token, expiresAt: now + SESSION_IDLE_MS, role: user.role };
  }

  private failed(username: string, now: number): void {
    if (this.failures.size >= MAX_FAILURE_RECORDS && !this.failures.has(username)) {
      for (const [name, f] of this.failures) if (f.lockedUntil <= now) this.failures.delete(name);
      if (this.failures.size >= MAX_FAILURE_RECORDS) return;
    }
    const record = this.failures.get(username) ?? { count: 0, lockedUntil: 0 };
    record.count = record.lockedUntil !== 0 && record.lockedUntil <= now ? 1 : record.count + 1;
    record.lockedUntil = record.count >= MAX_FAILED_LOGINS ? now + LOCK_MS : 0;
    this.failures.set(username, record);
  }

  /** The session of a bearer token, refreshed; undefined when unknown or expired. */
  session(token: string): Principal | undefined {
    const key = digest(token);
    const session = this.sessions.get(key);
    if (session === undefined) return undefined;
    const now = this.now();
    if (now - session.usedAt > SESSION_IDLE_MS || now - session.createdAt > SESSION_MAX_MS || !this.users.has(session.username)) {
      this.sessions.delete(key);
      return undefined;
    }
    session.usedAt = now;
    return { kind: 'session', name: session.username, role: session.role };
  }

  logout(token: string): void {
    this.sessions.delete(digest(token));
  }

  private endSessionsOf(username: string): void {
    for (const [key, s] of this.sessions) if (s.username === username) this.sessions.delete(key);
  }

  private sweep(now: number): void {
    for (const [key, s] of this.sessions) if (now - s.usedAt > SESSION_IDLE_MS || now - s.createdAt > SESSION_MAX_MS) this.sessions.delete(key);
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

/** Equal in constant time (for secrets of any length). */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

/** API keys of http_api_key_file. */
export class ApiKeys {
  private constructor(private readonly keys: Map<string, { secret: string; role: Role }>) {}

  static none(): ApiKeys {
    return new ApiKeys(new Map());
  }

  /** Read `key:secret:role` lines (# comments, blank lines); any bad line is an error naming file:line. */
  static read(path: string): ApiKeys {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`http_api_key_file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
    }
    const keys = new Map<string, { secret: string; role: Role }>();
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const [key, secret, role, ...rest] = line.split(':');
      const where = `${path}:${i + 1}`;
      if (key === undefined || secret === undefined || role === undefined || rest.length > 0 || key === '' || secret === '') {
        throw new Error(`${where}: expected key:secret:role`);
      }
      if (!ROLES.includes(role as Role)) throw new Error(`${where}: role must be one of ${ROLES.join(', ')} (not ${role})`);
      if (secret.length < 16) throw new Error(`${where}: the secret of ${key} is shorter than 16 characters`);
      if (keys.has(key)) throw new Error(`${where}: key ${key} is defined twice`);
      keys.set(key, { secret, role: role as Role });
    });
    return new ApiKeys(keys);
  }

  get size(): number {
    return this.keys.size;
  }

  verify(key: string, secret: string): Principal | undefined {
    const entry = this.keys.get(key);
    // Compare against something even for an unknown key, so both answers take as long.
    const ok = secretsEqual(entry?.secret ?? '\u0000unknown-key', secret);
    return ok && entry !== undefined ? { kind: 'key', name: key, role: entry.role } : undefined;
  }
}

/**
 * Password files in Mosquitto's format: one `username:hash` per line (the hash from
 * password-hash.ts). Shared by `cicada passwd` and the broker's password authentication.
 *
 * Reading keeps every line, so that rewriting a file changes only the entries touched: comment
 * lines (`#`) and blank lines are kept as they are. As Mosquitto reads them: a username may not
 * contain `:`; the hash runs from the first `:` to the next one (or the end of the line); blanks
 * (space, tab, CR, ...) around the username and the hash are ignored. Any other line (no `:`, no
 * username, no hash) is an error naming file:line. An entry whose hash is not `$6$`/`$7$` is
 * plain text (what `-U` converts) and never verifies; the broker refuses a file holding one
 * (`requireHashes`), where Mosquitto logs it and drops the user.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hashPassword, parseHash, verifyHash, type HashOptions, type ParsedHash } from './password-hash.js';

export interface PasswordEntry {
  username: string;
  /** The stored text after the colon. */
  hash: string;
  /** The parsed hash; undefined for a plain-text (or unreadable) entry. */
  parsed: ParsedHash | undefined;
}

/** Blanks as C's isspace, which Mosquitto's trimming uses (not Unicode spaces, as String.trim). */
const BLANKS = /^[ \t\r\n\v\f]+|[ \t\r\n\v\f]+$/g;

export class PasswordFileError extends Error {
  override name = 'PasswordFileError';
}

type Line = { entry: PasswordEntry } | { text: string };

/** A password file in memory; `entries` in file order, `lines` keeps comments for rewriting. */
export class PasswordFile {
  private readonly lines: Line[] = [];
  private readonly byName = new Map<string, PasswordEntry>();

  static parse(text: string, source = 'password file', options: ParseOptions = {}): PasswordFile {
    const file = new PasswordFile();
    const lines = text.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    lines.forEach((line, i) => {
      if (line.replace(BLANKS, '') === '' || line.startsWith('#')) {
        file.lines.push({ text: line });
        return;
      }
      const [username, hash] = parseEntry(line, `${source}:${i + 1}`);
      if (options.requireHashes === true && parseHash(hash) === undefined) {
        throw new PasswordFileError(`${source}:${i + 1}: the password of ${username} is not a readable $6$ or $7$ hash (plain text? convert the file with cicada passwd -U)`);
      }
      file.set(username, hash);
    });
    return file;
  }

  get entries(): PasswordEntry[] {
    return [...this.byName.values()];
  }

  get(username: string): PasswordEntry | undefined {
    return this.byName.get(username);
  }

  /** Adds or replaces an entry with an already-computed hash (or plain text). */
  set(username: string, hash: string): void {
    const entry: PasswordEntry = { username, hash, parsed: parseHash(hash) };
    const old = this.byName.get(username);
    this.byName.set(username, entry);
    if (old === undefined) this.lines.push({ entry });
    else {
      const index = this.lines.findIndex((l) => 'entry' in l && l.entry === old);
      this.lines[index] = { entry };
    }
  }

  /** Sets `username`'s password, hashed. */
  setPassword(username: string, password: string, options?: HashOptions): void {
    this.set(username, hashPassword(password, options));
  }

  delete(username: string): boolean {
    const old = this.byName.get(username);
    if (old === undefined) return false;
    this.byName.delete(username);
    this.lines.splice(this.lines.findIndex((l) => 'entry' in l && l.entry === old), 1);
    return true;
  }

  toString(): string {
    return this.lines.map((l) => ('entry' in l ? `${l.entry.username}:${l.entry.hash}` : l.text)).map((l) => `${l}\n`).join('');
  }
}

export interface ParseOptions {
  /** Every entry must hold a $6$/$7$ hash (the broker; `cicada passwd -U` reads plain text too). */
  requireHashes?: boolean;
}

/** `username:hash` of one line, as Mosquitto splits it; PasswordFileError naming `where` (file:line) otherwise. */
function parseEntry(line: string, where: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon < 0) throw new PasswordFileError(`${where}: not username:password-hash (no ':')`);
  const username = line.slice(0, colon).replace(BLANKS, '');
  const end = line.indexOf(':', colon + 1);
  const hash = line.slice(colon + 1, end < 0 ? undefined : end).replace(BLANKS, '');
  if (username === '') throw new PasswordFileError(`${where}: no username before ':'`);
  if (hash === '') throw new PasswordFileError(`${where}: no password hash after '${username}:'`);
  return [username, hash];
}

/** Reads and parses a password file (PasswordFileError naming file:line on a malformed line). */
export async function readPasswordFile(path: string, options?: ParseOptions): Promise<PasswordFile> {
  return PasswordFile.parse(await readFile(path, 'utf8'), path, options);
}

export function readPasswordFileSync(path: string, options?: ParseOptions): PasswordFile {
  return PasswordFile.parse(readFileSync(path, 'utf8'), path, options);
}

/** Writes the file in place of the old one (write to a temporary file, then rename), mode 0600. */
export function writePasswordFile(path: string, file: PasswordFile): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, file.toString(), { mode: 0o600 });
  renameSync(tmp, path);
}

let dummy: string | undefined;

/**
 * Checks a password against an entry (or a stored hash); constant-time; plain text never matches.
 * An unknown user (undefined) costs one hash too, so timing does not tell which users exist.
 */
export function verifyPassword(entry: PasswordEntry | string | undefined, password: string | Buffer): boolean {
  if (entry === undefined) {
    dummy ??= hashPassword('');
    verifyHash(dummy, password);
    return false;
  }
  if (typeof entry === 'string') return verifyHash(entry, password);
  return entry.parsed !== undefined && verifyHash(entry.parsed, password);
}

export { hashPassword, parseHash } from './password-hash.js';
export type { HashAlgorithm, HashOptions, ParsedHash } from './password-hash.js';

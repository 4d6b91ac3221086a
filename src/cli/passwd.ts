/**
 * `cicada passwd`: manage a password file the way mosquitto_passwd does, in Mosquitto 2's format
 * (`$7$` PBKDF2-SHA512 by default, `-H sha512` for the older `$6$`).
 *
 *   cicada passwd [-H sha512-pbkdf2|sha512] [-c | -D] passwordfile username   (password asked twice)
 *   cicada passwd [-H ...] [-c] -b passwordfile username password
 *   cicada passwd -U passwordfile                                          (hash plain-text entries)
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { PasswordFile, PasswordFileError, readPasswordFileSync, writePasswordFile, type HashAlgorithm } from '../auth/password-file.js';
import { processIo, usageErrorText, versionLine, type ToolIo } from './usage.js';

export const PASSWD_USAGE = `Usage: cicada passwd [-H sha512 | -H sha512-pbkdf2] [-c | -D] passwordfile username
       cicada passwd [-H sha512 | -H sha512-pbkdf2] [-c] -b passwordfile username password
       cicada passwd -U passwordfile

Manage a Mosquitto-compatible password file (as mosquitto_passwd).
 -b : batch mode: the password is given on the command line.
 -c : create a new password file (overwrites an existing one).
 -D : delete the username rather than adding/updating its password.
 -H : hashing algorithm: sha512-pbkdf2 ($7$, default) or sha512 ($6$, Mosquitto 1.6 and earlier).
 -U : hash the plain-text passwords of a file in place.
 --help : print this help.   --version : print the version.
`;

class Fail extends Error {}

interface Parsed {
  batch: boolean;
  create: boolean;
  remove: boolean;
  upgrade: boolean;
  algorithm: HashAlgorithm;
  rest: string[];
}

function parse(argv: string[]): Parsed {
  const p: Parsed = { batch: false, create: false, remove: false, upgrade: false, algorithm: 'sha512-pbkdf2', rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-b') p.batch = true;
    else if (a === '-c') p.create = true;
    else if (a === '-D') p.remove = true;
    else if (a === '-U') p.upgrade = true;
    else if (a === '-H') {
      const h = argv[++i];
      if (h !== 'sha512' && h !== 'sha512-pbkdf2') throw new Fail(`Unknown hash type '${h ?? ''}'.`);
      p.algorithm = h;
    } else if (a.startsWith('-') && a.length > 1) throw new Fail(`Unknown option '${a}'.`);
    else p.rest.push(a);
  }
  if ([p.create, p.remove, p.upgrade].filter(Boolean).length > 1) throw new Fail('-c, -D and -U cannot be used together.');
  const want = p.upgrade ? 1 : p.batch && !p.remove ? 3 : 2;
  if (p.rest.length !== want) {
    const flag = p.create ? '-c' : p.remove ? '-D' : p.upgrade ? '-U' : p.batch ? '-b' : '';
    throw new Fail(`${flag !== '' ? `${flag} argument given but ` : ''}password file, username${want === 3 ? ', or password' : ''} missing.`.replace(/^p/, 'P'));
  }
  return p;
}

function checkUsername(username: string): void {
  if (username === '') throw new Fail('Username must not be empty.');
  if (username.includes(':')) throw new Fail("Username must not contain the ':' character.");
  if (Buffer.byteLength(username) > 65535) throw new Fail('Username too long.');
}

export async function runPasswd(argv: string[], io: ToolIo = processIo, stdin: Readable = process.stdin): Promise<number> {
  if (argv.includes('--help')) {
    io.out(`${versionLine('cicada passwd')}\n${PASSWD_USAGE}`);
    return 0;
  }
  if (argv.includes('--version')) {
    io.out(versionLine('cicada passwd'));
    return 0;
  }
  let p: Parsed;
  try {
    p = parse(argv);
  } catch (error) {
    io.err(usageErrorText('cicada passwd', (error as Error).message));
    return 1;
  }
  try {
    const [path, username, password] = p.rest as [string, string | undefined, string | undefined];
    if (!p.create && !existsSync(path)) throw new Fail(`Unable to open password file ${path}. No such file or directory.`);
    const file = p.create ? new PasswordFile() : readPasswordFileSync(path);
    if (p.upgrade) {
      for (const entry of file.entries) if (entry.parsed === undefined) file.setPassword(entry.username, entry.hash, { algorithm: p.algorithm });
    } else if (p.remove) {
      checkUsername(username!);
      if (!file.delete(username!)) {
        io.err(`Warning: User ${username} not found in password file.\n`);
        return 1;
      }
    } else {
      checkUsername(username!);
      const secret = password ?? (await askPassword(io, stdin));
      if (secret === '') throw new Fail('Empty passwords are not allowed.');
      file.setPassword(username!, secret, { algorithm: p.algorithm });
    }
    writePasswordFile(path, file);
    return 0;
  } catch (error) {
    if (error instanceof Fail || error instanceof PasswordFileError) {
      io.err(`Error: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** Reads the password twice (from the terminal without echo, or two lines of piped stdin). */
export async function askPassword(io: ToolIo, stdin: Readable): Promise<string> {
  if (stdin === process.stdin && process.stdin.isTTY) {
    const first = await readHidden(io, 'Password: ');
    const second = await readHidden(io, 'Reenter password: ');
    if (first !== second) throw new Fail('Passwords do not match.');
    return first;
  }
  const rl = createInterface({ input: stdin, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (prompt: string): Promise<string> => {
    io.err(prompt);
    const next = await lines.next();
    if (next.done === true) throw new Fail('No password given.');
    return next.value;
  };
  try {
    const first = await ask('Password: ');
    const second = await ask('Reenter password: ');
    if (first !== second) throw new Fail('Passwords do not match.');
    return first;
  } finally {
    rl.close();
  }
}

/** One line from the terminal in raw mode, not echoed. */
function readHidden(io: ToolIo, prompt: string): Promise<string> {
  io.err(prompt);
  const tty = process.stdin;
  tty.setRawMode(true);
  tty.resume();
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(undefined);
        if (ch === '\u0003') return done(new Fail('Interrupted.'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    const done = (error: Error | undefined): void => {
      tty.off('data', onData);
      tty.setRawMode(false);
      tty.pause();
      io.err('\n');
      if (error !== undefined) reject(error);
      else resolve(text);
    };
    tty.on('data', onData);
  });
}

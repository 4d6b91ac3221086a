/**
 * Password hashes in Mosquitto's formats, so that files are shared with mosquitto_passwd and
 * the mosquitto broker both ways:
 *
 *   $7$<iterations>$<base64 salt>$<base64 hash>   PBKDF2-HMAC-SHA512, 64-byte hash (Mosquitto 2 default;
 *                                                  101 iterations, 12-byte salt)
 *   $6$<base64 salt>$<base64 hash>                SHA-512 over password then salt (Mosquitto 1.x)
 *
 * Comparison is constant-time (crypto.timingSafeEqual over equal-length digests).
 */
import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const DEFAULT_ITERATIONS = 101;
export const SALT_BYTES = 12;
const HASH_BYTES = 64;

export type HashAlgorithm = 'sha512-pbkdf2' | 'sha512';

export type ParsedHash =
  | { algorithm: 'sha512-pbkdf2'; iterations: number; salt: Buffer; hash: Buffer }
  | { algorithm: 'sha512'; salt: Buffer; hash: Buffer };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses a `$7$` or `$6$` hash; undefined for anything else (a plain-text password, garbage). */
export function parseHash(text: string): ParsedHash | undefined {
  const parts = text.split('$');
  if (parts[0] !== '') return undefined;
  if (parts[1] === '7' && parts.length === 5) {
    const [, , iterations, salt, hash] = parts as [string, string, string, string, string];
    if (!/^[1-9]\d{0,8}$/.test(iterations) || !BASE64.test(salt) || !BASE64.test(hash)) return undefined;
    const digest = Buffer.from(hash, 'base64');
    if (digest.length !== HASH_BYTES) return undefined;
    return { algorithm: 'sha512-pbkdf2', iterations: Number(iterations), salt: Buffer.from(salt, 'base64'), hash: digest };
  }
  if (parts[1] === '6' && parts.length === 4) {
    const [, , salt, hash] = parts as [string, string, string, string];
    if (!BASE64.test(salt) || !BASE64.test(hash)) return undefined;
    const digest = Buffer.from(hash, 'base64');
    if (digest.length !== HASH_BYTES) return undefined;
    return { algorithm: 'sha512', salt: Buffer.from(salt, 'base64'), hash: digest };
  }
  return undefined;
}

function digest(parsed: Omit<ParsedHash, 'hash'> & { iterations?: number }, password: string | Buffer): Buffer {
  if (parsed.algorithm === 'sha512-pbkdf2') return pbkdf2Sync(password, parsed.salt, parsed.iterations ?? DEFAULT_ITERATIONS, HASH_BYTES, 'sha512');
  return createHash('sha512').update(password).update(parsed.salt).digest();
}

export function formatHash(parsed: ParsedHash): string {
  const salt = parsed.salt.toString('base64');
  const hash = parsed.hash.toString('base64');
  return parsed.algorithm === 'sha512-pbkdf2' ? `$7$${parsed.iterations}$${salt}$${hash}` : `$6$${salt}$${hash}`;
}

export interface HashOptions {
  algorithm?: HashAlgorithm;
  iterations?: number;
  /** For tests: a fixed salt. */
  salt?: Buffer;
}

/** A new hash of `password` in Mosquitto's format ($7$, 101 iterations, 12-byte random salt by default). */
export function hashPassword(password: string | Buffer, options: HashOptions = {}): string {
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  if (options.algorithm === 'sha512') return formatHash({ algorithm: 'sha512', salt, hash: digest({ algorithm: 'sha512', salt }, password) });
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  return formatHash({ algorithm: 'sha512-pbkdf2', iterations, salt, hash: digest({ algorithm: 'sha512-pbkdf2', salt, iterations }, password) });
}

/** True when `password` matches the `$7$`/`$6$` hash; false for any other stored text. */
export function verifyHash(stored: string | ParsedHash, password: string | Buffer): boolean {
  const parsed = typeof stored === 'string' ? parseHash(stored) : stored;
  if (parsed === undefined) return false;
  const computed = digest(parsed, password);
  return computed.length === parsed.hash.length && timingSafeEqual(computed, parsed.hash);
}

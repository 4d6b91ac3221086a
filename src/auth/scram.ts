/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as an MQTT 5.0 enhanced authentication method: the password
 * never crosses the network and the server stores only salted keys, while the client also
 * verifies the server (the final server signature).
 *
 *   CONNECT  Authentication Data = client-first  "n,,n=<user>,r=<client nonce>"
 *   AUTH 18  Authentication Data = server-first  "r=<client nonce><server nonce>,s=<salt b64>,i=<iterations>"
 *   AUTH 18  Authentication Data = client-final  "c=biws,r=<nonce>,p=<proof b64>"
 *   CONNACK  Authentication Data = server-final  "v=<server signature b64>"
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthExchange, AuthMethod, AuthStep } from '../broker/options.js';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

/** What the server stores per user (never the password). */
export interface ScramCredentials {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/** Derive the stored credentials for a password (RFC 5802 section 3). */
export function scramCredentials(password: string, salt: Buffer = randomBytes(16), iterations = 4096): ScramCredentials {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  return { salt, iterations, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

/** Parse "k=v,k=v" attributes of a SCRAM message. */
function attributes(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) map.set(part[0] as string, part.slice(2));
  }
  return map;
}

function unescapeName(name: string): string {
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

export interface ScramOptions {
  /** Look up a user's credentials; undefined for an unknown user. */
  lookup(username: string): ScramCredentials | undefined | Promise<ScramCredentials | undefined>;
}

class ScramExchange implements AuthExchange {
  private stage: 'first' | 'final' | 'done' = 'first';
  private username = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private credentials: ScramCredentials | undefined;

  constructor(private readonly options: ScramOptions) {}

  step(data: Buffer | undefined): AuthStep | Promise<AuthStep> {
    const text = data?.toString('utf8') ?? '';
    if (this.stage === 'first') return this.first(text);
    if (this.stage === 'final') return this.final(text);
    return { result: 'failure', reason: 'SCRAM exchange already finished' };
  }

  private async first(text: string): Promise<AuthStep> {
    // gs2 header: no channel binding ("n,,"), no authzid.
    if (!text.startsWith('n,,')) return { result: 'failure', reason: 'SCRAM: unsupported GS2 header' };
    this.clientFirstBare = text.slice(3);
    const attrs = attributes(this.clientFirstBare);
    const user = attrs.get('n');
    const clientNonce = attrs.get('r');
    if (user === undefined || clientNonce === undefined || clientNonce === '') {
      return { result: 'failure', reason: 'SCRAM: malformed client-first message' };
    }
    this.username = unescapeName(user);
    this.credentials = await this.options.lookup(this.username);
    // An unknown user gets a plausible challenge and fails at the proof, revealing nothing.
    const credentials = this.credentials ?? scramCredentials(randomBytes(16).toString('hex'));
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${credentials.salt.toString('base64')},i=${credentials.iterations}`;
    this.stage = 'final';
    return { result: 'continue', data: Buffer.from(this.serverFirst) };
  }

  private final(text: string): AuthStep {
    this.stage = 'done';
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt === -1) return { result: 'failure', reason: 'SCRAM: malformed client-final message' };
    const withoutProof = text.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    if (attrs.get('c') !== 'biws' || attrs.get('r') !== this.nonce) {
      return { result: 'failure', reason: 'SCRAM: channel binding or nonce mismatch' };
    }
    const credentials = this.credentials;
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    if (credentials === undefined || proof.length !== 32) return { result: 'failure', reason: 'SCRAM: authentication failed' };
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(credentials.storedKey, authMessage);
    const clientKey = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) clientKey[i] = (proof[i] as number) ^ (clientSignature[i] as number);
    if (!timingSafeEqual(sha256(clientKey), credentials.storedKey)) {
      return { result: 'failure', reason: 'SCRAM: authentication failed' };
    }
    const serverSignature = hmac(credentials.serverKey, authMessage).toString('base64');
    return { result: 'success', data: Buffer.from(`v=${serverSignature}`), username: this.username };
  }
}

/** The SCRAM-SHA-256 method, for `authMethods: { 'SCRAM-SHA-256': scramSha256({ lookup }) }`. */
export function scramSha256(options: ScramOptions): AuthMethod {
  return { start: () => new ScramExchange(options) };
}

/**
 * The client side of SCRAM-SHA-256 (used by tests and the client library): `first()` gives the
 * CONNECT data, `final(serverFirst)` the second AUTH data, `verify(serverFinal)` checks the server.
 */
export class ScramClient {
  private readonly clientNonce = randomBytes(18).toString('base64');
  private clientFirstBare = '';
  private expectedServerSignature = '';

  constructor(
    private readonly username: string,
    private readonly password: string,
  ) {}

  first(): Buffer {
    const name = this.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
    this.clientFirstBare = `n=${name},r=${this.clientNonce}`;
    return Buffer.from(`n,,${this.clientFirstBare}`);
  }

  final(serverFirstData: Buffer): Buffer {
    const serverFirst = serverFirstData.toString('utf8');
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r') ?? '';
    if (!nonce.startsWith(this.clientNonce)) throw new Error('SCRAM: server nonce does not extend the client nonce');
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    const salted = pbkdf2Sync(this.password.normalize('NFKC'), salt, iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(sha256(clientKey), authMessage);
    const proof = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) proof[i] = (clientKey[i] as number) ^ (signature[i] as number);
    this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  verify(serverFinalData: Buffer): boolean {
    return serverFinalData.toString('utf8') === `v=${this.expectedServerSignature}`;
  }
}

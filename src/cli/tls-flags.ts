/**
 * The TLS flags of `cicada pub` / `cicada sub`, as mosquitto_pub reads them: --cafile, --capath
 * (a directory of PEM certificates, as made by c_rehash), --tls-use-os-certs, --cert/--key,
 * --insecure, --tls-version. Files are read here, before any connection, so a bad one fails at once.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectOptions } from '../client/index.js';
import { CliUsageError } from './usage.js';
import { has, value, type Flags } from './flags.js';

const TLS_VERSIONS = { 'tlsv1.3': 'TLSv1.3', 'tlsv1.2': 'TLSv1.2', 'tlsv1.1': 'TLSv1.1' } as const;

/** The system CA bundle (Debian, Red Hat, Alpine paths; SSL_CERT_FILE first). */
const OS_BUNDLES = [process.env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/** True when the flags ask for TLS (mqtts). */
export function wantsTls(flags: Flags): boolean {
  return ['cafile', 'capath', 'tls-use-os-certs', 'cert'].some((name) => has(flags, name));
}

/** Reads the TLS flags into `options` (ca, cert, key, versions, verification). */
export async function applyTlsFlags(flags: Flags, options: ConnectOptions): Promise<void> {
  const cert = value(flags, 'cert');
  const key = value(flags, 'key');
  if ((cert === undefined) !== (key === undefined)) throw new CliUsageError('Both certfile and keyfile must be provided if one of them is set.');
  const ca: Buffer[] = [];
  const cafile = value(flags, 'cafile');
  if (cafile !== undefined) ca.push(readTlsFile(cafile));
  const capath = value(flags, 'capath');
  if (capath !== undefined) ca.push(...readCaPath(capath));
  if (has(flags, 'tls-use-os-certs')) ca.push(...(await osCertificates()));
  if (ca.length > 0) options.ca = ca;
  if (cert !== undefined && key !== undefined) {
    options.cert = readTlsFile(cert);
    options.key = readTlsFile(key);
  }
  const version = tlsVersion(flags);
  if (version !== undefined) {
    options.minVersion = version;
    options.maxVersion = version;
  }
  if (has(flags, 'insecure')) options.rejectUnauthorized = false;
}

/** --tls-version, checked even when nothing else asks for TLS (as mosquitto_pub does). */
export function tlsVersion(flags: Flags): (typeof TLS_VERSIONS)[keyof typeof TLS_VERSIONS] | undefined {
  const version = value(flags, 'tls-version');
  if (version === undefined) return undefined;
  const v = TLS_VERSIONS[version as keyof typeof TLS_VERSIONS];
  if (v === undefined) throw new CliUsageError(`Invalid --tls-version '${version}' (tlsv1.3, tlsv1.2 or tlsv1.1).`);
  return v;
}

function readTlsFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliUsageError(`Problem setting TLS options: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: error });
  }
}

/** Every PEM certificate file of a directory (c_rehash links included). */
function readCaPath(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new CliUsageError(`Problem setting TLS options: cannot read the directory ${dir} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: error });
  }
  const certs = names
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile() === true)
    .map((path) => readFileSync(path))
    .filter((pem) => pem.includes('-----BEGIN CERTIFICATE-----'));
  if (certs.length === 0) throw new CliUsageError(`Problem setting TLS options: no PEM certificate in ${dir}.`);
  return certs;
}

/** The operating system's trusted CAs, and Node's own list. */
async function osCertificates(): Promise<Buffer[]> {
  const { rootCertificates } = await import('node:tls');
  const bundle = OS_BUNDLES.find((path) => path !== undefined && path !== '' && existsSync(path));
  return [...(bundle !== undefined ? [readFileSync(bundle)] : []), ...rootCertificates.map((pem) => Buffer.from(pem))];
}

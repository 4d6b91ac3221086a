/**
 * JWT authentication (jose): the CONNECT password is a signed token. HS256 (and HS384/512) with
 * a shared secret; RS256, ES256 and friends with a PEM public key or a JWKS file. `exp` and
 * `nbf` are checked by jose (with an optional clock tolerance); a token without `exp` is refused
 * unless `requireExp` is false; audience and issuer when configured. The user name is the
 * username claim (default `sub`): a token without it is refused, and so is a CONNECT user name
 * other than it. The connection ends when the token expires (BrokerCore's sweep).
 *
 * Optional ACL claims, as EMQX reads them: `"acl": {"pub": [...], "sub": [...], "all": [...]}`
 * (`publish` and `subscribe` are accepted as names too). A client whose token has them may
 * publish only to topics matching a pub/all filter and subscribe only inside a sub/all filter.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { JwtOptions } from './options.js';
import { topicMatches } from '../topics/index.js';
import { filterWithin } from './acl.js';

export interface JwtAcl {
  publish: string[];
  subscribe: string[];
}

export type JwtResult = { result: 'allow'; acl: JwtAcl | undefined; username: string; expiresAt: number | undefined } | { result: 'deny'; why: string } | { result: 'ignore' };

const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** EMQX-style ACL claims, or undefined when the token has none. */
function aclClaims(payload: JWTPayload): JwtAcl | undefined {
  const acl = payload.acl;
  if (acl === null || typeof acl !== 'object' || Array.isArray(acl)) return undefined;
  const claims = acl as Record<string, unknown>;
  const all = stringList(claims.all);
  return {
    publish: [...all, ...stringList(claims.pub), ...stringList(claims.publish)],
    subscribe: [...all, ...stringList(claims.sub), ...stringList(claims.subscribe)],
  };
}

export function jwtAclAllowsPublish(acl: JwtAcl, topic: string): boolean {
  return acl.publish.some((filter) => topicMatches(filter, topic));
}

export function jwtAclAllowsSubscribe(acl: JwtAcl, filter: string): boolean {
  return acl.subscribe.some((allowed) => filterWithin(filter, allowed));
}

export function jwtAclAllowsRead(acl: JwtAcl, topic: string): boolean {
  return acl.subscribe.some((filter) => topicMatches(filter, topic));
}

export class JwtAuthenticator {
  private key: Uint8Array | KeyObject | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly options: JwtOptions) {
    this.key = this.loadKey();
    this.algorithms = options.algorithms ?? (options.secret !== undefined ? ['HS256'] : ['RS256', 'ES256']);
  }

  private loadKey(): Uint8Array | KeyObject | JWTVerifyGetKey {
    const o = this.options;
    if (o.jwksFile !== undefined) return createLocalJWKSet(JSON.parse(readFileSync(o.jwksFile, 'utf8')) as JSONWebKeySet);
    if (o.publicKeyFile !== undefined) return createPublicKey(readFileSync(o.publicKeyFile));
    if (o.secret !== undefined) return new TextEncoder().encode(o.secret);
    throw new Error('JWT needs a secret, a public key file or a JWKS file');
  }

  /** Re-read key files (SIGHUP). */
  reload(): void {
    this.key = this.loadKey();
  }

  async verify(username: string | undefined, password: Buffer | undefined): Promise<JwtResult> {
    const token = password?.toString('utf8');
    if (token === undefined || !TOKEN.test(token)) return { result: 'ignore' };
    const o = this.options;
    const verifyOptions = {
      algorithms: this.algorithms,
      ...(o.audience !== undefined ? { audience: o.audience } : {}),
      ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
      ...(o.clockToleranceSeconds !== undefined ? { clockTolerance: o.clockToleranceSeconds } : {}),
    };
    let payload: JWTPayload;
    try {
      const key = this.key;
      payload = (typeof key === 'function' ? await jwtVerify(token, key, verifyOptions) : await jwtVerify(token, key, verifyOptions)).payload;
    } catch (error) {
      if (error instanceof errors.JOSEError) return { result: 'deny', why: `invalid token: ${error.code}` };
      throw error;
    }
    const name = o.usernameClaim ?? 'sub';
    const claim = payload[name];
    if (typeof claim !== 'string' || claim === '') return { result: 'deny', why: `token has no ${name} claim` };
    if (username !== undefined && claim !== username) return { result: 'deny', why: `token is for ${claim}, not ${username}` };
    if (payload.exp === undefined && o.requireExp !== false) return { result: 'deny', why: 'token has no exp claim' };
    // jose accepts a token until exp plus the clock tolerance: so long it stays connected.
    const expiresAt = payload.exp === undefined ? undefined : (payload.exp + (o.clockToleranceSeconds ?? 0)) * 1000;
    return { result: 'allow', acl: aclClaims(payload), username: claim, expiresAt };
  }
}

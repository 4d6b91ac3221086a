/**
 * Security from declared settings: turns SecurityOptions (global, or per listener with
 * per_listener_settings) into registrations on the broker's hook chain (src/broker/hooks.ts):
 * `client.authenticate` and `client.authorize` at HookPriority.security, after an embedder's own
 * hooks, and the per-connection bookkeeping on `client.connected` / `client.disconnected` first.
 *
 * Authentication, for a CONNECT on a listener:
 * 1. A listener with use_identity_as_username / use_subject_as_username: the verified client
 *    certificate is the credential (the TLS layer already refused clients without one).
 * 2. No user name and no password: anonymous, accepted when allowAnonymous says so (default:
 *    only on a loopback or unix listener with no authentication source configured).
 * 3. Otherwise each source in turn (password file, JWT, HTTP hook) answers allow, deny or
 *    ignore; the first allow or deny wins and when all ignore the answer is no. With no source
 *    at all a user name is not checked, as in Mosquitto: it is the anonymous decision.
 *
 * JWT: the user name is the token's username claim, and the connection ends when the token
 * expires (5.0: DISCONNECT 0x87). A 5.0 client that connects with Authentication Method `JWT`
 * (the token as Authentication Data) may re-authenticate with a fresh token (AUTH 0x19) to stay.
 *
 * Authorization (publish, subscribe, retained reads), first answer wins: the client's JWT ACL
 * claims, the HTTP hook (http_auth_acl), the ACL file. With an ACL file or the HTTP hook
 * configured, no answer means no; with neither, yes.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../broker/logger.js';
import { HookPriority, type AuthzResult, type HookChain } from '../broker/hooks.js';
import type { AuthMethod, AuthResult, AuthStep, ClientInfo, ConnectInfo } from '../broker/options.js';
import type { ListenerSecurity, SecurityOptions } from './options.js';
import type { QoS } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { Acl } from './acl.js';
import { HttpAuthHook, type HookResult } from './http-hook.js';
import { jwtAclAllowsPublish, jwtAclAllowsRead, jwtAclAllowsSubscribe, JwtAuthenticator, type JwtAcl } from './jwt.js';
import { hashPassword, readPasswordFileSync, verifyPassword, type PasswordEntry, type PasswordFile } from './password-file.js';

/** A listener as security sees it. */
export interface SecuredListener<L extends ListenerSecurity = ListenerSecurity> {
  name: string;
  options: L;
}

export function isLoopbackListener(options: ListenerSecurity): boolean {
  if (options.path !== undefined) return true;
  const host = options.host ?? '127.0.0.1';
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The sources of one security scope (global, or one listener's). */
class Scope {
  acl: Acl | undefined;
  passwords: PasswordFile | undefined;
  readonly jwt: JwtAuthenticator | undefined;
  readonly http: HttpAuthHook | undefined;

  constructor(
    readonly settings: SecurityOptions,
    log: Logger,
  ) {
    this.jwt = settings.jwt !== undefined ? new JwtAuthenticator(settings.jwt) : undefined;
    this.http = settings.httpAuth !== undefined ? new HttpAuthHook(settings.httpAuth, log) : undefined;
    this.load();
  }

  /** (Re-)read the password and ACL files; throws on a mistake, keeping what was loaded. */
  load(): void {
    const s = this.settings;
    const acl = s.aclFile !== undefined ? Acl.parse(readFileSync(s.aclFile, 'utf8'), s.aclFile) : undefined;
    const passwords = s.passwordFile !== undefined ? readPasswordFileSync(s.passwordFile, { requireHashes: true }) : undefined;
    this.jwt?.reload();
    this.http?.clear();
    this.acl = acl;
    this.passwords = passwords;
  }

  get hasAuthSource(): boolean {
    return this.settings.passwordFile !== undefined || this.jwt !== undefined || this.http !== undefined;
  }

  get hasAuthorization(): boolean {
    return this.acl !== undefined || this.settings.aclFile !== undefined || this.jwt !== undefined || this.http?.options.authorize === true;
  }

  anonymousAllowed(listener: ListenerSecurity | undefined): boolean {
    return this.settings.allowAnonymous ?? (!this.hasAuthSource && (listener === undefined || isLoopbackListener(listener)));
  }
}

type AclKind = 'publish' | 'subscribe' | 'read';

/** Verified against for unknown users, so a refusal takes as long whether the user exists or not. */
let dummyHash: string | undefined;

export class Security {
  private readonly global: Scope;
  private readonly scopes = new Map<string, Scope>();
  private readonly listeners = new Map<string, ListenerSecurity>();
  /** JWT ACL claims by connection: pending until CONNACK, then active until disconnection. */
  private readonly pendingClaims = new Map<number, { acl: JwtAcl; at: number }>();
  private readonly claims = new Map<number, JwtAcl>();
  /** Connections past CONNACK (a JWT AUTH exchange for one of them is a re-authentication). */
  private readonly live = new Set<number>();
  /** Password-file credentials by connection, checked again on reload (as Mosquitto keeps them). */
  private readonly credentials = new Map<number, { username: string; password: Buffer; hash: string }>();

  constructor(
    settings: SecurityOptions,
    perListener: boolean,
    listeners: SecuredListener[],
    private readonly log: Logger,
  ) {
    this.global = new Scope(settings, log);
    for (const { name, options } of listeners) {
      this.listeners.set(name, options);
      if (perListener) this.scopes.set(name, new Scope(options.security ?? {}, log));
    }
  }

  private scope(listener: string | undefined): Scope {
    return (listener !== undefined ? this.scopes.get(listener) : undefined) ?? this.global;
  }

  /** Whether clients without credentials get in on this listener. */
  admitsAnonymous(name: string): boolean {
    const options = this.listeners.get(name);
    const tls = options?.tls;
    if (tls?.useIdentityAsUsername === true || tls?.useSubjectAsUsername === true) return false;
    return this.scope(name).anonymousAllowed(options);
  }

  /** Listeners where anonymous clients get in although the listener is not loopback. */
  exposedAnonymous(): string[] {
    return [...this.listeners].filter(([name, options]) => this.admitsAnonymous(name) && !isLoopbackListener(options)).map(([name]) => name);
  }

  /** Re-read password and ACL files (SIGHUP); a broken file is logged and the old one kept. */
  reload(): void {
    let failed = false;
    for (const scope of [this.global, ...this.scopes.values()]) {
      try {
        scope.load();
      } catch (error) {
        failed = true;
        this.log.error({ err: (error as Error).message }, 'reload failed: keeping the previous password and ACL files');
      }
    }
    if (!failed) this.log.info('reloaded password and ACL files');
  }

  connected(client: ClientInfo): void {
    const id = client.connectionId;
    if (id === undefined) return;
    this.live.add(id);
    const pending = this.pendingClaims.get(id);
    if (pending === undefined) return;
    this.pendingClaims.delete(id);
    this.claims.set(id, pending.acl);
  }

  disconnected(client: ClientInfo): void {
    if (client.connectionId === undefined) return;
    this.claims.delete(client.connectionId);
    this.live.delete(client.connectionId);
    this.credentials.delete(client.connectionId);
  }

  /**
   * After a reload: why a connected client must go (its user is gone from the password file, or
   * its password no longer verifies), or undefined. Mosquitto 2.0.11 keeps delivering to them.
   */
  revoked(client: ClientInfo): string | undefined {
    const held = client.connectionId !== undefined ? this.credentials.get(client.connectionId) : undefined;
    if (held === undefined) return undefined;
    const entry = this.scope(client.listener).passwords?.get(held.username);
    if (entry === undefined) return 'user removed from the password file';
    if (entry.hash === held.hash) return undefined;
    if (!verifyPassword(entry, held.password)) return 'password changed';
    held.hash = entry.hash;
    return undefined;
  }

  /** The enhanced authentication methods to offer (5.0 `JWT` when a scope has JWT). */
  authMethods(): Record<string, AuthMethod> | undefined {
    return [this.global, ...this.scopes.values()].some((s) => s.jwt !== undefined) ? { JWT: this.jwtMethod() } : undefined;
  }

  /**
   * Register on the hook chain; authorization only when some source can refuse (so a broker
   * without one checks no delivery). Every answer is definite: 'ignore' is resolved here, by
   * the scope's settings.
   */
  register(chain: HookChain): void {
    chain.add('client.connected', (client) => this.connected(client), HookPriority.state);
    chain.add('client.disconnected', (client) => this.disconnected(client), HookPriority.state);
    chain.add('client.authenticate', (info) => this.authenticate(info), HookPriority.security);
    if (![this.global, ...this.scopes.values()].some((s) => s.hasAuthorization)) return;
    chain.add('client.authorize', (client, action, topic, qos, retain) => this.authorizeAction(client, action as 'publish' | 'subscribe', topic, qos, retain), HookPriority.security, {
      actions: ['publish', 'subscribe'],
    });
    chain.add('client.authorize', (client, _action, topic) => (this.decideSync(client, 'read', topic) !== 'deny' ? 'allow' : 'deny'), HookPriority.security, {
      actions: ['deliver'],
    });
  }

  private authorizeAction(client: ClientInfo, kind: 'publish' | 'subscribe', topic: string, qos: QoS, retain: boolean): AuthzResult | Promise<AuthzResult> {
    const allowed = this.authorize(client, kind, topic, qos, retain);
    return allowed instanceof Promise ? allowed.then(allowOrDeny) : allowOrDeny(allowed);
  }

  authenticate(info: ConnectInfo): AuthResult | Promise<AuthResult> {
    const listener = info.listener !== undefined ? this.listeners.get(info.listener) : undefined;
    const tls = listener?.tls;
    if (tls?.useIdentityAsUsername === true || tls?.useSubjectAsUsername === true) {
      // [Mosquitto] the certificate is the credential; without one the client is not authorized.
      return info.certificate !== undefined && info.username !== undefined ? true : ReasonCode.NotAuthorized;
    }
    const scope = this.scope(info.listener);
    if ((info.username === undefined && info.password === undefined) || !scope.hasAuthSource) {
      return scope.anonymousAllowed(listener) ? true : ReasonCode.NotAuthorized;
    }
    if (info.username !== undefined && scope.passwords !== undefined) {
      // A user in the file is decided by it (constant-time compare); an unknown one goes on to JWT / HTTP.
      const entry = scope.passwords.get(info.username);
      if (entry !== undefined) return this.verified(info, entry);
    }
    if (scope.jwt === undefined && scope.http === undefined) {
      verifyPassword((dummyHash ??= hashPassword('cicada-timing-equaliser')), info.password ?? Buffer.alloc(0));
      return false;
    }
    return this.authenticateAsync(scope, info);
  }

  /** Check a password-file entry; on success keep the credentials for the next reload. */
  private verified(info: ConnectInfo, entry: PasswordEntry): boolean {
    const password = info.password ?? Buffer.alloc(0);
    const ok = verifyPassword(entry, password);
    if (ok && info.connectionId !== undefined) {
      this.credentials.set(info.connectionId, { username: entry.username, password: Buffer.from(password), hash: entry.hash });
    }
    return ok;
  }

  private async authenticateAsync(scope: Scope, info: ConnectInfo): Promise<AuthResult> {
    if (scope.jwt !== undefined) {
      const verdict = await scope.jwt.verify(info.username, info.password);
      if (verdict.result === 'deny') {
        this.log.info({ clientId: info.clientId, username: info.username, why: verdict.why }, 'JWT refused');
        return false;
      }
      if (verdict.result === 'allow') {
        if (verdict.acl !== undefined && info.connectionId !== undefined) this.rememberClaims(info.connectionId, verdict.acl);
        return { username: verdict.username, ...(verdict.expiresAt !== undefined ? { expiresAt: verdict.expiresAt } : {}) };
      }
    }
    if (scope.http === undefined) return false;
    const result = await scope.http.ask({
      action: 'connect',
      clientId: info.clientId,
      username: info.username ?? null,
      password: info.password?.toString('utf8') ?? null,
      remoteAddress: info.remoteAddress,
      listener: info.listener ?? null,
      certificateSubject: info.certificate?.subject ?? null,
    });
    return result === 'allow';
  }

  /** 5.0 enhanced authentication method `JWT`: the Authentication Data is the token. */
  private jwtMethod(): AuthMethod {
    return { start: (info) => ({ step: (data) => this.jwtStep(info, data) }) };
  }

  private async jwtStep(info: ConnectInfo, token: Buffer | undefined): Promise<AuthStep> {
    const jwt = this.scope(info.listener).jwt;
    if (jwt === undefined) return { result: 'failure', reasonCode: ReasonCode.BadAuthenticationMethod, reason: 'no JWT on this listener' };
    const verdict = await jwt.verify(info.username, token);
    if (verdict.result !== 'allow') {
      const why = verdict.result === 'deny' ? verdict.why : 'not a token';
      this.log.info({ clientId: info.clientId, username: info.username, why }, 'JWT refused');
      return { result: 'failure', reasonCode: ReasonCode.NotAuthorized, reason: `JWT refused: ${why}` };
    }
    const id = info.connectionId;
    if (id !== undefined && this.live.has(id)) {
      // Re-authentication: the fresh token's claims replace the old ones.
      if (verdict.acl === undefined) this.claims.delete(id);
      else this.claims.set(id, verdict.acl);
    } else if (id !== undefined && verdict.acl !== undefined) this.rememberClaims(id, verdict.acl);
    return { result: 'success', username: verdict.username, ...(verdict.expiresAt !== undefined ? { expiresAt: verdict.expiresAt } : {}) };
  }

  private rememberClaims(connectionId: number, acl: JwtAcl): void {
    const now = Date.now();
    if (this.pendingClaims.size > 1000) {
      // Connections that closed between authentication and CONNACK leave entries behind.
      for (const [id, entry] of this.pendingClaims) if (now - entry.at > 60_000) this.pendingClaims.delete(id);
    }
    this.pendingClaims.set(connectionId, { acl, at: now });
  }

  /** The JWT ACL claims of the client's connection (also while its CONNACK is being sent). */
  private claimsOf(client: ClientInfo): JwtAcl | undefined {
    const id = client.connectionId;
    if (id === undefined) return undefined;
    return this.claims.get(id) ?? this.pendingClaims.get(id)?.acl;
  }

  /** The synchronous sources: JWT claims, then the ACL file. */
  private decideSync(client: ClientInfo, kind: AclKind, topic: string): HookResult {
    const claims = this.claimsOf(client);
    if (claims !== undefined) {
      const ok = kind === 'publish' ? jwtAclAllowsPublish(claims, topic) : kind === 'subscribe' ? jwtAclAllowsSubscribe(claims, topic) : jwtAclAllowsRead(claims, topic);
      return ok ? 'allow' : 'deny';
    }
    const acl = this.scope(client.listener).acl;
    if (acl === undefined) return 'ignore';
    const ok = kind === 'publish' ? acl.canWrite(client, topic) : kind === 'subscribe' ? acl.canSubscribe(client, topic) : acl.canRead(client, topic);
    return ok ? 'allow' : 'deny';
  }

  private authorize(client: ClientInfo, kind: 'publish' | 'subscribe', topic: string, qos: QoS, retain: boolean): boolean | Promise<boolean> {
    const scope = this.scope(client.listener);
    const claims = this.claimsOf(client);
    const http = scope.http;
    if (claims !== undefined || http === undefined || http.options.authorize !== true) return this.finish(scope, this.decideSync(client, kind, topic));
    return http
      .ask({ action: kind, clientId: client.clientId, username: client.username ?? null, topic, qos, retain, listener: client.listener ?? null })
      .then((result) => (result !== 'ignore' ? result === 'allow' : this.finish(scope, this.decideSync(client, kind, topic))));
  }

  private finish(scope: Scope, result: HookResult): boolean {
    if (result !== 'ignore') return result === 'allow';
    return scope.acl === undefined && scope.http?.options.authorize !== true;
  }
}

function allowOrDeny(allowed: boolean): AuthzResult {
  return allowed ? 'allow' : 'deny';
}

/** Does any setting ask for security hooks? */
export function securityConfigured(settings: SecurityOptions | undefined, perListener: boolean, listeners: ListenerSecurity[]): boolean {
  return (
    settings !== undefined ||
    perListener ||
    listeners.some((l) => l.security !== undefined || l.tls?.useIdentityAsUsername === true || l.tls?.useSubjectAsUsername === true)
  );
}

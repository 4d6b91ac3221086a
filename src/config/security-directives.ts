/**
 * The security directives (allow_anonymous, password_file, acl_file, jwt_*, http_auth_*): global,
 * or per listener with per_listener_settings, so the caller says where they go (`security`).
 */
import type { HttpAuthOptions, JwtOptions, SecurityOptions } from '../auth/options.js';
import type { ConfigLine } from './directives.js';
import type { BrokerOptions } from './schema.js';
import { boolean, existingPath, fileContents, integer, one, type ValueCtx } from './values.js';

/** The setters of the security directives, writing into `security(ctx)`. */
export function securityDirectives<C extends ValueCtx>(security: (ctx: C) => SecurityOptions): Record<string, (ctx: C) => void> {
  const jwt = (ctx: C): JwtOptions => (security(ctx).jwt ??= {});
  const httpAuth = (ctx: C): HttpAuthOptions => (security(ctx).httpAuth ??= { url: '' });
  return {
    allow_anonymous(ctx: C) {
      security(ctx).allowAnonymous = boolean(ctx);
    },
    password_file(ctx: C) {
      security(ctx).passwordFile = existingPath(ctx, 'file');
    },
    acl_file(ctx: C) {
      security(ctx).aclFile = existingPath(ctx, 'file');
    },
    jwt_secret(ctx: C) {
      jwt(ctx).secret = one(ctx, 'one secret (no spaces)');
    },
    jwt_secret_file(ctx: C) {
      jwt(ctx).secret = fileContents(ctx).toString('utf8').trim();
    },
    jwt_public_key_file(ctx: C) {
      jwt(ctx).publicKeyFile = existingPath(ctx, 'file');
    },
    jwt_jwks_file(ctx: C) {
      jwt(ctx).jwksFile = existingPath(ctx, 'file');
    },
    jwt_algorithms(ctx: C) {
      const algorithms = ctx.line.args.flatMap((a) => a.split(',')).filter((a) => a !== '');
      const known = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'EdDSA'];
      const bad = algorithms.find((a) => !known.includes(a));
      if (algorithms.length === 0 || bad !== undefined) ctx.fail(`expects algorithms among ${known.join(', ')}${bad !== undefined ? ` (not ${bad})` : ''}`);
      jwt(ctx).algorithms = algorithms;
    },
    jwt_audience(ctx: C) {
      jwt(ctx).audience = one(ctx, 'one audience');
    },
    jwt_issuer(ctx: C) {
      jwt(ctx).issuer = one(ctx, 'one issuer');
    },
    jwt_username_claim(ctx: C) {
      jwt(ctx).usernameClaim = one(ctx, 'one claim name');
    },
    jwt_require_exp(ctx: C) {
      jwt(ctx).requireExp = boolean(ctx);
    },
    jwt_clock_tolerance(ctx: C) {
      jwt(ctx).clockToleranceSeconds = integer(ctx, 0, 3600);
    },
    http_auth_url(ctx: C) {
      const url = one(ctx, 'one URL');
      if (!/^https?:\/\/[^/]/.test(url)) ctx.fail('expects an http:// or https:// URL');
      httpAuth(ctx).url = url;
    },
    http_auth_timeout(ctx: C) {
      httpAuth(ctx).timeoutMs = integer(ctx, 1, 60_000);
    },
    http_auth_cache_ttl(ctx: C) {
      httpAuth(ctx).cacheTtlMs = integer(ctx, 0, 86_400) * 1000;
    },
    http_auth_acl(ctx: C) {
      httpAuth(ctx).authorize = boolean(ctx);
    },
    http_auth_pool_size(ctx: C) {
      httpAuth(ctx).poolSize = integer(ctx, 1, 1024);
    },
    http_auth_queue_size(ctx: C) {
      httpAuth(ctx).queueSize = integer(ctx, 0, 1_000_000);
    },
  };
}

/** An http_auth_* setting without http_auth_url, or a jwt_* setting without a key, is a mistake: the line and why. */
export function securityMistake(options: BrokerOptions, lines: ConfigLine[]): { line: ConfigLine; message: string } | undefined {
  const all = [options.security, ...(options.listeners ?? []).map((l) => l.security)];
  for (const security of all) {
    if (security?.httpAuth !== undefined && security.httpAuth.url === '') {
      return { line: lines.find((l) => l.name.startsWith('http_auth_')) as ConfigLine, message: 'http_auth_url is not set' };
    }
    const jwt = security?.jwt;
    if (jwt !== undefined && jwt.secret === undefined && jwt.publicKeyFile === undefined && jwt.jwksFile === undefined) {
      return { line: lines.find((l) => l.name.startsWith('jwt_')) as ConfigLine, message: 'JWT needs jwt_secret, jwt_secret_file, jwt_public_key_file or jwt_jwks_file' };
    }
  }
  return undefined;
}

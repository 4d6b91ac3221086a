/**
 * The declared security settings (what a configuration file or an embedder gives): password and
 * ACL files, JWT, the HTTP hook, and a listener's TLS. src/server.ts hands them to `Security`
 * (index.ts), which turns them into the broker's hooks; the core never sees them.
 */

/** TLS settings of a listener (mosquitto.conf names in comments). */
export interface TlsOptions {
  /** PEM certificate chain (certfile). */
  cert: string | Buffer;
  /** PEM private key (keyfile). */
  key: string | Buffer;
  /** PEM CA certificates to verify client certificates (cafile / capath). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask for and verify a client certificate (require_certificate). */
  requireCertificate?: boolean;
  /** Use the client certificate's CN as the user name (use_identity_as_username). */
  useIdentityAsUsername?: boolean;
  /** Use the client certificate's subject as the user name (use_subject_as_username). */
  useSubjectAsUsername?: boolean;
  /** Minimum TLS version, e.g. 'TLSv1.2' (tls_version). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list (ciphers). */
  ciphers?: string;
  /** PEM certificate revocation list for client certificates (crlfile). */
  crl?: string | Buffer;
  /** PEM Diffie-Hellman parameters (dhparamfile). */
  dhparam?: string | Buffer;
}

/** JWT authentication: the token is the CONNECT password (Cicada directives jwt_*). */
export interface JwtOptions {
  /** Shared secret for HS256 (jwt_secret). */
  secret?: string;
  /** PEM public key file for RS256 / ES256 (jwt_public_key_file). */
  publicKeyFile?: string;
  /** JWKS file (JSON Web Key Set) (jwt_jwks_file). */
  jwksFile?: string;
  /** Accepted algorithms (jwt_algorithms). Default: HS256 with a secret, RS256 and ES256 with keys. */
  algorithms?: string[];
  /** Required audience and issuer (jwt_audience, jwt_issuer). */
  audience?: string;
  issuer?: string;
  /**
   * The claim that names the user (jwt_username_claim). Default 'sub'. A token without it is
   * refused; a CONNECT user name other than it too.
   */
  usernameClaim?: string;
  /** Refuse tokens without `exp` (jwt_require_exp). Default true. */
  requireExp?: boolean;
  /** Allowed clock skew in seconds for exp and nbf (jwt_clock_tolerance). Default 0. */
  clockToleranceSeconds?: number;
}

/** HTTP authentication and authorization hook (Cicada directives http_auth_*). */
export interface HttpAuthOptions {
  /** URL that gets a JSON POST per decision (http_auth_url). */
  url: string;
  /** Bound on each request in ms; a time-out denies (http_auth_timeout, in ms). Default 2000. */
  timeoutMs?: number;
  /** How long a decision is cached, in ms; 0 disables the cache (http_auth_cache_ttl, in s). Default 60000. */
  cacheTtlMs?: number;
  /** Most cached decisions. Default 10000. */
  cacheSize?: number;
  /** Most requests in flight at once (http_auth_pool_size). Default 8. */
  poolSize?: number;
  /** Most questions waiting for a free request; beyond, the answer is deny (http_auth_queue_size). Default 10000. */
  queueSize?: number;
  /** Also ask the hook for publish and subscribe decisions (http_auth_acl). Default false. */
  authorize?: boolean;
}

/**
 * Authentication and authorization from files and services, declared: src/server.ts turns them
 * into hooks (src/auth). Global, or per listener with per_listener_settings.
 */
export interface SecurityOptions {
  /**
   * Clients without a user name may connect (allow_anonymous). Default: only on a loopback or
   * unix-socket listener, and only when no authentication source is configured (a configuration
   * file that sets up a listener makes it false, as Mosquitto 2).
   */
  allowAnonymous?: boolean;
  /** Mosquitto password file (password_file). */
  passwordFile?: string;
  /** Mosquitto ACL file (acl_file). */
  aclFile?: string;
  jwt?: JwtOptions;
  httpAuth?: HttpAuthOptions;
}

/** A listener as security sees it: where it listens (loopback or not), its TLS and its own settings. */
export interface ListenerSecurity {
  /** Address it binds; default 127.0.0.1. */
  host?: string;
  /** Unix socket path instead of a TCP port (socket_domain unix / listener 0 PATH). */
  path?: string;
  /** TLS on this listener (mqtts:// or wss://). */
  tls?: TlsOptions;
  /** Authentication and authorization of this listener (per_listener_settings true). */
  security?: SecurityOptions;
}

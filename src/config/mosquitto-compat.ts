/**
 * Mosquitto 2.0 directives that Cicada does not implement as such: accepted with a warning
 * (their purpose served otherwise), refused with what to use instead, or bridge directives (a
 * later issue). Read by directives.ts; the full list with statuses is in docs/configuration.md.
 */
import type { ConfigLine } from './directives.js';

/**
 * Mosquitto directives whose purpose Cicada already serves in its own way, accepted with a
 * warning saying so (docs/configuration.md lists them).
 */
const IGNORED: Record<string, string> = {
  autosave_interval: 'Cicada commits every change within milliseconds (persistence_commit_interval)',
  autosave_on_changes: 'Cicada commits every change within milliseconds (persistence_commit_interval)',
  allow_duplicate_messages: 'Cicada always delivers a message once per client, however many of its subscriptions match',
  websockets_log_level: 'a libwebsockets setting; Cicada logs refused WebSocket upgrades as warnings',
};

/** Mosquitto directives that cannot apply to Cicada: an error that says what to use instead. */
const NOT_APPLICABLE: Record<string, string> = {
  plugin: 'Mosquitto plugins are C libraries, which Cicada cannot load: use password_file, acl_file, jwt_* or http_auth_url (an HTTP service can do what an auth plugin does)',
  auth_plugin: 'Mosquitto plugins are C libraries, which Cicada cannot load: use password_file, acl_file, jwt_* or http_auth_url (an HTTP service can do what an auth plugin does)',
  global_plugin: 'Mosquitto plugins are C libraries, which Cicada cannot load: use password_file, acl_file, jwt_* or http_auth_url',
  auth_plugin_deny_special_chars: 'there are no plugins in Cicada (user names and client ids with + or # never match ACL patterns)',
  tls_engine: 'OpenSSL engines are not available: use certfile and keyfile',
  tls_engine_kpass_sha1: 'OpenSSL engines are not available: use certfile and keyfile',
  psk_hint: 'TLS-PSK listeners are not supported yet: use certificates (certfile, keyfile; cafile and require_certificate for client certificates)',
  psk_file: 'TLS-PSK listeners are not supported yet: use certificates (certfile, keyfile; cafile and require_certificate for client certificates)',
};

/** Bridge directives: the bridge is a later issue. */
const BRIDGE = new Set([
  'connection', 'address', 'addresses', 'topic', 'cleansession', 'local_cleansession', 'keepalive_interval', 'idle_timeout',
  'local_clientid', 'local_password', 'local_username', 'notifications', 'notifications_local_only', 'notification_topic',
  'remote_clientid', 'remote_password', 'remote_username', 'restart_timeout', 'round_robin', 'start_type', 'threshold',
  'try_private', 'clientid', 'username', 'password', 'bridge_alpn', 'bridge_attempt_unsubscribe', 'bridge_bind_address',
  'bridge_cafile', 'bridge_capath', 'bridge_certfile', 'bridge_identity', 'bridge_insecure', 'bridge_keyfile',
  'bridge_max_packet_size', 'bridge_outgoing_retain', 'bridge_protocol_version', 'bridge_psk', 'bridge_require_ocsp', 'bridge_tls_version',
]);

/**
 * A line whose name is none of Cicada's directives: a warning to keep (accepted Mosquitto
 * directive), or `fail` with why (not applicable, bridge, or a typo with a suggestion).
 */
export function unknownDirective(line: ConfigLine, directives: readonly string[], fail: (msg: string) => never): string | undefined {
  const name = line.name;
  const ignored = IGNORED[name];
  if (ignored !== undefined) {
    return `${line.file}:${line.line}: ${name}: accepted for Mosquitto compatibility, no effect: ${ignored}`;
  }
  const instead = NOT_APPLICABLE[name] ?? (name.startsWith('plugin_opt_') || name.startsWith('auth_opt_') ? NOT_APPLICABLE.plugin : undefined);
  if (instead !== undefined) fail(`not available in Cicada: ${instead}`);
  if (BRIDGE.has(name)) fail('bridges are not supported yet (a Mosquitto bridge directive)');
  const near = suggestion(name, directives);
  fail(near === undefined ? 'unknown directive' : `unknown directive (did you mean ${near}?)`);
}

/** The known directive closest to a misspelt one (edit distance at most 2, or a prefix of it). */
function suggestion(name: string, directives: readonly string[]): string | undefined {
  const known = [...directives, ...Object.keys(IGNORED), ...Object.keys(NOT_APPLICABLE), ...BRIDGE, 'include_dir'];
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance || (best === undefined && name.length >= 4 && candidate.startsWith(name))) {
      best = candidate;
      bestDistance = Math.min(distance, bestDistance);
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/**
 * Mosquitto's acl_file: who may publish (write), receive (read) and subscribe to what.
 *
 *   topic [read|write|readwrite|deny] TOPIC     rule of the section it is in: before any `user`
 *                                               line, the anonymous clients; after one, that user
 *   user USERNAME                               starts a user's section
 *   pattern [read|write|readwrite|deny] TOPIC   rule for every client; %c is its client id, %u
 *                                               its user name, substituted as they are (a client
 *                                               id `a/b` gets `devices/a/b/#` from `devices/%c/#`)
 *
 * The access defaults to readwrite. A client's rules are its section's plus every pattern (a
 * pattern with %u does not apply to a client without a user name, as in Mosquitto 2.0). As in
 * Mosquitto, a client whose client id or user name holds `+` or `#` is granted nothing by any
 * pattern (it could widen one). Deny rules never fail open: a matching `deny`, of the section or a
 * pattern (substituted as it is, so a wildcard in a value only widens it), wins over any grant.
 * Mosquitto 2.0 checks a user's grants before the deny patterns; Cicada's order is the safer one.
 * With no matching grant the answer is no.
 *
 * Reads are checked for every delivered message (see src/broker/channel.ts), so a SUBSCRIBE is
 * granted when some topic it matches is readable (it overlaps a read rule and does not lie within
 * a deny rule): `secret/#` with `topic deny secret/private` is granted and `secret/private` is
 * filtered out of the deliveries, as Mosquitto does. A shared subscription ($share/group/filter)
 * is checked by its filter.
 *
 * Rules are compiled per section into a topic index (src/topics SubscriptionIndex, with its match
 * cache), so a check costs one index lookup plus the client's patterns, not a scan of the file.
 */
import type { ClientInfo } from '../broker/options.js';
import { parseSharedFilter } from '../protocol/index.js';
import { isWildcardFilter, SubscriptionIndex, topicMatches } from '../topics/index.js';

type Access = 'read' | 'write' | 'readwrite' | 'deny';

interface Rule {
  access: Access;
  topic: string;
}

/** The rules of one section, with a topic index built on first use. */
class Section {
  readonly rules: Rule[] = [];
  private index: SubscriptionIndex<Rule, Rule> | undefined;

  /** Rules whose topic filter matches `topic`. */
  matching(topic: string): readonly Rule[] {
    let index = this.index;
    if (index === undefined) {
      index = this.index = new SubscriptionIndex<Rule, Rule>();
      for (const rule of this.rules) index.add(rule.topic, rule, rule);
    }
    return index.match(topic);
  }
}

/**
 * What the Acl keeps per connection: its patterns, substituted (`grants` false for a client that
 * could widen them), and its answers to publish checks by topic.
 */
interface ClientPatterns {
  rules: Rule[];
  grants: boolean;
  writes: Map<string, boolean>;
}

/** Most topics whose publish answer is kept per connection (then it starts again). */
const WRITE_CACHE_SIZE = 1024;

export class AclError extends Error {
  override readonly name = 'AclError';
}

const NO_RULES: readonly Rule[] = [];

export class Acl {
  private readonly anonymous = new Section();
  private readonly users = new Map<string, Section>();
  private readonly patterns: Rule[] = [];
  /** Keyed by the channel's ClientInfo object (one per connection); a reload makes a new Acl. */
  private readonly perClient = new WeakMap<ClientInfo, ClientPatterns>();

  /** Parse acl_file text; `file` is used in error messages. */
  static parse(text: string, file: string): Acl {
    const acl = new Acl();
    let section = acl.anonymous;
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (line === '' || line.startsWith('#')) continue;
      const fail = (msg: string): never => {
        throw new AclError(`${file}:${i + 1}: ${msg}`);
      };
      const match = /^(\S+)\s*(.*)$/.exec(line) as RegExpExecArray;
      const keyword = match[1] as string;
      const rest = (match[2] as string).trim();
      if (keyword === 'user') {
        if (rest === '') fail('user: expects a user name');
        section = acl.users.get(rest) ?? new Section();
        acl.users.set(rest, section);
      } else if (keyword === 'topic' || keyword === 'pattern') {
        const rule = parseRule(rest) ?? fail(`${keyword}: expects [read|write|readwrite|deny] TOPIC`);
        (keyword === 'topic' ? section.rules : acl.patterns).push(rule);
      } else fail(`${keyword}: unknown keyword (expected topic, user or pattern)`);
    }
    return acl;
  }

  /** May the client publish to this topic? (Answers kept per connection: a publisher repeats topics.) */
  canWrite(client: ClientInfo, topic: string): boolean {
    const writes = this.patternsFor(client).writes;
    let allowed = writes.get(topic);
    if (allowed === undefined) {
      allowed = this.decideTopic(client, topic, 'write');
      if (writes.size >= WRITE_CACHE_SIZE) writes.clear();
      writes.set(topic, allowed);
    }
    return allowed;
  }

  /** May the client receive a message of this topic? */
  canRead(client: ClientInfo, topic: string): boolean {
    return this.decideTopic(client, topic, 'read');
  }

  /** May the client subscribe to this filter: can any topic it matches be read (file comment)? */
  canSubscribe(client: ClientInfo, filter: string): boolean {
    const plain = parseSharedFilter(filter)?.filter ?? filter;
    // A filter without wildcards matches one topic: the same answer as reading it (indexed).
    if (!isWildcardFilter(plain)) return this.decideTopic(client, plain, 'read');
    const patterns = this.patternsFor(client);
    const own = this.sectionOf(client)?.rules ?? NO_RULES;
    let granted = false;
    for (const rules of [own, patterns.rules]) {
      for (const rule of rules) {
        if (rule.access === 'deny') {
          if (filterWithin(plain, rule.topic)) return false;
        } else if (rule.access !== 'write' && (rules === own || patterns.grants) && filtersOverlap(rule.topic, plain)) granted = true;
      }
    }
    return granted;
  }

  private sectionOf(client: ClientInfo): Section | undefined {
    return client.username === undefined ? this.anonymous : this.users.get(client.username);
  }

  private decideTopic(client: ClientInfo, topic: string, access: 'read' | 'write'): boolean {
    let granted = false;
    const own = this.sectionOf(client)?.matching(topic) ?? NO_RULES;
    for (const rule of own) {
      if (rule.access === 'deny') return false;
      if (rule.access === access || rule.access === 'readwrite') granted = true;
    }
    const patterns = this.patternsFor(client);
    for (const rule of patterns.rules) {
      if (!topicMatches(rule.topic, topic)) continue;
      if (rule.access === 'deny') return false;
      if (patterns.grants && (rule.access === access || rule.access === 'readwrite')) granted = true;
    }
    return granted;
  }

  /** A client's patterns, substituted once per connection, and its publish answers. */
  private patternsFor(client: ClientInfo): ClientPatterns {
    let patterns = this.perClient.get(client);
    if (patterns !== undefined) return patterns;
    // [Mosquitto] an id or user name with + or # is denied by every pattern (it could widen them).
    const grants = !WILDCARD.test(client.clientId) && !WILDCARD.test(client.username ?? '');
    const rules: Rule[] = [];
    for (const pattern of this.patterns) {
      const topic = substitute(pattern.topic, client);
      if (topic !== undefined) rules.push({ access: pattern.access, topic });
    }
    patterns = { rules, grants, writes: new Map() };
    this.perClient.set(client, patterns);
    return patterns;
  }
}

const WILDCARD = /[+#]/;

function parseRule(rest: string): Rule | undefined {
  const match = /^(read|write|readwrite|deny)\s+(.+)$/.exec(rest);
  if (match !== null) return { access: match[1] as Access, topic: (match[2] as string).trim() };
  if (rest === '' || /^(read|write|readwrite|deny)$/.test(rest)) return undefined;
  return { access: 'readwrite', topic: rest };
}

/** %c and %u substituted as they are (Mosquitto 2.0); undefined for %u without a user name. */
function substitute(pattern: string, client: ClientInfo): string | undefined {
  let missing = false;
  const topic = pattern.replace(/%([cu])/g, (_m, which: string) => {
    const value = which === 'c' ? client.clientId : client.username;
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing ? undefined : topic;
}

/** Does every topic `filter` matches also match `rule`? ($ topics need a literal first level.) */
export function filterWithin(filter: string, rule: string): boolean {
  const f = filter.split('/');
  const r = rule.split('/');
  for (let i = 0; i < f.length; i++) {
    const rl = r[i];
    const fl = f[i] as string;
    if (rl === undefined) return false;
    if (rl === '#') return !(i === 0 && fl.startsWith('$'));
    if (rl === '+') {
      if (fl === '#' || (i === 0 && fl.startsWith('$'))) return false;
      continue;
    }
    if (rl !== fl) return false;
  }
  // `a/#` also matches `a`: the filter `a` is within `a/#`.
  return f.length === r.length || (r.length === f.length + 1 && r[f.length] === '#');
}

/** Can some topic match both filters? */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; ; i++) {
    const xl = x[i];
    const yl = y[i];
    if (xl === '#' || yl === '#') {
      // A root wildcard never matches a $ topic.
      const other = xl === '#' ? yl : xl;
      return !(i === 0 && other !== undefined && other.startsWith('$'));
    }
    if (xl === undefined || yl === undefined) return xl === yl;
    if (xl === '+' || yl === '+') {
      const other = xl === '+' ? yl : xl;
      if (i === 0 && other.startsWith('$')) return false;
      continue;
    }
    if (xl !== yl) return false;
  }
}

/**
 * Mosquitto's acl_file: who may publish (write), receive (read) and subscribe to what.
 *
 *   topic [read|write|readwrite|deny] TOPIC     rule of the section it is in: before any `user`
 *                                               line, the anonymous clients; after one, that user
 *   user USERNAME                               starts a user's section
 *   pattern [read|write|readwrite|deny] TOPIC   rule for every client; %c is its client id, %u
 *                                               its user name (a value holding +, # or / makes
 *                                               the pattern not apply, so no one can widen it)
 *
 * The access defaults to readwrite. A client's rules are its section's plus every pattern; as in
 * Mosquitto, a matching `deny` wins over any grant, and with no matching grant the answer is no.
 *
 * Subscriptions: Mosquitto 2 checks every delivered message against `read`; Cicada's core checks
 * reads of retained messages only, so a SUBSCRIBE is checked strictly instead: the filter must
 * lie inside one read rule (every topic it can match is readable) and overlap no deny rule. A
 * shared subscription ($share/group/filter) is checked by its filter.
 */
import type { ClientInfo } from '../broker/options.js';
import { parseSharedFilter } from '../protocol/index.js';
import { topicMatches } from '../topics/index.js';

type Access = 'read' | 'write' | 'readwrite' | 'deny';

interface Rule {
  access: Access;
  topic: string;
}

export class AclError extends Error {
  override readonly name = 'AclError';
}

export class Acl {
  private readonly anonymous: Rule[] = [];
  private readonly users = new Map<string, Rule[]>();
  private readonly patterns: Rule[] = [];
  /** Keyed by the channel's ClientInfo object (one per connection); a reload makes a new Acl. */
  private readonly perClient = new WeakMap<ClientInfo, Rule[]>();

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
        section = acl.users.get(rest) ?? [];
        acl.users.set(rest, section);
      } else if (keyword === 'topic' || keyword === 'pattern') {
        const rule = parseRule(rest) ?? fail(`${keyword}: expects [read|write|readwrite|deny] TOPIC`);
        (keyword === 'topic' ? section : acl.patterns).push(rule);
      } else fail(`${keyword}: unknown keyword (expected topic, user or pattern)`);
    }
    return acl;
  }

  /** May the client publish to this topic? */
  canWrite(client: ClientInfo, topic: string): boolean {
    return this.decide(client, (rule) => topicMatches(rule, topic), (rule) => topicMatches(rule, topic), 'write');
  }

  /** May the client receive a message of this topic? */
  canRead(client: ClientInfo, topic: string): boolean {
    return this.decide(client, (rule) => topicMatches(rule, topic), (rule) => topicMatches(rule, topic), 'read');
  }

  /** May the client subscribe to this filter (see the file comment)? */
  canSubscribe(client: ClientInfo, filter: string): boolean {
    const plain = parseSharedFilter(filter)?.filter ?? filter;
    return this.decide(client, (rule) => filtersOverlap(rule, plain), (rule) => filterWithin(plain, rule), 'read');
  }

  /** A client's rules (its section plus the expanded patterns), built once per connection. */
  private rulesFor(client: ClientInfo): Rule[] {
    let rules = this.perClient.get(client);
    if (rules !== undefined) return rules;
    const own = client.username === undefined ? this.anonymous : (this.users.get(client.username) ?? []);
    rules = [...own];
    for (const pattern of this.patterns) {
      const topic = expand(pattern.topic, client);
      if (topic !== undefined) rules.push({ access: pattern.access, topic });
    }
    this.perClient.set(client, rules);
    return rules;
  }

  private decide(client: ClientInfo, denies: (rule: string) => boolean, grants: (rule: string) => boolean, access: 'read' | 'write'): boolean {
    const rules = this.rulesFor(client);
    for (const rule of rules) if (rule.access === 'deny' && denies(rule.topic)) return false;
    for (const rule of rules) {
      if ((rule.access === access || rule.access === 'readwrite') && grants(rule.topic)) return true;
    }
    return false;
  }
}

function parseRule(rest: string): Rule | undefined {
  const match = /^(read|write|readwrite|deny)\s+(.+)$/.exec(rest);
  if (match !== null) return { access: match[1] as Access, topic: (match[2] as string).trim() };
  if (rest === '' || /^(read|write|readwrite|deny)$/.test(rest)) return undefined;
  return { access: 'readwrite', topic: rest };
}

/** %c and %u substituted; undefined when a value is missing or could widen the pattern. */
function expand(pattern: string, client: ClientInfo): string | undefined {
  let ok = true;
  const topic = pattern.replace(/%([cu])/g, (_m, which: string) => {
    const value = which === 'c' ? client.clientId : client.username;
    if (value === undefined || value === '' || /[+#/]/.test(value)) ok = false;
    return value ?? '';
  });
  return ok ? topic : undefined;
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

/**
 * The counters of rules, actions and sinks as one snapshot (for the admin facade and /metrics)
 * and as `$SYS` topics, published retained every `sys_interval` like the broker's own, only the
 * values that changed:
 *
 *   $SYS/broker/rules/RULE/matched|passed|failed|skipped_loop
 *   $SYS/broker/rules/RULE/actions/N/success|failed|retried|dropped    (N: 1-based position)
 *   $SYS/broker/sinks/SINK/status|queued|success|failed|retried|dropped
 */
import type { RuleEngine } from './engine.js';
import type { RepublishTarget } from './republish.js';
import type { SinkStatus } from './sink.js';
import type { ActionCounters, RuleCounters } from './counters.js';

export interface RulesSnapshot {
  rules: Array<{ name: string; sql: string; counters: RuleCounters; actions: Array<{ label: string; counters: ActionCounters }> }>;
  sinks: Array<{ name: string; type: string; status: SinkStatus; queued: number; success: number; failed: number; retried: number; dropped: number; lastError: string | undefined }>;
}

export function snapshot(engine: RuleEngine): RulesSnapshot {
  return {
    rules: engine.compiled.rules.map((r) => ({
      name: r.name,
      sql: r.sqlText,
      counters: { ...r.counters },
      actions: r.actions.map((a, i) => ({ label: a.label, counters: { ...(r.actionCounters[i] as ActionCounters) } })),
    })),
    sinks: [...engine.sinks.values()].map((s) => ({ name: s.name, type: s.type, status: s.status, queued: s.queued, ...s.counters, lastError: s.lastError })),
  };
}

/** Every $SYS topic of the rules and its current value. */
export function sysValues(s: RulesSnapshot): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const rule of s.rules) {
    const base = `$SYS/broker/rules/${rule.name}`;
    out.push([`${base}/matched`, String(rule.counters.matched)], [`${base}/passed`, String(rule.counters.passed)]);
    out.push([`${base}/failed`, String(rule.counters.failed)], [`${base}/skipped_loop`, String(rule.counters.skippedLoop)]);
    rule.actions.forEach((action, i) => {
      for (const key of ['success', 'failed', 'retried', 'dropped'] as const) out.push([`${base}/actions/${i + 1}/${key}`, String(action.counters[key])]);
    });
  }
  for (const sink of s.sinks) {
    const base = `$SYS/broker/sinks/${sink.name}`;
    out.push([`${base}/status`, sink.status], [`${base}/queued`, String(sink.queued)]);
    for (const key of ['success', 'failed', 'retried', 'dropped'] as const) out.push([`${base}/${key}`, String(sink[key])]);
  }
  return out;
}

/** Publishes the changed values every `intervalSeconds` (0: never). */
export class RulesSys {
  private readonly last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: RuleEngine,
    private readonly target: RepublishTarget,
  ) {}

  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0) return;
    this.publishChanged();
    this.timer = setInterval(() => this.publishChanged(), Math.min(intervalSeconds, 86_400) * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  publishChanged(): void {
    for (const [topic, value] of sysValues(snapshot(this.engine))) {
      if (this.last.get(topic) === value) continue;
      this.last.set(topic, value);
      this.target.publish({ topic, payload: value, qos: 0, retain: true });
    }
  }
}

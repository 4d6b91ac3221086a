/** Shared pieces of the rule engine's tests: rules from configuration text, counters. */
import type { RulesDeclaration } from '../../src/broker/options.js';
import { parseConfig } from '../../src/config/config-file.js';
import type { Broker } from '../../src/index.js';
import type { RunningRules, RulesSnapshot } from '../../src/rules/index.js';

/** The rule declarations of configuration lines (as a broker reads them). */
export function rulesFrom(lines: string[]): RulesDeclaration {
  const declared = parseConfig(`${lines.join('\n')}\n`, '/test/rules.conf').rules;
  if (declared === undefined) throw new Error('no rules declared');
  return declared;
}

/** The rule engine's counters of a running Cicada broker. */
export function rulesOf(broker: Broker | undefined): RulesSnapshot {
  const rules = (broker as unknown as { rules: RunningRules | undefined } | undefined)?.rules;
  if (rules === undefined) throw new Error('the broker runs no rules');
  return rules.snapshot();
}

export function ruleCounters(broker: Broker | undefined, name: string): RulesSnapshot['rules'][number] {
  const rule = rulesOf(broker).rules.find((r) => r.name === name);
  if (rule === undefined) throw new Error(`no rule ${name}`);
  return rule;
}

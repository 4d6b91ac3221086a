/**
 * The rule engine and sinks (issue 18): SQL rules over messages and events, republish and
 * sinks with bounded buffers and honest status. See docs/rules.md.
 */
import type { Broker } from '../broker/api.js';
import type { Logger } from '../broker/logger.js';
import type { RulesDeclaration } from '../broker/options.js';
import { attachRules } from './attach.js';
import { compileRules, openSinks } from './compile.js';
import { RuleEngine } from './engine.js';
import { RulesSys, snapshot, type RulesSnapshot } from './stats.js';

export { compileRules, RulesConfigError } from './compile.js';
export { RuleEngine } from './engine.js';
export type { RulesSnapshot } from './stats.js';

export interface RunningRules {
  readonly engine: RuleEngine;
  snapshot(): RulesSnapshot;
  close(): Promise<void>;
}

/** Compile the declarations, open the sinks (lazily) and attach the engine to the broker. */
export function startRules(broker: Broker, declaration: RulesDeclaration, log: Logger, sysIntervalSeconds: number): RunningRules {
  const compiled = compileRules(declaration);
  const rulesLog = log.child({ component: 'rules' });
  const engine = new RuleEngine(compiled, openSinks(compiled, rulesLog), broker, rulesLog);
  const detach = attachRules(broker, engine);
  const sys = new RulesSys(engine, broker);
  sys.start(sysIntervalSeconds);
  return {
    engine,
    snapshot: () => snapshot(engine),
    async close() {
      detach();
      sys.stop();
      await engine.close();
    },
  };
}

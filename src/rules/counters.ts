/** The counters of rules and actions, as EMQX names them (see docs/rules.md). */

export interface RuleCounters {
  /** Messages or events whose topic or event name matched FROM. */
  matched: number;
  /** Of those, the ones WHERE let through (at least one output row). */
  passed: number;
  /** Evaluation errors (a function given a wrong argument, ...). */
  failed: number;
  /** Messages not run because this rule republished them (directly or through others): loops. */
  skippedLoop: number;
}

export interface ActionCounters {
  /** Outputs handed to the action that reached their destination. */
  success: number;
  /** Outputs refused for good (a bad rendered topic, a webhook 4xx, a rejected row). */
  failed: number;
  /** Write attempts repeated after a transient error (5xx, time-out, connection lost). */
  retried: number;
  /** Outputs lost because the sink's buffer was full. */
  dropped: number;
}

export function ruleCounters(): RuleCounters {
  return { matched: 0, passed: 0, failed: 0, skippedLoop: 0 };
}

export function actionCounters(): ActionCounters {
  return { success: 0, failed: 0, retried: 0, dropped: 0 };
}

/**
 * Errors of the rule engine. A RuleSyntaxError names the 1-based column of the SQL or template
 * text it refuses; the configuration reader adds the file and line. A RuleEvalError is what a
 * rule's evaluation may throw (a function given a wrong argument): the rule counts it as
 * `failed` for that message and goes on.
 */
export class RuleSyntaxError extends Error {
  override readonly name = 'RuleSyntaxError';
  constructor(
    readonly reason: string,
    /** 1-based column in the text given to the parser. */
    readonly column: number,
  ) {
    super(`column ${column}: ${reason}`);
  }
}

export class RuleEvalError extends Error {
  override readonly name = 'RuleEvalError';
}

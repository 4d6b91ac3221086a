/** The syntax tree of a rule's SQL, as the parser builds it and the evaluator walks it. */

/** What an expression evaluates to: JSON values, plus undefined (a path that leads nowhere). */
export type Value = string | number | boolean | null | undefined | Value[] | { [key: string]: Value };

export type BinaryOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '+' | '-' | '*' | '/' | 'DIV' | 'MOD' | 'AND' | 'OR';

export type Expr =
  | { kind: 'literal'; value: Value }
  /** `payload.a.b[0]`: a root name, then keys and 0-based indexes. */
  | { kind: 'path'; root: string; steps: Array<string | number> }
  | { kind: 'call'; name: string; args: Expr[]; column: number }
  | { kind: 'negate'; arg: Expr }
  | { kind: 'not'; arg: Expr }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr }
  | { kind: 'in'; arg: Expr; list: Expr[]; negated: boolean }
  | { kind: 'case'; whens: Array<[Expr, Expr]>; otherwise: Expr | undefined };

/** One item of a SELECT or DO list: `*`, or an expression and the key it is stored under. */
export type Field = { kind: 'all' } | { kind: 'expr'; expr: Expr; name: string[] };

export type Source = { kind: 'topic'; filter: string; column: number } | { kind: 'event'; event: RuleEvent; column: number };

/** The event sources, as EMQX names them (`FROM "$events/client_connected"`). */
export const RULE_EVENTS = [
  'client_connected',
  'client_disconnected',
  'client_connack',
  'client_check_authz_complete',
  'session_subscribed',
  'session_unsubscribed',
  'message_delivered',
  'message_acked',
  'message_dropped',
  'delivery_dropped',
] as const;
export type RuleEvent = (typeof RULE_EVENTS)[number];

export interface Foreach {
  /** The array to iterate; each element is bound to `alias` (default `item`). */
  expr: Expr;
  alias: string;
  /** The fields of each output row; empty: the element itself. */
  fields: Field[];
  incase: Expr | undefined;
}

export interface RuleSql {
  /** SELECT's fields (empty for FOREACH). */
  fields: Field[];
  foreach: Foreach | undefined;
  from: Source[];
  where: Expr | undefined;
}

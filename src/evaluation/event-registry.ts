import type { EventOf, EventTypeOf, RuleSetName } from '../rules/rule-file.schema.js'
import type { LoadedRule } from '../rules/rule.js'

/**
 * Event handlers, registered by event type. Each stage declares one handler per event type of
 * its rule set's catalogue (`rules/rule-file.schema.ts`); the mapped types below make the
 * compiler refuse a catalogue event without a handler, and give each handler its event's params
 * typed. A new event type is one catalogue entry plus one handler in its stage; a new rule set
 * (tax, dunning, renewals) is a catalogue, a stage file with its handlers, and one call in
 * evaluate.ts — no other stage changes.
 */

/** A handler per event type of set S, each called with its own event (params typed) and the stage's arguments. */
export type EventHandlers<S extends RuleSetName, Args extends unknown[], Result = void> = {
  [T in EventTypeOf<S>]: (event: EventOf<T>, ...args: Args) => Result
}

/** Calls the handler registered for the rule's event type. */
export function dispatch<S extends RuleSetName, Args extends unknown[], Result>(
  handlers: EventHandlers<S, Args, Result>,
  rule: LoadedRule,
  ...args: Args
): Result {
  const handle = handlers[rule.event.type as EventTypeOf<S>] as ((event: LoadedRule['event'], ...args: Args) => Result) | undefined
  // Rule files are validated against the set's catalogue at load, so this is a rule in the wrong set.
  if (!handle) throw new Error(`rule ${rule.id}: no ${rule.set} handler for event ${rule.event.type}`)
  return handle(rule.event, ...args)
}

import { AppError } from '../errors.js'

/**
 * A state machine as data: for each state, the actions it allows and the state each leads to
 * (`{ from: { action: to } }`). Quotes use it today; contracts, orders, invoices and payments
 * are meant to reuse it. What must always happen on a transition — whichever use case causes
 * it — lives in entry and exit hooks, not at the call sites: leaving `pending_approval`
 * withdraws the open approval request however the quote leaves it.
 */
export type Transitions<S extends string, A extends string> = { readonly [F in S]: { readonly [K in A]?: S } }

export type Hook<S extends string, A extends string, C> = (context: C, change: { from: S; to: S; action: A }) => Promise<void>

export interface StateMachine<S extends string, A extends string, C> {
  /** What the states belong to, for messages ("quote"). */
  readonly entity: string
  readonly transitions: Transitions<S, A>
  /** Run, in the transition's transaction, before a state is left. */
  readonly onExit?: { readonly [F in S]?: Hook<S, A, C> }
  /** Run, in the transition's transaction, after a state is entered. */
  readonly onEntry?: { readonly [T in S]?: Hook<S, A, C> }
}

/** The state an action leads to from `from`, or undefined when the action is not allowed there. */
export function targetOf<S extends string, A extends string>(transitions: Transitions<S, A>, from: S, action: A): S | undefined {
  const allowed = transitions[from]
  return Object.hasOwn(allowed, action) ? allowed[action] : undefined
}

/** The actions a state allows, in table order. */
export function actionsFrom<S extends string, A extends string>(transitions: Transitions<S, A>, from: S): A[] {
  return Object.keys(transitions[from]) as A[]
}

/**
 * The guard of every transition: the state `action` leads to from `from`, or 409
 * INVALID_STATE_TRANSITION naming the state, the action, where it would lead elsewhere and
 * what the state allows.
 */
export function assertTransition<S extends string, A extends string>(
  machine: Pick<StateMachine<S, A, unknown>, 'entity' | 'transitions'>,
  from: S,
  action: A,
): S {
  const to = targetOf(machine.transitions, from, action)
  if (to !== undefined) return to
  // Where the action leads from the states that allow it, so the refusal names both states.
  const elsewhere = (Object.keys(machine.transitions) as S[]).map((s) => targetOf(machine.transitions, s, action)).find((s) => s !== undefined)
  const allowed = actionsFrom(machine.transitions, from)
  throw new AppError(
    'INVALID_STATE_TRANSITION',
    `Cannot ${action} a ${machine.entity} that is ${from}${elsewhere ? ` (it cannot become ${elsewhere})` : ''}; ${allowed.length ? `it allows: ${allowed.join(', ')}` : 'it is final'}.`,
    { from, ...(elsewhere ? { to: elsewhere } : {}), action, allowed },
  )
}

/**
 * Runs one transition: the guard, the exit hooks of the state left, `write` (which persists
 * the new state and returns the result), then the entry hooks of the state entered — all in
 * the caller's transaction.
 */
export async function runTransition<S extends string, A extends string, C, T>(
  machine: StateMachine<S, A, C>,
  context: C,
  from: S,
  action: A,
  write: (to: S) => Promise<T>,
): Promise<T> {
  const to = assertTransition(machine, from, action)
  const change = { from, to, action }
  await machine.onExit?.[from]?.(context, change)
  const result = await write(to)
  await machine.onEntry?.[to]?.(context, change)
  return result
}

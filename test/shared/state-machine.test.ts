import t from 'tap'
import { AppError } from '../../src/errors.js'
import { actionsFrom, assertTransition, runTransition, targetOf, type StateMachine } from '../../src/shared/state-machine.js'

type S = 'open' | 'held' | 'closed'
type A = 'hold' | 'release' | 'close'

function machine(): StateMachine<S, A, string[]> {
  return {
    entity: 'ticket',
    transitions: { open: { hold: 'held', close: 'closed' }, held: { release: 'open', close: 'closed' }, closed: {} },
    onExit: { held: async (ctx, { from, to, action }) => void ctx.push(`exit ${from} → ${to} by ${action}`) },
    onEntry: { closed: async (ctx, { from }) => void ctx.push(`enter closed from ${from}`) },
  }
}

t.test('the table decides: targets, allowed actions, and own names only', async (t) => {
  const m = machine()
  t.equal(targetOf(m.transitions, 'open', 'hold'), 'held')
  t.equal(targetOf(m.transitions, 'open', 'release'), undefined)
  t.equal(targetOf(m.transitions, 'open', 'toString' as A), undefined, 'an inherited name is no action')
  t.same(actionsFrom(m.transitions, 'held'), ['release', 'close'])
})

t.test('a refused action is a 409 naming the state, the action, where it leads elsewhere and what is allowed', async (t) => {
  const m = machine()
  const error = (() => {
    try {
      assertTransition(m, 'open', 'release')
    } catch (e) {
      return e
    }
  })() as AppError
  t.ok(error instanceof AppError)
  t.equal(error.code, 'INVALID_STATE_TRANSITION')
  t.equal(error.message, 'Cannot release a ticket that is open (it cannot become open); it allows: hold, close.')
  t.same(error.details, { from: 'open', to: 'open', action: 'release', allowed: ['hold', 'close'] })
  t.throws(() => assertTransition(m, 'closed', 'close'), { message: 'Cannot close a ticket that is closed (it cannot become closed); it is final.' })
})

t.test('hooks run around the write, in order, whichever action causes the transition', async (t) => {
  const log: string[] = []
  const m = machine()
  const result = await runTransition(m, log, 'held', 'close', async (to) => {
    log.push(`write ${to}`)
    return to
  })
  t.equal(result, 'closed')
  t.same(log, ['exit held → closed by close', 'write closed', 'enter closed from held'])
  log.length = 0
  await runTransition(m, log, 'held', 'release', async (to) => void log.push(`write ${to}`))
  t.same(log, ['exit held → open by release', 'write open'], 'the exit hook runs for every way out')
  log.length = 0
  await t.rejects(
    runTransition(m, log, 'closed', 'release', async () => log.push('write')),
    { code: 'INVALID_STATE_TRANSITION' },
  )
  t.same(log, [], 'a refused transition runs no hook and writes nothing')
})

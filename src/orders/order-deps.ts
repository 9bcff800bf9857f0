import type { Transaction } from 'kysely'
import type { Db } from '../db/database.js'
import type { Database } from '../db/schema.js'
import type { Clock } from '../shared/clock.js'

export type Trx = Transaction<Database>

/** What the order use cases run with, built once at start-up. */
export interface OrderDeps {
  db: Db
  clock: Clock
}

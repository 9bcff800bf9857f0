import type { Logger } from 'pino'
import type { Db } from '../db/database.js'
import { AppError } from '../errors.js'
import type { Clock } from '../shared/clock.js'
import { formatLoadError, type LoadError } from './load-error.js'
import { buildRuleSet, loadRuleSet, type RuleEngineKind, type RuleSet } from './rule-set.js'
import * as repo from './rule-set.repository.js'

const MAX_HISTORICAL_SETS = 16

export interface RuleSetSummary {
  ruleSetHash: string
  priceBookHash: string
  files: RuleSet['files']
  ruleCounts: Record<string, number>
  products: number
  priceBooks: string[]
}

export function summarize(ruleSet: RuleSet): RuleSetSummary {
  return {
    ruleSetHash: ruleSet.hash,
    priceBookHash: ruleSet.priceBookHash,
    files: ruleSet.files,
    ruleCounts: Object.fromEntries(Object.entries(ruleSet.bySet).map(([set, rules]) => [set, rules.length])),
    products: ruleSet.priceBooks.catalog.products.size,
    priceBooks: ruleSet.priceBooks.books.map((b) => b.id),
  }
}

/**
 * Holds the rule set that serves, and swaps it atomically. A reload builds a complete new
 * set first; only a set with no errors replaces the current one, so a bad edit never goes
 * live and requests in flight keep the set they started with (they hold a reference).
 */
export class RuleSetRegistry {
  private current: RuleSet | undefined
  /** Sets loaded again from the database for replay, by "rules hash/price-book hash". */
  private readonly historical = new Map<string, RuleSet>()

  constructor(
    private readonly deps: { db: Db; clock: Clock; log: Logger; rulesDir: string; priceBooksDir: string; engine?: RuleEngineKind },
  ) {}

  /** The serving set; 503 until one is loaded. */
  get(): RuleSet {
    if (!this.current) throw new AppError('NOT_READY', 'No rule set is loaded; see the service log for the rule file errors.')
    return this.current
  }

  isLoaded(): boolean {
    return this.current !== undefined
  }

  /**
   * Loads the files and, if valid, publishes and serves them. Returns the errors otherwise,
   * leaving the current set in place.
   */
  async reload(publishedBy: string | null): Promise<{ ruleSet?: RuleSet; errors: LoadError[]; changed: boolean }> {
    const { ruleSet, errors } = await loadRuleSet(this.deps.rulesDir, this.deps.priceBooksDir, { engine: this.deps.engine })
    if (!ruleSet) return { errors, changed: false }
    await repo.insertRuleSetVersion(this.deps.db, {
      ruleSetHash: ruleSet.hash, priceBookHash: ruleSet.priceBookHash, sources: ruleSet.sources, summary: summarize(ruleSet), publishedBy, now: this.deps.clock.now(),
    })
    const changed = this.current?.hash !== ruleSet.hash || this.current?.priceBookHash !== ruleSet.priceBookHash
    if (changed) {
      await repo.insertActivation(this.deps.db, { ruleSetHash: ruleSet.hash, priceBookHash: ruleSet.priceBookHash, activatedBy: publishedBy, now: this.deps.clock.now() })
      this.current = ruleSet
    }
    return { ruleSet: this.current, errors: [], changed }
  }

  /**
   * Start-up: serve the files if they are valid; otherwise fall back to the last published
   * set, so a bad edit on disk cannot take the service down after a restart.
   */
  async start(): Promise<void> {
    const { errors } = await this.reload(null)
    if (errors.length === 0) return
    this.deps.log.error({ errors: errors.slice(0, 50).map(formatLoadError) }, 'rule files are invalid; they are not served')
    const sources = await repo.findLastActiveRuleSetSources(this.deps.db)
    if (!sources) return
    const { ruleSet } = buildRuleSet(sources, { engine: this.deps.engine })
    if (ruleSet) {
      this.current = ruleSet
      this.deps.log.warn({ ruleSetHash: ruleSet.hash }, 'serving the last published rule set instead')
    }
  }

  /** A past set by its hashes (for replay), from memory or the database. */
  async find(ruleSetHash: string, priceBookHash: string): Promise<RuleSet | undefined> {
    if (this.current?.hash === ruleSetHash && this.current.priceBookHash === priceBookHash) return this.current
    const key = `${ruleSetHash}/${priceBookHash}`
    const cached = this.historical.get(key)
    if (cached) return cached
    const sources = await repo.findRuleSetSources(this.deps.db, ruleSetHash, priceBookHash)
    if (!sources) return undefined
    const { ruleSet } = buildRuleSet(sources, { engine: this.deps.engine })
    if (ruleSet) {
      // Replays cluster on recent sets: keep a few, drop the oldest beyond that.
      if (this.historical.size >= MAX_HISTORICAL_SETS) this.historical.delete(this.historical.keys().next().value!)
      this.historical.set(key, ruleSet)
    }
    return ruleSet
  }
}

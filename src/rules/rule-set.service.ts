import type { Logger } from 'pino'
import type { Db } from '../db/database.js'
import { AppError } from '../errors.js'
import type { Clock } from '../shared/clock.js'
import { formatLoadError, type LoadError } from '../shared/source-files.js'
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

/** What a rule set needs to load, publish and follow activations. */
export interface RuleSetRegistryDeps {
  db: Db
  clock: Clock
  log: Logger
  rulesDir: string
  priceBooksDir: string
  engine?: RuleEngineKind
}

/** The activated set this instance tried and failed to build (it keeps serving the one before). */
interface FailedActivation {
  id: bigint
  ruleSetHash: string
  errors: LoadError[]
}

/**
 * Holds the rule set that serves, and swaps it atomically. A reload builds a complete new
 * set first; only a set with no errors replaces the current one, so a bad edit never goes
 * live and requests in flight keep the set they started with (they hold a reference).
 *
 * Several instances share one database: the latest row of `rule_set_activations` is the set
 * they all serve. The instance that loads valid files (reload, or start-up) activates them;
 * every other instance notices the new activation on its next poll and switches to that set,
 * rebuilt from its stored sources, so prices agree within one poll interval.
 */
export class RuleSetRegistry {
  private current: RuleSet | undefined
  /** The activation the serving set answers to; the poll follows any newer one. */
  private activationId: bigint | null = null
  private failed: FailedActivation | undefined
  /** Sets loaded again from the database for replay, by "rules hash/price-book hash". */
  private readonly historical = new Map<string, RuleSet>()
  /** Reloads and polls run one at a time, so a poll never swaps in a set between a reload's activation and its swap. */
  private queue: Promise<unknown> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private tick: Promise<void> | undefined
  private following = false
  private pollFailing = false

  constructor(private readonly deps: RuleSetRegistryDeps) {}

  /** The serving set; 503 until one is loaded. */
  get(): RuleSet {
    if (!this.current) throw new AppError('NOT_READY', 'No rule set is loaded; see the service log for the rule file errors.')
    return this.current
  }

  isLoaded(): boolean {
    return this.current !== undefined
  }

  /** Why this instance should not take traffic, or null: no set at all, or the activated set cannot be built here. */
  problem(): string | null {
    if (!this.current) return 'no valid rule set loaded'
    if (this.failed)
      return `cannot serve the activated rule set ${this.failed.ruleSetHash} (${this.failed.errors.length} error(s), see the log); still serving ${this.current.hash}`
    return null
  }

  /**
   * Loads the files and, if valid, publishes, activates and serves them. Returns the errors
   * otherwise, leaving the current set in place. Never throws for a problem in the files;
   * a database failure does throw (it is not the files' fault, and nothing was changed).
   */
  reload(publishedBy: string | null): Promise<{ ruleSet?: RuleSet; errors: LoadError[]; changed: boolean }> {
    return this.exclusive(async () => {
      const { ruleSet, errors } = await this.loadFiles()
      if (!ruleSet) return { errors, changed: false }
      const { activationId, changed } = await this.activate(ruleSet, publishedBy)
      this.serve(ruleSet, activationId)
      return { ruleSet, errors: [], changed }
    })
  }

  /**
   * Start-up: serve the files if they are valid (activating them for every instance);
   * otherwise, whatever went wrong, fall back to the set last in service, so a bad edit on
   * disk cannot take the service down after a restart. Never throws: with nothing to serve,
   * the instance answers 503 until an activation appears or a reload succeeds.
   */
  async start(): Promise<void> {
    try {
      const { errors } = await this.reload(null)
      if (errors.length === 0) return
      this.deps.log.error({ errors: errors.slice(0, 50).map(formatLoadError) }, 'rule files are invalid; they are not served')
    } catch (error) {
      this.deps.log.error({ err: error }, 'the rule files could not be published; they are not served')
    }
    try {
      await this.exclusive(async () => {
        const latest = await repo.findLatestActivation(this.deps.db)
        if (!latest) return this.deps.log.error('no rule set has ever been in service: not ready until a valid set is reloaded')
        if (await this.switchTo(latest))
          this.deps.log.warn({ ruleSetHash: latest.ruleSetHash, priceBookHash: latest.priceBookHash }, 'serving the last rule set in service instead')
      })
    } catch (error) {
      this.deps.log.error({ err: error }, 'the last rule set in service could not be loaded')
    }
  }

  /**
   * Polls the activation table every `intervalMs` and serves any set activated elsewhere.
   * The poll is one primary-key lookup and logs only when something changes (a switch, a
   * failure, a recovery). Stop it with `stopFollowing()`.
   */
  follow(intervalMs: number): void {
    if (this.following) return
    this.following = true
    const schedule = () => {
      this.timer = setTimeout(() => {
        this.tick = this.exclusive(() => this.followLatest())
          .then(() => {
            if (this.pollFailing) this.deps.log.info('rule-set activations are readable again')
            this.pollFailing = false
          })
          .catch((error) => {
            if (!this.pollFailing) this.deps.log.warn({ err: error }, 'cannot read rule-set activations; retrying quietly')
            this.pollFailing = true
          })
          .finally(() => {
            if (this.following) schedule()
          })
      }, intervalMs)
      // The poll alone must not keep a process alive (a CLI, a test).
      this.timer.unref()
    }
    schedule()
  }

  /** Stops the poll and waits for one in progress, so the database can be closed after. */
  async stopFollowing(): Promise<void> {
    this.following = false
    clearTimeout(this.timer)
    await this.tick
  }

  /** A past set by its hashes (for replay), from memory or the database. */
  async find(ruleSetHash: string, priceBookHash: string): Promise<RuleSet | undefined> {
    return (await this.findStored(ruleSetHash, priceBookHash)).ruleSet
  }

  private async findStored(ruleSetHash: string, priceBookHash: string): Promise<{ ruleSet?: RuleSet; errors: LoadError[] }> {
    if (this.current?.hash === ruleSetHash && this.current.priceBookHash === priceBookHash) return { ruleSet: this.current, errors: [] }
    const key = `${ruleSetHash}/${priceBookHash}`
    const cached = this.historical.get(key)
    if (cached) return { ruleSet: cached, errors: [] }
    const sources = await repo.findRuleSetSources(this.deps.db, ruleSetHash, priceBookHash)
    if (!sources) return { errors: [{ file: '.', path: '', message: `rule set ${ruleSetHash}/${priceBookHash} is not stored` }] }
    const built = this.build(() => buildRuleSet(sources, { engine: this.deps.engine }))
    if (built.ruleSet) {
      // Replays cluster on recent sets: keep a few, drop the oldest beyond that.
      if (this.historical.size >= MAX_HISTORICAL_SETS) this.historical.delete(this.historical.keys().next().value!)
      this.historical.set(key, built.ruleSet)
    }
    return built
  }

  /** The poll's step: serve the latest activation if it is not the one served. */
  private async followLatest(): Promise<void> {
    const latest = await repo.findLatestActivation(this.deps.db)
    if (!latest || latest.id === this.activationId || latest.id === this.failed?.id) return
    if (this.current?.hash === latest.ruleSetHash && this.current.priceBookHash === latest.priceBookHash) {
      this.activationId = latest.id // activated again elsewhere: nothing to switch
      return
    }
    if (await this.switchTo(latest)) {
      this.deps.log.info(
        { ruleSetHash: latest.ruleSetHash, priceBookHash: latest.priceBookHash, activationId: String(latest.id) },
        'serving the rule set activated by another instance',
      )
    }
  }

  /** Serves an activated set, rebuilt from its stored sources; on failure keeps the current one and says so once. */
  private async switchTo(activation: repo.Activation): Promise<boolean> {
    const { ruleSet, errors } = await this.findStored(activation.ruleSetHash, activation.priceBookHash)
    if (!ruleSet) {
      this.failed = { id: activation.id, ruleSetHash: activation.ruleSetHash, errors }
      this.deps.log.error(
        { ruleSetHash: activation.ruleSetHash, errors: errors.slice(0, 50).map(formatLoadError) },
        'the activated rule set cannot be built here; the previous one keeps serving',
      )
      return false
    }
    this.serve(ruleSet, activation.id)
    return true
  }

  private serve(ruleSet: RuleSet, activationId: bigint): void {
    this.current = ruleSet
    this.activationId = activationId
    this.failed = undefined
  }

  /**
   * Publishes the set and activates it unless it is already the activated one. Race: two
   * instances reloading at once each compare with the latest activation and insert after it;
   * the table lock makes that compare-and-insert atomic, so each answer ("changed" or not)
   * is true when given, and the later activation is the one everybody ends up serving.
   */
  private async activate(ruleSet: RuleSet, publishedBy: string | null): Promise<{ activationId: bigint; changed: boolean }> {
    const now = this.deps.clock.now()
    return this.deps.db.transaction().execute(async (trx) => {
      await repo.insertRuleSetVersion(trx, {
        ruleSetHash: ruleSet.hash,
        priceBookHash: ruleSet.priceBookHash,
        sources: ruleSet.sources,
        summary: summarize(ruleSet),
        publishedBy,
        now,
      })
      await repo.lockActivations(trx)
      const latest = await repo.findLatestActivation(trx)
      if (latest && latest.ruleSetHash === ruleSet.hash && latest.priceBookHash === ruleSet.priceBookHash) return { activationId: latest.id, changed: false }
      const activationId = await repo.insertActivation(trx, { ruleSetHash: ruleSet.hash, priceBookHash: ruleSet.priceBookHash, activatedBy: publishedBy, now })
      return { activationId, changed: true }
    })
  }

  /** Reads and builds the files; an unexpected exception becomes an error to report, never a crash. */
  private async loadFiles(): Promise<{ ruleSet?: RuleSet; errors: LoadError[] }> {
    try {
      return await loadRuleSet(this.deps.rulesDir, this.deps.priceBooksDir, { engine: this.deps.engine })
    } catch (error) {
      this.deps.log.error({ err: error }, 'unexpected failure while loading the rule files')
      return { errors: [{ file: '.', path: '', message: `the rule files could not be loaded: ${messageOf(error)}` }] }
    }
  }

  private build(work: () => { ruleSet?: RuleSet; errors: LoadError[] }): { ruleSet?: RuleSet; errors: LoadError[] } {
    try {
      return work()
    } catch (error) {
      this.deps.log.error({ err: error }, 'unexpected failure while building a stored rule set')
      return { errors: [{ file: '.', path: '', message: `the stored rule set could not be built: ${messageOf(error)}` }] }
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work)
    this.queue = run.catch(() => undefined)
    return run
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error)
}

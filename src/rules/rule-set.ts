import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { buildPriceBooks, type PriceBooks } from '../catalog/catalog.js'
import { contentHash } from '../shared/hash.js'
import type { LoadError } from '../shared/source-files.js'
import { isDataFile, readFolder, ruleIdAt, type SourceFile } from './read-files.js'
import { CompiledRuleRunner } from './compiled-runner.js'
import { byPriority, JsonRulesEngineRunner, type RuleRunner } from './rule-runner.js'
import { RULE_SETS, ruleFileSchema, type RuleSetName } from './rule-file.schema.js'
import { staticChecks } from './static-checks.js'
import { valueChecks } from './value-checks.js'

import type { LoadedRule } from './rule.js'

export type { LoadedRule }

/** The sources a rule set is built from: enough to rebuild it anywhere, byte for byte. */
export interface RuleSetSources {
  rules: SourceFile[]
  priceBooks: SourceFile[]
}

/**
 * A loaded, checked, compiled rule set with the price books it was loaded with. It is a
 * value: identified by content hashes, never mutated; a reload builds a new one.
 */
export interface RuleSet {
  /** Content hash of the rule files (parsed, canonical JSON). */
  hash: string
  /** Content hash of the price-book files. */
  priceBookHash: string
  rules: LoadedRule[]
  bySet: Record<RuleSetName, LoadedRule[]>
  priceBooks: PriceBooks
  files: Array<{ file: string; set: RuleSetName; rules: number }>
  sources: RuleSetSources
  engine: RuleEngineKind
  /** The runner for one set and scope, holding only the rules effective on `date`; built once and cached. */
  runner(set: RuleSetName, scope: 'line' | 'quote', date: string): RuleRunner
}

const fileChecks = Object.fromEntries(RULE_SETS.map((set) => [set, TypeCompiler.Compile(ruleFileSchema(set))])) as Record<
  RuleSetName,
  TypeCheck<ReturnType<typeof ruleFileSchema>>
>

function setOf(file: string): RuleSetName | undefined {
  const folder = file.split('/')[0]
  return (RULE_SETS as readonly string[]).includes(folder ?? '') ? (folder as RuleSetName) : undefined
}

/**
 * Builds a rule set from parsed sources: schema validation of every file, then the static
 * checks. Pure, so the same sources always give the same set and hashes.
 */
/** Which runner evaluates conditions: the compiled one (default) or json-rules-engine, the reference. */
export type RuleEngineKind = 'compiled' | 'json-rules-engine'

export interface BuildOptions {
  staticChecks?: boolean
  engine?: RuleEngineKind
}

export function buildRuleSet(sources: RuleSetSources, options: BuildOptions = {}): { ruleSet?: RuleSet; errors: LoadError[] } {
  const { priceBooks, errors } = buildPriceBooks(sources.priceBooks)
  const rules: LoadedRule[] = []
  const files: RuleSet['files'] = []
  for (const { file, content } of sources.rules) {
    const set = setOf(file)
    if (!set) {
      errors.push({ file, path: '', message: `rule files live in a folder named after their set: ${RULE_SETS.join(', ')}` })
      continue
    }
    const check = fileChecks[set]
    if (!check.Check(content)) {
      for (const e of [...check.Errors(content)].slice(0, 50)) {
        const ruleId = ruleIdAt(content, e.path)
        errors.push({ file, ...(ruleId ? { ruleId } : {}), path: e.path, message: e.message })
      }
      continue
    }
    content.rules.forEach((rule, i) => rules.push({ ...rule, set, file, pointer: `/rules/${i}` }))
    files.push({ file, set, rules: content.rules.length })
  }
  if (!priceBooks) return { errors }
  if (options.staticChecks !== false) errors.push(...staticChecks(rules, priceBooks.catalog), ...rules.flatMap((r) => valueChecks(r, priceBooks)))
  if (errors.length > 0) return { errors }

  rules.sort((a, b) => RULE_SETS.indexOf(a.set) - RULE_SETS.indexOf(b.set) || byPriority(a, b))
  const bySet = Object.fromEntries(RULE_SETS.map((s) => [s, rules.filter((r) => r.set === s)])) as Record<RuleSetName, LoadedRule[]>
  const runners = new Map<string, RuleRunner>()
  // Two levels of cache: per (set, scope, date), the runner; the runner itself is shared by
  // every date on which the same rules are effective.
  const byDate = new Map<string, RuleRunner>()
  const ruleSet: RuleSet = {
    hash: contentHash(sources.rules.map((s) => ({ file: s.file, content: s.content }))),
    priceBookHash: priceBooks.hash,
    rules,
    bySet,
    priceBooks,
    files,
    sources,
    engine: options.engine ?? 'compiled',
    runner(set, scope, date) {
      const dateKey = `${set}|${scope}|${date}`
      const cached = byDate.get(dateKey)
      if (cached) return cached
      const effective = bySet[set].filter((r) => r.scope === scope && r.effective.from <= date && (!r.effective.to || date <= r.effective.to))
      const key = `${set}|${scope}|${effective.map((r) => r.id).join(',')}`
      let runner = runners.get(key)
      if (!runner) {
        runner = options.engine === 'json-rules-engine' ? new JsonRulesEngineRunner(effective) : new CompiledRuleRunner(effective)
        runners.set(key, runner)
      }
      if (byDate.size > 10_000) byDate.clear() // bounded: dates come from callers
      byDate.set(dateKey, runner)
      return runner
    },
  }
  return { ruleSet, errors: [] }
}

/** Reads the sources of a rule set from its folders (rule tests and schema files are skipped). */
export async function readRuleSetSources(rulesDir: string, priceBooksDir: string): Promise<{ sources: RuleSetSources; errors: LoadError[] }> {
  const rules = await readFolder(rulesDir, isDataFile)
  const books = await readFolder(priceBooksDir, isDataFile)
  return { sources: { rules: rules.sources, priceBooks: books.sources }, errors: [...rules.errors, ...books.errors] }
}

/** Loads, validates and checks the rule set in the given folders; all problems at once. */
export async function loadRuleSet(rulesDir: string, priceBooksDir: string, options: BuildOptions = {}): Promise<{ ruleSet?: RuleSet; errors: LoadError[] }> {
  const { sources, errors } = await readRuleSetSources(rulesDir, priceBooksDir)
  if (errors.length > 0) return { errors }
  return buildRuleSet(sources, options)
}

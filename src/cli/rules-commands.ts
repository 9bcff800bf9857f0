import { readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import { cartSchema } from '../evaluation/cart.schema.js'
import { CartError, evaluateQuote } from '../evaluation/evaluate.js'
import { renderEvaluation, type RenderedEvaluation } from '../evaluation/render.js'
import { generatedSchemas, schemaText } from './json-schemas.js'
import { formatLoadError, type LoadError } from '../shared/source-files.js'
import { RuleEvaluationError } from '../rules/rule-runner.js'
import { loadRuleSet } from '../rules/rule-set.js'
import { runRuleTests, untestedRules } from '../evaluation/rule-tests.js'

/** Exit codes shared by every command: 0 ok, 1 findings, 2 usage. */
export const EXIT = { ok: 0, findings: 1, usage: 2 } as const

interface DirOptions {
  priceBooks?: string
  json?: boolean
}

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)

function dirs(dir: string | undefined, options: DirOptions) {
  const rulesDir = resolve(dir ?? process.env.RULES_DIR ?? 'rules')
  const priceBooksDir = resolve(options.priceBooks ?? process.env.PRICE_BOOKS_DIR ?? join(rulesDir, '..', 'price-books'))
  return { rulesDir, priceBooksDir }
}

function reportErrors(errors: LoadError[], json: boolean | undefined): number {
  if (json) out(JSON.stringify({ ok: errors.length === 0, errors }))
  else if (errors.length === 0) out('ok')
  else out(`${errors.map(formatLoadError).join('\n')}\n${errors.length} error(s)`)
  return errors.length === 0 ? EXIT.ok : EXIT.findings
}

/** Reads a cart file; a missing or unparseable file is a finding naming the file, not a stack trace. */
async function readCart(file: string): Promise<{ content: unknown } | { problem: string }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    return { problem: `cannot read the file: ${error instanceof Error ? error.message : String(error)}` }
  }
  try {
    return { content: parseYaml(text, { schema: 'core' }) }
  } catch (error) {
    const line = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : ''
    return { problem: `not valid YAML/JSON${line}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` }
  }
}

function show(value: unknown): string {
  return JSON.stringify(value)
}

/** A readable account of an evaluation for a terminal: lines, adjustments, totals, decisions, fired rules. */
export function explainText(e: RenderedEvaluation): string {
  const rows: string[] = []
  rows.push(`price book ${e.priceBook.id} (${e.currency}) on ${e.date}, channel ${e.channel}`)
  rows.push(`rule set ${e.ruleSetHash.slice(0, 12)}, price books ${e.priceBookHash.slice(0, 12)}`)
  for (const issue of e.configuration.errors) rows.push(`ERROR   ${issue.ruleId ?? issue.code}: ${issue.message}`)
  for (const issue of e.configuration.warnings) rows.push(`warning ${issue.ruleId ?? issue.code}: ${issue.message}`)
  for (const a of e.configuration.added) rows.push(`added   ${a.quantity} × ${a.sku} by ${a.ruleId}: ${a.reason}`)
  rows.push('')
  for (const l of e.lines) {
    const term = l.termMonths ? `, ${l.termMonths} months (${l.periods} × ${l.billingPeriod})` : ''
    rows.push(`#${l.index} ${l.sku} × ${l.quantity}${term} [${l.source}]  list ${l.listAmount}`)
    for (const a of l.adjustments) rows.push(`     ${a.amount.padStart(12)}  ${a.ruleId ?? a.kind}: ${a.label}${a.percent ? ` (${a.percent} %)` : ''}`)
    for (const s of l.suppressed) rows.push(`     ${'—'.padStart(12)}  ${s.ruleId}: not applied, ${s.reason}`)
    rows.push(
      `     net ${l.netAmount} per ${l.billingPeriod ?? 'unit'}s, contract ${l.contractAmount}, discount ${l.discountPercent} %, margin ${l.marginPercent ?? '—'} %, ${l.guardrail.outcome}`,
    )
    for (const y of l.ramp ?? []) rows.push(`     year ${y.year}: ${y.periods} × ${y.amountPerPeriod} = ${y.amount}`)
    for (const b of l.guardrail.breaches) rows.push(`     ${b.outcome}: ${b.ruleId} ${b.reason}${b.actual ? ` (actual ${b.actual})` : ''}`)
  }
  const t = e.totals
  rows.push(
    '',
    `totals: list ${t.list}, standard ${t.standard}, discount ${t.discount}, ramp uplift ${t.rampUplift}, net ${t.net} (${t.discountPercent} % off standard, margin ${t.marginPercent} %)`,
  )
  rows.push(`guardrails: ${e.guardrails.outcome}${e.guardrails.breaches.map((b) => `\n  ${b.outcome}: ${b.ruleId ?? 'engine'} ${b.reason}`).join('')}`)
  rows.push(
    `approvals: ${e.approvals.steps.length === 0 ? 'none' : ''}${e.approvals.steps.map((s) => `\n  level ${s.level} ${s.role} (${s.mode}): ${s.reasons.map((r) => r.ruleId ?? r.reason).join(', ')}`).join('')}`,
  )
  rows.push(`recommendations: ${e.recommendations.map((r) => `${r.sku} (${r.ruleId})`).join(', ') || 'none'}`)
  if (e.trace) {
    rows.push('', 'trace:')
    for (const t of e.trace) {
      const where = t.line === undefined ? 'quote' : `line ${t.line}`
      const why = t.failed
        ? ` — failed ${t.failed.fact}${t.failed.path?.slice(1) ?? ''} ${t.failed.operator} ${show(t.failed.value)} (was ${show(t.failed.actual)})`
        : ''
      rows.push(`  ${t.fired ? 'fired' : 'no   '} ${t.stage.padEnd(15)} ${t.ruleId} @ ${where}${why}`)
    }
  }
  return rows.join('\n')
}

export function registerRuleCommands(program: Command, setExit: (code: number) => void): void {
  const rules = program.command('rules').description('Work on rule files offline: validate, check, test, explain')
  const common = (c: Command) =>
    c
      .argument('[dir]', 'rules folder (default: RULES_DIR or ./rules)')
      .option('--price-books <dir>', 'price-books folder (default: PRICE_BOOKS_DIR or <dir>/../price-books)')
      .option('--json', 'machine-readable output')

  common(rules.command('validate').description('Check every rule and price-book file against its schema')).action(
    async (dir: string | undefined, options: DirOptions) => {
      const { rulesDir, priceBooksDir } = dirs(dir, options)
      setExit(reportErrors((await loadRuleSet(rulesDir, priceBooksDir, { staticChecks: false })).errors, options.json))
    },
  )

  common(
    rules.command('check').description('Schema validation plus the static checks: duplicates, unknown facts and operators, unreachable rules, conflicts'),
  ).action(async (dir: string | undefined, options: DirOptions) => {
    const { rulesDir, priceBooksDir } = dirs(dir, options)
    setExit(reportErrors((await loadRuleSet(rulesDir, priceBooksDir)).errors, options.json))
  })

  common(rules.command('test').description('Run the *.test.yaml files beside the rules; each failed expectation is shown as expected/actual')).action(
    async (dir: string | undefined, options: DirOptions) => {
      const { rulesDir, priceBooksDir } = dirs(dir, options)
      const loaded = await loadRuleSet(rulesDir, priceBooksDir)
      if (!loaded.ruleSet) return setExit(reportErrors(loaded.errors, options.json))
      const { results, errors } = await runRuleTests(loaded.ruleSet, rulesDir)
      const failed = results.filter((r) => r.mismatches.length > 0)
      const untested = untestedRules(loaded.ruleSet, results)
      if (options.json)
        out(JSON.stringify({ passed: results.length - failed.length, failed: failed.length, errors, failures: failed, untestedRules: untested }))
      else {
        for (const e of errors) out(formatLoadError(e))
        for (const r of failed) {
          out(`FAIL ${r.file}: ${r.name}`)
          for (const m of r.mismatches) out(`  at ${m.path}\n    - expected ${show(m.expected)}\n    + actual   ${show(m.actual)}`)
        }
        if (untested.length > 0) out(`rules that fired in no test: ${untested.join(', ')}`)
        out(`${results.length - failed.length} passed, ${failed.length} failed`)
      }
      setExit(failed.length > 0 || errors.length > 0 ? EXIT.findings : EXIT.ok)
    },
  )

  common(rules.command('explain').description('Evaluate a cart file (JSON or YAML) and show every number with the rule behind it'))
    .requiredOption('--cart <file>', 'the cart, as sent to POST /v1/quotes/evaluate')
    .option('--trace <level>', 'none, fired or full', 'full')
    .action(async (dir: string | undefined, options: DirOptions & { cart: string; trace: string }) => {
      if (!['none', 'fired', 'full'].includes(options.trace)) {
        process.stderr.write('qtc: --trace must be none, fired or full\n')
        return setExit(EXIT.usage)
      }
      const trace = options.trace as 'none' | 'fired' | 'full'
      const { rulesDir, priceBooksDir } = dirs(dir, options)
      const loaded = await loadRuleSet(rulesDir, priceBooksDir)
      if (!loaded.ruleSet) return setExit(reportErrors(loaded.errors, options.json))
      const parsed = await readCart(options.cart)
      if ('problem' in parsed) {
        out(`${options.cart}: ${parsed.problem}`)
        return setExit(EXIT.findings)
      }
      const schema = cartSchema(100_000)
      const cart = Value.Default(schema, parsed.content)
      const check = TypeCompiler.Compile(schema)
      if (!check.Check(cart)) {
        out(
          [...check.Errors(cart)]
            .slice(0, 20)
            .map((e) => `${options.cart} ${e.path}: ${e.message}`)
            .join('\n'),
        )
        return setExit(EXIT.findings)
      }
      try {
        const rendered = renderEvaluation(await evaluateQuote(loaded.ruleSet, cart, { trace }), trace)
        out(options.json ? JSON.stringify(rendered, null, 2) : explainText(rendered))
        setExit(EXIT.ok)
      } catch (error) {
        if (error instanceof CartError) out(error.errors.map((e) => `${e.pointer}: ${e.detail}`).join('\n'))
        else if (error instanceof RuleEvaluationError) out(`rule ${error.ruleId} failed: ${error.message}`)
        else throw error
        setExit(EXIT.findings)
      }
    })

  const schemas = program.command('schemas').description('JSON Schema files for rule, rule-test and price-book files (editor autocompletion)')
  schemas
    .command('write')
    .description('Regenerate the schema files from the TypeBox schemas')
    .option('--root <dir>', 'repository root', '.')
    .action(async (options: { root: string }) => {
      for (const [path, schema] of Object.entries(generatedSchemas())) {
        await writeFile(join(options.root, path), schemaText(schema))
        out(`wrote ${path}`)
      }
      setExit(EXIT.ok)
    })
}

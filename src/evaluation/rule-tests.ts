import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import { CartError, evaluateQuote } from './evaluate.js'
import { renderEvaluation, type RenderedEvaluation } from './render.js'
import { canonicalJson } from '../shared/hash.js'
import type { LoadError } from '../shared/source-files.js'
import { listFiles, readSourceFiles } from '../rules/read-files.js'
import { RuleEvaluationError } from '../rules/rule-runner.js'
import type { RuleSet } from '../rules/rule-set.js'
import { RuleTestFileSchema, TaxTestFileSchema, type RuleTest, type TaxTest } from './rule-test.schema.js'
import { decideTax, TaxUndetermined } from './stages/tax.js'

/** One expectation that did not hold: where in `expect`, and both values. */
export interface Mismatch {
  path: string
  expected: unknown
  actual: unknown
}

export interface RuleTestResult {
  file: string
  name: string
  mismatches: Mismatch[]
  /** Every rule that fired in this test, for rule coverage. */
  fired: string[]
}

const fileCheck = TypeCompiler.Compile(RuleTestFileSchema)
const taxFileCheck = TypeCompiler.Compile(TaxTestFileSchema)

/** What a test can look at, derived from the rendered evaluation. */
function viewOf(e: RenderedEvaluation) {
  const firedIds = new Set((e.trace ?? []).filter((t) => t.fired).map((t) => t.ruleId))
  return {
    valid: e.valid,
    priceBook: e.priceBook.id,
    lineCount: e.lines.length,
    lines: e.lines.map((l) => ({
      index: l.index,
      sku: l.sku,
      source: l.source,
      quantity: l.quantity,
      listAmount: l.listAmount,
      baseAmount: l.baseAmount,
      netUnitPrice: l.netUnitPrice,
      netAmount: l.netAmount,
      contractAmount: l.contractAmount,
      discountPercent: l.discountPercent,
      marginPercent: l.marginPercent,
      adjustments: l.adjustments.map((a) => a.ruleId ?? a.kind),
      suppressed: l.suppressed.map((s) => s.ruleId),
      ramp: l.ramp?.map((y) => y.amountPerPeriod) ?? [],
      guardrail: l.guardrail.outcome,
      breaches: l.guardrail.breaches.map((b) => b.ruleId),
    })),
    added: e.configuration.added.map((a) => a.sku),
    errors: e.configuration.errors.map((i) => i.ruleId ?? i.code),
    warnings: e.configuration.warnings.map((i) => i.ruleId ?? i.code),
    totals: e.totals as Record<string, unknown>,
    guardrail: e.guardrails.outcome,
    breaches: e.guardrails.breaches.map((b) => b.ruleId),
    approvals: e.approvals.steps.map((s) => ({ level: s.level, role: s.role })),
    recommendations: e.recommendations.map((r) => r.sku),
    fired: [...firedIds].sort(),
  }
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null)
}

/** Compares a test's expectations with an evaluation: partial objects, exact lists, subsets for fired/notFired. */
export function compare(expect: RuleTest['expect'], e: RenderedEvaluation): Mismatch[] {
  const view = viewOf(e)
  const out: Mismatch[] = []
  for (const [key, expected] of Object.entries(expect)) {
    if (expected === undefined || key === 'refused') continue
    if (key === 'lines') {
      ;(expected as Array<Record<string, unknown>>).forEach((line, i) => {
        const index = typeof line.index === 'number' ? line.index : i
        const actual = view.lines[index] as Record<string, unknown> | undefined
        for (const [field, value] of Object.entries(line)) {
          if (!actual || !same(actual[field], value)) out.push({ path: `/lines/${i}/${field}`, expected: value, actual: actual?.[field] })
        }
      })
    } else if (key === 'totals') {
      for (const [field, value] of Object.entries(expected as Record<string, unknown>)) {
        if (!same(view.totals[field], value)) out.push({ path: `/totals/${field}`, expected: value, actual: view.totals[field] })
      }
    } else if (key === 'fired') {
      for (const id of expected as string[]) if (!view.fired.includes(id)) out.push({ path: '/fired', expected: id, actual: 'did not fire' })
    } else if (key === 'notFired') {
      for (const id of expected as string[]) if (view.fired.includes(id)) out.push({ path: '/notFired', expected: id, actual: 'fired' })
    } else {
      const actual = (view as Record<string, unknown>)[key]
      if (!same(actual, expected)) out.push({ path: `/${key}`, expected, actual })
    }
  }
  return out
}

/** Runs one test against a rule set. */
export async function runRuleTest(ruleSet: RuleSet, file: string, test: RuleTest): Promise<RuleTestResult> {
  const refused = test.expect.refused
  try {
    const evaluation = renderEvaluation(await evaluateQuote(ruleSet, test.cart, { trace: 'fired' }), 'fired')
    const mismatches = compare(test.expect, evaluation)
    if (refused) mismatches.unshift({ path: '/refused', expected: refused, actual: 'evaluated' })
    return { file, name: test.name, mismatches, fired: viewOf(evaluation).fired }
  } catch (error) {
    let actual: { code: string; pointers?: string[]; ruleId?: string }
    if (error instanceof CartError) actual = { code: 'CART_INVALID', pointers: error.errors.map((e) => e.pointer) }
    else if (error instanceof RuleEvaluationError) actual = { code: 'RULE_EVALUATION_FAILED', ruleId: error.ruleId }
    else throw error
    const mismatches: Mismatch[] = []
    if (!refused) mismatches.push({ path: '/refused', expected: 'an evaluation', actual })
    else {
      for (const [field, value] of Object.entries(refused)) {
        if (!same((actual as Record<string, unknown>)[field], value))
          mismatches.push({ path: `/refused/${field}`, expected: value, actual: (actual as Record<string, unknown>)[field] })
      }
    }
    return { file, name: test.name, mismatches, fired: [] }
  }
}

/** Runs one tax test: the decision of each line, or the line no rule decides. */
export async function runTaxTest(ruleSet: RuleSet, file: string, test: TaxTest): Promise<RuleTestResult> {
  const { invoice, expect } = test
  const question = { ...invoice, buyer: { ...invoice.buyer, vatId: invoice.buyer.vatId ?? null } }
  try {
    const decisions = await decideTax(ruleSet, question)
    const mismatches: Mismatch[] = []
    if (expect.undetermined !== undefined) mismatches.push({ path: '/undetermined', expected: expect.undetermined, actual: 'every line decided' })
    for (const [i, line] of (expect.lines ?? []).entries()) {
      const actual = decisions[i] as unknown as Record<string, unknown> | undefined
      for (const [field, value] of Object.entries(line)) {
        if (!actual || !same(actual[field], value)) mismatches.push({ path: `/lines/${i}/${field}`, expected: value, actual: actual?.[field] })
      }
    }
    return { file, name: test.name, mismatches, fired: [...new Set(decisions.map((d) => d.ruleId))] }
  } catch (error) {
    if (!(error instanceof TaxUndetermined)) throw error
    const mismatches: Mismatch[] =
      expect.undetermined === error.lineIndex ? [] : [{ path: '/undetermined', expected: expect.undetermined ?? 'every line decided', actual: error.lineIndex }]
    return { file, name: test.name, mismatches, fired: [] }
  }
}

/** Finds, validates and runs every `*.test.yaml` under the rules folder (`tax/` holds invoice tests, the other sets cart tests). */
export async function runRuleTests(ruleSet: RuleSet, rulesDir: string): Promise<{ results: RuleTestResult[]; errors: LoadError[] }> {
  const files = await listFiles(rulesDir, (name) => /\.test\.(ya?ml|json)$/.test(name))
  const { sources, errors } = await readSourceFiles(rulesDir, files)
  const results: RuleTestResult[] = []
  for (const { file, content } of sources) {
    if (file.startsWith('tax/')) {
      const taxTests = Value.Default(TaxTestFileSchema, structuredClone(content))
      if (!taxFileCheck.Check(taxTests)) {
        for (const e of [...taxFileCheck.Errors(taxTests)].slice(0, 20)) errors.push({ file, path: e.path, message: e.message })
        continue
      }
      for (const test of taxTests.tests) results.push(await runTaxTest(ruleSet, file, test))
      continue
    }
    const withDefaults = Value.Default(RuleTestFileSchema, structuredClone(content))
    if (!fileCheck.Check(withDefaults)) {
      for (const e of [...fileCheck.Errors(withDefaults)].slice(0, 20)) errors.push({ file, path: e.path, message: e.message })
      continue
    }
    for (const test of withDefaults.tests) results.push(await runRuleTest(ruleSet, file, test))
  }
  return { results, errors }
}

/** Rules that fired in no test: every rule should be exercised by at least one. */
export function untestedRules(ruleSet: RuleSet, results: RuleTestResult[]): string[] {
  const fired = new Set(results.flatMap((r) => r.fired))
  return ruleSet.rules.map((r) => r.id).filter((id) => !fired.has(id))
}

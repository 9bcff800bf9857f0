import type { TaxCategoryCode } from '../../rules/rule-file.schema.js'
import type { RuleFacts } from '../../rules/rule-runner.js'
import type { RuleSet } from '../../rules/rule-set.js'
import { EU_MEMBER_STATES, vatIdFacts } from '../../shared/eu-vat.js'
import { dispatch, type EventHandlers } from '../event-registry.js'

/**
 * The tax stage: the VAT of each line of an invoice, decided by the `tax` rule set when the
 * invoice is made (the tax point), not when the quote was priced — a rate or a buyer's VAT
 * status can change between the two. Pure like the pricing stages: the same rule set and
 * question always give the same decisions, and each decision names the rule that took it.
 */

/** What the tax rules know of a line: what its order line recorded when signed, so a later catalog change moves nothing. */
export interface TaxLineQuestion {
  sku: string
  type: string
  taxCategory: string
}

export interface TaxQuestion {
  /** The invoice's issue date: which rules are in effect. */
  date: string
  currency: string
  seller: { id: string; country: string }
  buyer: { country: string; vatId: string | null; segment: string }
  lines: TaxLineQuestion[]
}

export interface TaxDecision {
  category: TaxCategoryCode
  /** In percent, as the rule wrote it: "20", "5.5", "0". */
  ratePercent: string
  /** The rate in hundredths of a percent (5.5 % = 550): what the tax is computed with. */
  rateBasisPoints: bigint
  mention: string | null
  exemptionCode: string | null
  ruleId: string
}

/** No tax rule fired for a line: the invoice cannot be made until the rules say what its VAT is. */
export class TaxUndetermined extends Error {
  constructor(
    readonly lineIndex: number,
    readonly line: TaxLineQuestion,
  ) {
    super(`no tax rule applies to ${line.sku} (tax category ${line.taxCategory})`)
  }
}

/** "5.5" → 550n: the schema allows at most two decimals. */
function basisPoints(percent: string): bigint {
  const [whole = '0', fraction = ''] = percent.split('.')
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'))
}

const handlers: EventHandlers<'tax', [string], TaxDecision> = {
  'tax.apply': ({ params: p }, ruleId) => ({
    category: p.category,
    ratePercent: p.ratePercent,
    rateBasisPoints: basisPoints(p.ratePercent),
    mention: p.mention ?? null,
    exemptionCode: p.exemptionCode ?? null,
    ruleId,
  }),
}

/** The facts every tax rule of one invoice sees, but the line. */
export function taxFacts(question: TaxQuestion): Omit<RuleFacts, 'line'> {
  const vat = vatIdFacts(question.buyer.vatId)
  return {
    quote: {},
    account: {
      country: question.buyer.country,
      vatId: question.buyer.vatId,
      hasVatId: Boolean(question.buyer.vatId),
      vatIdWellFormed: vat.wellFormed,
      vatIdCountry: vat.country,
      inEu: EU_MEMBER_STATES.has(question.buyer.country),
      segment: question.buyer.segment,
    },
    seller: { id: question.seller.id, country: question.seller.country },
    invoice: { date: question.date, currency: question.currency },
  }
}

/** One decision per line: the first rule that fires, by priority. Throws TaxUndetermined when none does. */
export async function decideTax(ruleSet: RuleSet, question: TaxQuestion): Promise<TaxDecision[]> {
  const runner = ruleSet.runner('tax', 'line', question.date)
  const facts = taxFacts(question)
  const decisions: TaxDecision[] = []
  for (const [index, line] of question.lines.entries()) {
    const outcomes = await runner.run({ ...facts, line: { sku: line.sku, type: line.type, taxCategory: line.taxCategory } }, 'none')
    const first = outcomes.find((o) => o.fired)
    if (!first) throw new TaxUndetermined(index, line)
    decisions.push(dispatch(handlers, first.rule, first.rule.id))
  }
  return decisions
}

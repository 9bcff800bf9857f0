import type { Cart } from '../../src/evaluation/cart.schema.js'
import { evaluateQuote } from '../../src/evaluation/evaluate.js'
import type { EvaluationSnapshot } from '../../src/evaluation/evaluation.js'
import { loadLegalEntities } from '../../src/documents/legal-entities.js'
import type { Lang } from '../../src/documents/locale.js'
import type { QuoteDocumentInput } from '../../src/documents/quote-document.js'
import { loadTerms } from '../../src/documents/terms.js'
import { loadRuleSet, type RuleSet } from '../../src/rules/rule-set.js'

/** The repository's own folders: the demo rules, price books, terms and seller. */
export const ROOT = new URL('../../', import.meta.url).pathname

let demo: Promise<RuleSet> | undefined
export function demoRuleSet(): Promise<RuleSet> {
  demo ??= loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`).then(({ ruleSet, errors }) => {
    if (!ruleSet) throw new Error(`demo rules do not load: ${JSON.stringify(errors)}`)
    return ruleSet
  })
  return demo
}

/**
 * A realistic cart for the demo rules: a Starter Kit bundle with chosen options, Enterprise
 * seats on 36 months (the demo ramp: +5 % a year) with a manual discount, and a one-time
 * service; the rules add premium support, an antenna and an implementation consultant.
 */
export const DEMO_CART: Cart = {
  currency: 'EUR',
  date: '2026-07-01',
  account: { id: 'ACC-DOC-1', segment: 'enterprise', country: 'FR' },
  lines: [
    { sku: 'KIT-STARTER', quantity: 2, options: [{ sku: 'GW-300' }, { sku: 'SEN-VIB' }, { sku: 'MNT-WALL' }] },
    { sku: 'PLAT-ENT-SEAT', quantity: 1200, termMonths: 36, manualDiscountPercent: '5' },
    { sku: 'PS-ONBOARD', quantity: 1 },
  ],
  paymentTermsDays: 45,
}

export async function evaluate(cart: Cart = DEMO_CART): Promise<EvaluationSnapshot> {
  return evaluateQuote(await demoRuleSet(), cart, { trace: 'none' })
}

/** A quote document input around an evaluation, with French names and the shipped seller and terms. */
export function documentInput(evaluation: EvaluationSnapshot, lang: Lang, termsId = 'standard'): QuoteDocumentInput {
  const terms = loadTerms(`${ROOT}terms`)
  return {
    lang,
    seller: loadLegalEntities(`${ROOT}legal-entities/entities.yaml`).default(),
    buyer: {
      name: 'Société Générale d’Équipements Çà et Là SA',
      billingAddress: { line1: '10 place de la Comédie', city: 'Montpellier', postalCode: '34000', country: 'FR' },
      vatId: 'FR40303265045',
      contact: { name: 'Françoise Dupré', email: 'f.dupre@sgecl.example' },
    },
    quote: {
      number: 'Q-2026-000123',
      revision: 2,
      issuedOn: '2026-07-01',
      validUntil: '2026-07-31',
      paymentTermsDays: 45,
      notes: 'Livraison prévue en septembre.',
    },
    evaluation,
    terms: terms.text(terms.latest(termsId), lang),
  }
}

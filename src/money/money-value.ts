import { Type } from '@sinclair/typebox'
import { formatAmount } from './money.js'

/**
 * An amount with its currency: integer minor units of an ISO 4217 currency. What evaluations,
 * quotes and (next) orders and invoices store and pass around; rendered to a decimal string
 * ("1234.50") only at the HTTP and CLI edge.
 */
export interface Money {
  readonly minor: bigint
  readonly currency: string
}

export function moneyOf(minor: bigint, currency: string): Money {
  return { minor, currency }
}

/** The API form: a decimal string with the currency's exponent. */
export function formatMoney(money: Money): string {
  return formatAmount(money.minor, money.currency)
}

/** A bigint stored in JSON as a decimal string (JSON numbers lose precision past 2^53). */
export const BigIntString = Type.Transform(Type.String({ pattern: '^-?(0|[1-9][0-9]{0,30})$' }))
  .Decode((text) => BigInt(text))
  .Encode((value: bigint) => value.toString())

/** Money stored in JSON: `{ "minor": "123450", "currency": "EUR" }`. */
export const MoneyJson = Type.Transform(
  Type.Object(
    { minor: Type.String({ pattern: '^-?(0|[1-9][0-9]{0,30})$' }), currency: Type.String({ pattern: '^[A-Z]{3}$' }) },
    { additionalProperties: false },
  ),
)
  .Decode((json): Money => ({ minor: BigInt(json.minor), currency: json.currency }))
  .Encode((money: Money) => ({ minor: money.minor.toString(), currency: money.currency }))

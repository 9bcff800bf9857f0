import { Type, type Static } from '@sinclair/typebox'

/**
 * The format of `legal-entities/entities.yaml`: the companies QTC sells as. Identifiers are
 * checked by their check digits when the file loads (legal-entities.ts), not only by shape.
 */

const Text = (maxLength: number, description?: string) => Type.String({ minLength: 1, maxLength, ...(description ? { description } : {}) })

export const AddressSchema = Type.Object(
  {
    line1: Text(200),
    line2: Type.Optional(Text(200)),
    postalCode: Text(20),
    city: Text(100),
    country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 code' }),
  },
  { additionalProperties: false },
)

export const LegalEntitySchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'Stable id quotes and invoices refer to' }),
    name: Text(200, 'Legal name with its form, as printed: "QTC SAS"'),
    address: AddressSchema,
    siren: Type.Optional(Type.String({ pattern: '^\\d{9}$', description: 'French company number, 9 digits (Luhn key)' })),
    siret: Type.Optional(Type.String({ pattern: '^\\d{14}$', description: 'French establishment number: SIREN + 5 digits (Luhn key)' })),
    vatId: Type.Optional(Type.String({ pattern: '^[A-Z]{2}[A-Z0-9]{2,13}$', description: 'Intra-EU VAT number, e.g. FR + key + SIREN' })),
    iban: Type.Optional(Type.String({ pattern: '^[A-Z]{2}\\d{2}[A-Z0-9]{11,30}$', description: 'Without spaces' })),
    bic: Type.Optional(Type.String({ pattern: '^[A-Z0-9]{8}([A-Z0-9]{3})?$' })),
    invoicePrefix: Type.String({ pattern: '^[A-Z][A-Z0-9-]{0,9}$', description: 'Prefix of invoice numbers (INV)' }),
    creditNotePrefix: Type.Optional(
      Type.String({
        pattern: '^[A-Z][A-Z0-9-]{0,9}$',
        description: 'Prefix of credit note numbers, their own sequence (default: the invoice prefix followed by -CN)',
      }),
    ),
    vatOnDebits: Type.Optional(
      Type.Boolean({ description: 'The entity opted to pay VAT on services when invoiced (débits) rather than when paid: its invoices say so' }),
    ),
    defaultCurrency: Type.String({ pattern: '^[A-Z]{3}$' }),
    currencies: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Z]{3}$' }), {
        minItems: 1,
        maxItems: 50,
        uniqueItems: true,
        description: 'The currencies it sells and invoices in (its default currency among them); only the default currency when absent',
      }),
    ),
    email: Type.Optional(Type.String({ pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$', maxLength: 254 })),
    phone: Type.Optional(Type.String({ pattern: '^\\+?[0-9 ().-]{6,30}$' })),
    default: Type.Optional(
      Type.Boolean({
        description: "The entity quotes are issued by unless their account names another, when it sells in the quote's currency; exactly one entity has it",
      }),
    ),
  },
  { additionalProperties: false },
)
export type LegalEntity = Static<typeof LegalEntitySchema>

export const LegalEntitiesFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    entities: Type.Array(LegalEntitySchema, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
)
export type LegalEntitiesFile = Static<typeof LegalEntitiesFileSchema>

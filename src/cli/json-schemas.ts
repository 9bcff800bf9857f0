import { CatalogFileSchema, PriceBookFileSchema } from '../catalog/catalog.schema.js'
import { RULE_SETS, ruleFileSchema } from '../rules/rule-file.schema.js'
import { RuleTestFileSchema, TaxTestFileSchema } from '../evaluation/rule-test.schema.js'
import { LegalEntitiesFileSchema } from '../documents/legal-entity.schema.js'

const DRAFT = 'http://json-schema.org/draft-07/schema#'

/**
 * The JSON Schema files shipped beside the rule, price-book and legal-entity files (so editors
 * autocomplete and check them), generated from the TypeBox schemas the loader uses.
 * Paths are relative to the repository root.
 */
export function generatedSchemas(): Record<string, unknown> {
  const schemas: Record<string, unknown> = {
    'price-books/price-book.schema.json': {
      $schema: DRAFT,
      title: 'QTC catalog or price book',
      anyOf: [CatalogFileSchema, PriceBookFileSchema],
    },
    'rules/rule-test.schema.json': { $schema: DRAFT, title: 'QTC rule tests', ...RuleTestFileSchema },
    'rules/tax-test.schema.json': { $schema: DRAFT, title: 'QTC tax rule tests', ...TaxTestFileSchema },
    'legal-entities/legal-entities.schema.json': { $schema: DRAFT, title: 'QTC seller legal entities', ...LegalEntitiesFileSchema },
  }
  for (const set of RULE_SETS) {
    schemas[`rules/rule-file.${set}.schema.json`] = { $schema: DRAFT, title: `QTC ${set} rules`, ...ruleFileSchema(set) }
  }
  return schemas
}

/** Stable text of a schema file: TypeBox's symbols are dropped by JSON.stringify. */
export function schemaText(schema: unknown): string {
  return JSON.stringify(schema, null, 2) + '\n'
}

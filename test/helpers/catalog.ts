import type { SourceFile } from '../../src/rules/read-files.js'

/**
 * A small in-memory catalog and EUR price book for tests that build rule sets or price books
 * without the files of price-books/: WIDGET and GADGET (one-time hardware) and SEAT (a
 * monthly, tiered seat). Each piece takes overrides, so a test states only what it changes.
 */

type Json = Record<string, unknown>

/** A valid one-time hardware product; `extra` overrides or adds fields. */
export function product(sku: string, extra: Json = {}): Json {
  return {
    sku,
    name: `Product ${sku}`,
    family: 'hardware',
    category: 'device',
    unit: 'piece',
    type: 'one_time',
    taxCategory: 'standard',
    revenueTreatment: 'point_in_time',
    sspBasis: 'list_price',
    active: true,
    ...extra,
  }
}

export function catalogFile(
  products: Json[] = [
    product('WIDGET'),
    product('GADGET'),
    product('SEAT', { type: 'recurring', billingPeriod: 'month', family: 'platform', category: 'seat' }),
  ],
): SourceFile {
  return { file: 'catalog.yaml', content: { kind: 'catalog', segments: ['smb', 'enterprise'], channels: ['direct', 'partner', 'web'], products } }
}

/** The EUR list price book of the catalog above; `extra` overrides its fields (entries, currency, validity…). */
export function bookFile(extra: Json = {}, file = 'eur-list.yaml'): SourceFile {
  return {
    file,
    content: {
      kind: 'price-book',
      id: 'eur-list',
      name: 'EUR list',
      currency: 'EUR',
      validFrom: '2026-01-01',
      priority: 0,
      applicability: {},
      entries: [
        { sku: 'WIDGET', listPrice: '10.00', cost: '4.00' },
        { sku: 'GADGET', listPrice: '25.50' },
        {
          sku: 'SEAT',
          listPrice: '20.00',
          tiering: {
            mode: 'range',
            tiers: [
              { upTo: 10, unitPrice: '20.00' },
              { upTo: null, unitPrice: '18.00' },
            ],
          },
        },
      ],
      ...extra,
    },
  }
}

/** The documented answer of a route that sends a PDF: bytes, not JSON (OpenAPI `format: binary`). */
export const PDF_RESPONSE = {
  description: 'A PDF document',
  content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } },
} as const

/** The documented answer of a route that sends XML. */
export const XML_RESPONSE = {
  description: 'An XML document',
  content: { 'application/xml': { schema: { type: 'string' } } },
} as const

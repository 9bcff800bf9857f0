declare module 'fastify' {
  interface FastifyContextConfig {
    /** On routes that take a cart: its line limit, named in the 413 and the too-many-lines 400. */
    maxCartLines?: number
  }
}

/**
 * Bytes allowed per cart line: a starter-kit line with all 13 of its options, a term, a start
 * date and a manual discount is 537 bytes as compact JSON and 902 indented by two spaces.
 */
export const CART_LINE_BYTES = 1024
/** Room for everything in a cart besides its lines (account, purchase history, promotion codes). */
export const CART_OVERHEAD_BYTES = 256 * 1024

/**
 * The body limit of the routes that take a cart, sized from the line limit so that the
 * largest cart the line limit allows is not refused for its bytes; never below the
 * general limit.
 */
export function cartBodyLimit(maxCartLines: number, bodyLimitBytes: number): number {
  return Math.max(bodyLimitBytes, CART_OVERHEAD_BYTES + maxCartLines * CART_LINE_BYTES)
}

/**
 * Refusals that callers can act on. Each code says when it is raised; ERROR_STATUS maps it to
 * an HTTP status, and the error handler renders it as RFC 9457 problem+json.
 * Expected business outcomes (a guardrail hit, an approval needed) are results, not errors.
 */
export type ErrorCode =
  /** The body, query or params do not match the route's schema (unknown properties included). */
  | 'VALIDATION_FAILED'
  /** The body is not parseable JSON, carries a prototype-poisoning key such as `__proto__`, or the HTTP request itself is malformed. */
  | 'MALFORMED_REQUEST'
  /** The body's content type is not one the route accepts. */
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** The body exceeds the route's limit: BODY_LIMIT_BYTES, or the cart routes' limit sized from MAX_CART_LINES. */
  | 'PAYLOAD_TOO_LARGE'
  /** A path segment is longer than the router accepts (200 characters). */
  | 'URI_TOO_LONG'
  /** The request line and headers together exceed Node's maximum header size. */
  | 'HEADERS_TOO_LARGE'
  /** The client did not send the whole request in time. */
  | 'REQUEST_TIMEOUT'
  /** No valid API key: missing, unknown, revoked, or its principal is revoked. */
  | 'UNAUTHENTICATED'
  /** The principal is known but lacks the role (or the object-level right) for this function. */
  | 'FORBIDDEN'
  /** No such route, or no such object visible to this principal (existence is not revealed). */
  | 'NOT_FOUND'
  /** A request with the same Idempotency-Key is still being processed. */
  | 'IDEMPOTENCY_IN_FLIGHT'
  /** The Idempotency-Key was already used with a different request (method, path or body). */
  | 'IDEMPOTENCY_KEY_REUSED'
  /** If-Match does not match the object's current ETag: someone changed it since it was read. */
  | 'PRECONDITION_FAILED'
  /** The update needs an If-Match header and none was sent. */
  | 'PRECONDITION_REQUIRED'
  /** The principal sent more requests than RATE_LIMIT_PER_MINUTE allows. */
  | 'RATE_LIMITED'
  /** The cart cannot be evaluated: unknown or inactive sku, no price book, bad quantity or term, option not in its group. */
  | 'CART_INVALID'
  | 'CREDIT_NOTE_INVALID'
  /** A payment or a credit application that does not fit: unknown account or invoice, another currency, more than is open, too many decimals, a day out of range; `errors` names each field. */
  | 'PAYMENT_INVALID'
  /** A refund beyond what can be refunded: more than the payment has left, or than the account's credit balance; `errors` says how much can be. */
  | 'REFUND_INVALID'
  /** The invoice cannot be written as an EN 16931 e-invoice (Factur-X, CII): `reason` says why. */
  | 'EINVOICE_UNAVAILABLE'
  /** A rule failed at run time (a json-logic error, a computed value of the wrong kind); the detail names the rule. */
  | 'RULE_EVALUATION_FAILED'
  /** Rule or price-book files failed validation or static checks; `errors` names file, rule id and path. */
  | 'RULE_SET_INVALID'
  /** The object's state does not allow this action (e.g. submitting an approved quote); `from` and `to` name the states. */
  | 'INVALID_STATE_TRANSITION'
  /** The quote cannot be submitted: its configuration is invalid or a guardrail blocks it. */
  | 'QUOTE_NOT_SUBMITTABLE'
  /** The approval step was already decided, or is not yet open (an earlier level is pending). */
  | 'APPROVAL_STEP_CLOSED'
  /** The quote changed since this approval was requested: the request was withdrawn. */
  | 'APPROVAL_STALE'
  /** A signing link that no longer signs: its contract expired, was withdrawn, signed or declined. */
  | 'SIGNING_LINK_CLOSED'
  /** The stored document no longer matches the SHA-256 issued with the signing link: nothing is signed. */
  | 'DOCUMENT_CHANGED'
  /** A contract cannot be issued: the contact is not the quote account's, or the quote has no terms to present. */
  | 'CONTRACT_INVALID'
  /** No seller legal entity sells the quote: the account's chosen one does not sell in its currency, or none does. */
  | 'SELLER_UNAVAILABLE'
  /** A fulfilment that does not fit its order: more than ordered, a kind the line does not record, part of a unit, a day to come; `errors` names each line. */
  | 'FULFILMENT_INVALID'
  /** An audit checkpoint is to be signed or checked, but QTC_AUDIT_KEY is not configured. */
  | 'AUDIT_KEY_MISSING'
  /** The job cannot run here: a setting it needs is missing (`audit.checkpoint` without QTC_AUDIT_KEY). */
  | 'JOB_DISABLED'
  /** A webhook URL is malformed, not https (unless QTC_WEBHOOK_ALLOW_HTTP), or its host resolves to an address webhooks may not reach. */
  | 'WEBHOOK_URL_REFUSED'
  /** Registering one more webhook endpoint would pass the limit of endpoints (docs/webhooks.md). */
  | 'WEBHOOK_ENDPOINT_LIMIT'
  /** The database is unreachable or not migrated; the service cannot answer yet. */
  | 'NOT_READY'
  /** Anything unexpected; details are logged, never returned. */
  | 'INTERNAL'

export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  MALFORMED_REQUEST: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  IDEMPOTENCY_IN_FLIGHT: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  PRECONDITION_FAILED: 412,
  PRECONDITION_REQUIRED: 428,
  RATE_LIMITED: 429,
  CART_INVALID: 422,
  CREDIT_NOTE_INVALID: 422,
  PAYMENT_INVALID: 422,
  REFUND_INVALID: 422,
  EINVOICE_UNAVAILABLE: 422,
  RULE_EVALUATION_FAILED: 500,
  RULE_SET_INVALID: 422,
  INVALID_STATE_TRANSITION: 409,
  QUOTE_NOT_SUBMITTABLE: 409,
  APPROVAL_STEP_CLOSED: 409,
  APPROVAL_STALE: 409,
  SIGNING_LINK_CLOSED: 410,
  DOCUMENT_CHANGED: 409,
  CONTRACT_INVALID: 422,
  FULFILMENT_INVALID: 422,
  SELLER_UNAVAILABLE: 422,
  AUDIT_KEY_MISSING: 503,
  JOB_DISABLED: 409,
  WEBHOOK_URL_REFUSED: 422,
  WEBHOOK_ENDPOINT_LIMIT: 409,
  NOT_READY: 503,
  INTERNAL: 500,
}

/** One entry of a problem's `errors` list: where (a JSON pointer into the request) and what. */
export interface FieldError {
  pointer: string
  /** Which part of the request the pointer is into: body (default), querystring, params, headers. */
  in?: 'body' | 'querystring' | 'params' | 'headers'
  detail: string
}

export interface AppErrorDetails {
  errors?: FieldError[]
  [extension: string]: unknown
}

export class AppError extends Error {
  override name = 'AppError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: AppErrorDetails = {},
  ) {
    super(message)
  }

  get status(): number {
    return ERROR_STATUS[this.code]
  }
}

/** Programmer errors are assertions: they fail loudly and render as a 500 without internals. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Assertion failed: ${message}`)
}

/** The cash module's use cases, one per file; routes and other modules import them from here. */
export { recordPayment, MAX_RECEIVED_DAYS_BACK, type PaymentInput } from './record-payment.js'
export { refundCredit, refundPayment, type CreditRefundInput, type PaymentRefund, type RefundInput } from './refund.js'
export { applyCredit, applyCreditIn, type CreditApplication, type CreditApplicationInput } from './apply-credit.js'
export { accountBalance, getPayment, listPayments, type AccountBalance } from './read-cash.js'
export { agingReport, AGING_BUCKETS, type AgingReport, type Buckets } from './receivables.js'
export type { CashDeps, Payment, PaymentView, Refund } from './payment.js'

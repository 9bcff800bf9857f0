/** The orders module's use cases, one per file; routes and other modules import them from here. */
export { cancelOrder } from './cancel-order.js'
export { createOrderForAcceptedQuote, type AcceptedQuote } from './create-order.js'
export { recordFulfilment, type FulfilmentInput } from './fulfil-order.js'
export { fulfilmentsOf, getOrder, listOrders, orderOfQuote } from './read-orders.js'
export { lineComplete } from './order.js'
export type { OrderDeps } from './order-deps.js'
export type { Fulfilment, Order, OrderLine, OrderView } from './order.js'

/** What the job engine calls: the relay and the delivery of webhooks, and how to build their dependencies. */
export { MAX_DELIVERY_BATCH, MAX_RELAY_BATCH, deliverDueWebhooks, relayOutbox, type DeliveryRun } from './webhook-jobs.js'
export { webhookDeps, type WebhookDeps } from './webhook.service.js'

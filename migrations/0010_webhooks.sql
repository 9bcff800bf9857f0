-- Typed, versioned events and their delivery to webhook endpoints (docs/webhooks.md).
-- Events written before the catalogue existed had the payloads of version 1 already.
ALTER TABLE outbox_events ADD COLUMN version integer NOT NULL DEFAULT 1;
-- Write order: two events of one aggregate are written under that aggregate's lock, so their
-- sequence numbers follow the order they were written, whatever the clocks of the instances said.
ALTER TABLE outbox_events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX outbox_events_seq_key ON outbox_events (seq);
DROP INDEX outbox_unpublished_idx;
CREATE INDEX outbox_unpublished_idx ON outbox_events (seq) WHERE published_at IS NULL;

CREATE TABLE webhook_endpoints (
  id           text PRIMARY KEY,
  url          text NOT NULL CHECK (length(url) <= 2048),
  event_types  text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 50),
  description  text CHECK (length(description) <= 500),
  enabled      boolean NOT NULL DEFAULT true,
  -- The signing key (whsec_…): it must be readable to compute HMACs, so it is stored as is;
  -- the API shows it once (create, rotate) and logs never carry it.
  secret       text NOT NULL,
  version      integer NOT NULL DEFAULT 1,
  created_by   text REFERENCES principals (id),
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
  id               text PRIMARY KEY,
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id         text NOT NULL REFERENCES outbox_events (id),
  event_type       text NOT NULL,
  -- Copied from the event so ordering per aggregate needs no other module's table.
  aggregate_type   text NOT NULL,
  aggregate_id     text NOT NULL,
  event_seq        bigint NOT NULL,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempt_count    integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  -- A claimed attempt: until this time no other instance takes the delivery; the token names the claim.
  locked_until     timestamptz,
  lease_token      text,
  last_status      integer,
  last_error       text,
  delivered_at     timestamptz,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  -- A rerun of the relay, or a second instance, never makes a second delivery of an event to an endpoint.
  UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, aggregate_type, aggregate_id, event_seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_delivery_attempts (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id         text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt             integer NOT NULL,
  attempted_at        timestamptz NOT NULL,
  status              integer,
  error               text,
  response_body       text,
  response_truncated  boolean NOT NULL DEFAULT false,
  duration_ms         integer NOT NULL
);
CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (delivery_id, id);

-- Orders: what an accepted quote revision commits the seller to deliver and bill, copied from
-- the revision's evaluation snapshot (never re-priced), and the fulfilments recorded against it.

CREATE SEQUENCE order_number_seq;

CREATE TABLE orders (
  id                  text PRIMARY KEY,
  -- O-<year>-<six digits>; gap-tolerant like quote numbers (invoices get the gapless numbers).
  number              text NOT NULL UNIQUE,
  -- A quote is accepted once (accepted is final), so one order per quote is one per accepted revision.
  quote_id            text NOT NULL UNIQUE REFERENCES quotes (id),
  revision            integer NOT NULL,
  quote_number        text NOT NULL,
  contract_id         text NOT NULL UNIQUE REFERENCES contracts (id),
  account_id          text NOT NULL REFERENCES accounts (id),
  -- The quote's owner: who sees the quote sees its order.
  owner_id            text NOT NULL REFERENCES principals (id),
  -- The seller's legal entity (legal-entities/entities.yaml), fixed when the order is made.
  seller_id           text NOT NULL,
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status              text NOT NULL CHECK (status IN ('open', 'fulfilled', 'canceled')),
  payment_terms_days  integer NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
  rule_set_hash       text NOT NULL,
  price_book_hash     text NOT NULL,
  -- Over the whole contract, in minor units of the currency: the quote's totals.net and its split.
  net_minor           bigint NOT NULL,
  one_time_minor      bigint NOT NULL,
  annual_recurring_minor bigint NOT NULL,
  cancel_reason       text,
  version             integer NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  UNIQUE (quote_id, revision),
  CHECK ((status = 'canceled') = (cancel_reason IS NOT NULL))
);
CREATE INDEX orders_owner_idx ON orders (owner_id, id);
CREATE INDEX orders_account_idx ON orders (account_id, id);

CREATE TABLE order_lines (
  order_id               text NOT NULL REFERENCES orders (id),
  -- The line's index in the snapshot.
  line_no                integer NOT NULL CHECK (line_no >= 0),
  parent_line_no         integer,
  sku                    text NOT NULL,
  name                   text NOT NULL,
  product_type           text NOT NULL CHECK (product_type IN ('one_time', 'recurring', 'usage')),
  -- How the line is fulfilled (src/orders/order.ts): goods are shipped then delivered, services
  -- delivered (in days), subscriptions activated.
  fulfilment             text NOT NULL CHECK (fulfilment IN ('shipment', 'delivery', 'activation')),
  tax_category           text NOT NULL,
  revenue_treatment      text NOT NULL CHECK (revenue_treatment IN ('point_in_time', 'ratable')),
  unit                   text NOT NULL,
  billing_period         text CHECK (billing_period IN ('month', 'quarter', 'year')),
  -- Quantities in thousandths, exact (services are sold in fractions of a day).
  qty_milli              bigint NOT NULL CHECK (qty_milli >= 0),
  term_months            integer,
  start_date             date NOT NULL,
  periods                integer NOT NULL CHECK (periods >= 1),
  list_unit_price_minor  bigint NOT NULL,
  -- Per billing period, first year, after every discount; the whole term (ramps included).
  net_amount_minor       bigint NOT NULL,
  contract_amount_minor  bigint NOT NULL,
  discount_hundredths    bigint NOT NULL,
  -- Ramp years [{ year, periods, amountPerPeriod, amount }] in minor units, or null.
  ramp                   jsonb,
  shipped_milli          bigint NOT NULL DEFAULT 0,
  delivered_milli        bigint NOT NULL DEFAULT 0,
  activated_milli        bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (order_id, line_no),
  -- Never more than ordered, whatever a caller or a race tries.
  CHECK (shipped_milli BETWEEN 0 AND qty_milli),
  CHECK (delivered_milli BETWEEN 0 AND qty_milli),
  CHECK (activated_milli BETWEEN 0 AND qty_milli),
  -- Goods are delivered only once shipped.
  CHECK (fulfilment <> 'shipment' OR delivered_milli <= shipped_milli)
);

-- A fulfilment: quantities shipped, delivered or activated on a day, as one record.
CREATE TABLE fulfilments (
  id            text PRIMARY KEY,
  order_id      text NOT NULL REFERENCES orders (id),
  occurred_on   date NOT NULL,
  reference     text,
  recorded_by   text NOT NULL REFERENCES principals (id),
  created_at    timestamptz NOT NULL
);
CREATE INDEX fulfilments_order_idx ON fulfilments (order_id, created_at, id);

CREATE TABLE fulfilment_lines (
  fulfilment_id  text NOT NULL REFERENCES fulfilments (id),
  order_id       text NOT NULL,
  line_no        integer NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('shipped', 'delivered', 'activated')),
  qty_milli      bigint NOT NULL CHECK (qty_milli > 0),
  PRIMARY KEY (fulfilment_id, line_no, kind),
  FOREIGN KEY (order_id, line_no) REFERENCES order_lines (order_id, line_no)
);

-- What was fulfilled stays recorded: a correction is a new record, never an edit.
CREATE TRIGGER fulfilments_append_only BEFORE UPDATE OR DELETE ON fulfilments
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER fulfilments_no_truncate BEFORE TRUNCATE ON fulfilments
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER fulfilment_lines_append_only BEFORE UPDATE OR DELETE ON fulfilment_lines
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER fulfilment_lines_no_truncate BEFORE TRUNCATE ON fulfilment_lines
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

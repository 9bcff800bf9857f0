-- Billing schedules: where an account's recurring periods fall, and each order line's
-- schedule, derived once when the order is created and never edited after.

ALTER TABLE accounts ADD COLUMN billing_alignment text NOT NULL DEFAULT 'anniversary'
  CHECK (billing_alignment IN ('anniversary', 'calendar'));
-- Copied from the account when the order is made: a later change of the account does not move
-- the periods of an order already scheduled.
ALTER TABLE orders ADD COLUMN billing_alignment text NOT NULL DEFAULT 'anniversary'
  CHECK (billing_alignment IN ('anniversary', 'calendar'));

-- The seller legal entity (legal-entities/entities.yaml) an account buys from, when not the
-- one chosen by currency; and the entity a contract's document was issued by, which its order
-- then keeps.
ALTER TABLE accounts ADD COLUMN seller_id text;
ALTER TABLE contracts ADD COLUMN seller_id text;

CREATE TABLE billing_schedule_items (
  order_id       text NOT NULL,
  line_no        integer NOT NULL,
  seq            integer NOT NULL CHECK (seq >= 1),
  -- order: one-time, due on the order day; fulfilment: one-time, due as fulfilled;
  -- period: recurring, due in advance on the period's first day.
  trigger        text NOT NULL CHECK (trigger IN ('order', 'fulfilment', 'period')),
  period_start   date,
  period_end     date,
  bill_on        date,
  contract_year  integer CHECK (contract_year >= 1),
  prorated       boolean NOT NULL,
  amount_minor   bigint NOT NULL CHECK (amount_minor >= 0),
  PRIMARY KEY (order_id, line_no, seq),
  FOREIGN KEY (order_id, line_no) REFERENCES order_lines (order_id, line_no),
  CHECK ((trigger = 'period') = (period_start IS NOT NULL AND period_end IS NOT NULL AND contract_year IS NOT NULL)),
  CHECK (period_end IS NULL OR period_end >= period_start),
  CHECK ((trigger = 'fulfilment') = (bill_on IS NULL))
);
-- Invoice runs look for what falls due by a day.
CREATE INDEX billing_schedule_items_due_idx ON billing_schedule_items (bill_on) WHERE bill_on IS NOT NULL;

CREATE TRIGGER billing_schedule_items_append_only BEFORE UPDATE OR DELETE ON billing_schedule_items
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER billing_schedule_items_no_truncate BEFORE TRUNCATE ON billing_schedule_items
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

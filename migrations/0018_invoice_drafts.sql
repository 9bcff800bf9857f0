-- Invoice drafts: a run may draft its invoices for review instead of issuing them. A draft has
-- no number, posts nothing and is deposited nowhere; issuing it makes the invoice (number,
-- journal entry, deposit) from its lines as reviewed, discarding it puts its items back to due.
-- The draft row stays as the record of the review: issued (with the invoice it became) or
-- discarded (with why).

ALTER TABLE invoice_runs ADD COLUMN drafts boolean NOT NULL DEFAULT false;

CREATE TABLE invoice_drafts (
  id                  text PRIMARY KEY,
  status              text NOT NULL CHECK (status IN ('draft', 'issued', 'discarded')),
  run_id              text REFERENCES invoice_runs (id),
  seller_id           text NOT NULL,
  account_id          text NOT NULL REFERENCES accounts (id),
  owner_id            text NOT NULL REFERENCES principals (id),
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  payment_terms_days  integer NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
  -- The buyer and seller as the draft prints them; the invoice issued from it keeps them.
  buyer               jsonb NOT NULL,
  seller              jsonb NOT NULL,
  net_minor           bigint NOT NULL CHECK (net_minor >= 0),
  tax_minor           bigint NOT NULL CHECK (tax_minor >= 0),
  total_minor         bigint NOT NULL CHECK (total_minor = net_minor + tax_minor),
  -- The rule set whose tax rules decided each line's VAT, on drafted_on.
  rule_set_hash       text NOT NULL,
  drafted_on          date NOT NULL,
  invoice_id          text UNIQUE REFERENCES invoices (id),
  discard_reason      text,
  version             integer NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  CHECK ((status = 'issued') = (invoice_id IS NOT NULL)),
  CHECK ((status = 'discarded') = (discard_reason IS NOT NULL))
);
CREATE INDEX invoice_drafts_owner_idx ON invoice_drafts (owner_id, id);
CREATE INDEX invoice_drafts_open_idx ON invoice_drafts (id) WHERE status = 'draft';

-- A draft's lines, as an invoice's (see invoice_lines). An item slice is in one draft at most:
-- a discarded draft's lines are deleted, so its items fall due again.
CREATE TABLE invoice_draft_lines (
  draft_id             text NOT NULL REFERENCES invoice_drafts (id),
  line_no              integer NOT NULL CHECK (line_no >= 1),
  order_id             text NOT NULL,
  order_line_no        integer NOT NULL,
  schedule_seq         integer NOT NULL,
  billed_through_milli bigint NOT NULL CHECK (billed_through_milli > 0),
  quote_number         text NOT NULL,
  order_number         text NOT NULL,
  sku                  text NOT NULL,
  description          text NOT NULL,
  qty_milli            bigint NOT NULL CHECK (qty_milli > 0),
  unit                 text NOT NULL,
  period_start         date,
  period_end           date,
  discount_hundredths  bigint NOT NULL,
  net_minor            bigint NOT NULL CHECK (net_minor >= 0),
  revenue_treatment    text NOT NULL CHECK (revenue_treatment IN ('point_in_time', 'ratable')),
  product_tax_category text NOT NULL,
  vat_category         text NOT NULL CHECK (vat_category IN ('S', 'AE', 'E', 'G', 'O', 'K', 'Z')),
  vat_rate_bp          integer NOT NULL CHECK (vat_rate_bp BETWEEN 0 AND 9999),
  vat_mention          text,
  vat_exemption_code   text,
  tax_rule_id          text NOT NULL,
  PRIMARY KEY (draft_id, line_no),
  FOREIGN KEY (order_id, order_line_no, schedule_seq) REFERENCES billing_schedule_items (order_id, line_no, seq),
  UNIQUE (order_id, order_line_no, schedule_seq, billed_through_milli),
  CHECK (period_end IS NULL OR period_end >= period_start)
);
CREATE INDEX invoice_draft_lines_item_idx ON invoice_draft_lines (order_id, order_line_no, schedule_seq);

CREATE TABLE invoice_draft_tax_lines (
  draft_id        text NOT NULL REFERENCES invoice_drafts (id),
  vat_category    text NOT NULL,
  vat_rate_bp     integer NOT NULL,
  base_minor      bigint NOT NULL CHECK (base_minor >= 0),
  tax_minor       bigint NOT NULL CHECK (tax_minor >= 0),
  mention         text,
  exemption_code  text,
  PRIMARY KEY (draft_id, vat_category, vat_rate_bp)
);

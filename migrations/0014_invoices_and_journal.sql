-- Invoicing: invoice runs, invoices with gapless numbers per seller and year, their lines and
-- VAT breakdown; and the double-entry journal they post to.

-- The last number given per seller, kind and year. Numbers are taken by an UPDATE of this row
-- inside the issuing transaction: its row lock serialises issuers of one sequence, and a
-- rollback gives the number back, so there is never a gap (a sequence would leave one).
CREATE TABLE invoice_number_counters (
  seller_id    text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
  year         integer NOT NULL CHECK (year BETWEEN 2000 AND 9999),
  last_number  integer NOT NULL CHECK (last_number >= 0),
  PRIMARY KEY (seller_id, kind, year)
);

CREATE TABLE invoice_runs (
  id             text PRIMARY KEY,
  -- Everything due on or before this day is invoiced.
  as_of          date NOT NULL,
  status         text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  requested_by   text REFERENCES principals (id),
  -- The pg-boss job running it (null for a run started by the daily schedule before its row).
  job_id         text,
  -- Invoices to make (groups of account, seller, currency and terms) and made so far.
  total          integer,
  done           integer NOT NULL DEFAULT 0,
  invoices       integer NOT NULL DEFAULT 0,
  -- Groups that could not be invoiced, with why (a line no tax rule decides…): [{ accountId, error }].
  failures       jsonb NOT NULL DEFAULT '[]',
  created_at     timestamptz NOT NULL,
  started_at     timestamptz,
  finished_at    timestamptz
);
CREATE INDEX invoice_runs_created_idx ON invoice_runs (created_at DESC, id);

CREATE TABLE invoices (
  id                  text PRIMARY KEY,
  kind                text NOT NULL DEFAULT 'invoice' CHECK (kind IN ('invoice')),
  -- <prefix>-<year>-<six digits>: the seller's invoicePrefix, the issue year, the gapless sequence.
  number              text NOT NULL UNIQUE,
  seller_id           text NOT NULL,
  year                integer NOT NULL,
  sequence            integer NOT NULL CHECK (sequence >= 1),
  account_id          text NOT NULL REFERENCES accounts (id),
  -- Whoever sees the account's orders sees its invoices: the owner of the account when invoiced.
  owner_id            text NOT NULL REFERENCES principals (id),
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status              text NOT NULL CHECK (status IN ('issued', 'partially_paid', 'paid', 'overdue')),
  issue_date          date NOT NULL,
  due_date            date NOT NULL,
  payment_terms_days  integer NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
  -- The buyer and seller as printed, frozen at issue: a later change of the account changes no invoice.
  buyer               jsonb NOT NULL,
  seller              jsonb NOT NULL,
  net_minor           bigint NOT NULL CHECK (net_minor >= 0),
  tax_minor           bigint NOT NULL CHECK (tax_minor >= 0),
  total_minor         bigint NOT NULL CHECK (total_minor = net_minor + tax_minor),
  -- The rule set whose tax rules decided each line's VAT.
  rule_set_hash       text NOT NULL,
  run_id              text REFERENCES invoice_runs (id),
  version             integer NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  UNIQUE (seller_id, kind, year, sequence),
  CHECK (due_date >= issue_date)
);
CREATE INDEX invoices_account_idx ON invoices (account_id, id);
CREATE INDEX invoices_owner_idx ON invoices (owner_id, id);

CREATE TABLE invoice_lines (
  invoice_id           text NOT NULL REFERENCES invoices (id),
  line_no              integer NOT NULL CHECK (line_no >= 1),
  order_id             text NOT NULL,
  order_line_no        integer NOT NULL,
  -- The schedule item billed (billing_schedule_items.seq).
  schedule_seq         integer NOT NULL,
  -- How much of the item this line bills through, in thousandths of the ordered quantity's
  -- unit: the whole quantity for an item due on order or per period; for an item billed as
  -- fulfilled, the quantity fulfilled so far. Unique with the item: nothing billed twice.
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
  -- The VAT decided by the tax rules: EN 16931 category, rate in hundredths of a percent.
  vat_category         text NOT NULL CHECK (vat_category IN ('S', 'AE', 'E', 'G', 'O', 'K', 'Z')),
  vat_rate_bp          integer NOT NULL CHECK (vat_rate_bp BETWEEN 0 AND 9999),
  vat_mention          text,
  vat_exemption_code   text,
  tax_rule_id          text NOT NULL,
  PRIMARY KEY (invoice_id, line_no),
  FOREIGN KEY (order_id, order_line_no, schedule_seq) REFERENCES billing_schedule_items (order_id, line_no, seq),
  UNIQUE (order_id, order_line_no, schedule_seq, billed_through_milli),
  CHECK (period_end IS NULL OR period_end >= period_start)
);
CREATE INDEX invoice_lines_item_idx ON invoice_lines (order_id, order_line_no, schedule_seq);

-- The VAT breakdown per category and rate: tax computed once on each base, as EN 16931 requires.
CREATE TABLE invoice_tax_lines (
  invoice_id      text NOT NULL REFERENCES invoices (id),
  vat_category    text NOT NULL,
  vat_rate_bp     integer NOT NULL,
  base_minor      bigint NOT NULL CHECK (base_minor >= 0),
  tax_minor       bigint NOT NULL CHECK (tax_minor >= 0),
  mention         text,
  exemption_code  text,
  PRIMARY KEY (invoice_id, vat_category, vat_rate_bp)
);

-- Issued is final: lines and breakdown never change, and of an invoice only its payment status
-- may (the cash side moves it to partially_paid, paid, overdue). A mistake is a credit note.
CREATE FUNCTION qtc_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'invoices are never deleted: % on %', TG_OP, TG_TABLE_NAME;
  END IF;
  IF (NEW.id, NEW.kind, NEW.number, NEW.seller_id, NEW.year, NEW.sequence, NEW.account_id, NEW.owner_id, NEW.currency,
      NEW.issue_date, NEW.due_date, NEW.payment_terms_days, NEW.buyer, NEW.seller, NEW.net_minor, NEW.tax_minor,
      NEW.total_minor, NEW.rule_set_hash, NEW.run_id, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.kind, OLD.number, OLD.seller_id, OLD.year, OLD.sequence, OLD.account_id, OLD.owner_id, OLD.currency,
      OLD.issue_date, OLD.due_date, OLD.payment_terms_days, OLD.buyer, OLD.seller, OLD.net_minor, OLD.tax_minor,
      OLD.total_minor, OLD.rule_set_hash, OLD.run_id, OLD.created_at) THEN
    RAISE EXCEPTION 'an issued invoice is immutable: only its payment status changes (invoice %)', OLD.number;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
  FOR EACH ROW EXECUTE FUNCTION qtc_invoice_immutable();
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON invoices
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER invoice_lines_append_only BEFORE UPDATE OR DELETE ON invoice_lines
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER invoice_lines_no_truncate BEFORE TRUNCATE ON invoice_lines
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER invoice_tax_lines_append_only BEFORE UPDATE OR DELETE ON invoice_tax_lines
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER invoice_tax_lines_no_truncate BEFORE TRUNCATE ON invoice_tax_lines
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

-- The journal: double entry, one currency per entry, never edited (a correction is a
-- reversing entry). Account codes follow the French chart of accounts (src/ledger/chart.ts).
CREATE TABLE journal_entries (
  id           text PRIMARY KEY,
  -- Posting order, for listing; gaps are harmless here (the numbers that must be gapless are the invoices').
  seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  entry_date   date NOT NULL,
  currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- What the entry records: one entry per source document and purpose.
  source_type  text NOT NULL,
  source_id    text NOT NULL,
  memo         text NOT NULL,
  created_at   timestamptz NOT NULL,
  UNIQUE (source_type, source_id)
);

CREATE TABLE journal_lines (
  entry_id      text NOT NULL REFERENCES journal_entries (id),
  line_no       integer NOT NULL CHECK (line_no >= 1),
  account_code  text NOT NULL CHECK (account_code ~ '^[0-9]{3,8}$'),
  debit_minor   bigint NOT NULL CHECK (debit_minor >= 0),
  credit_minor  bigint NOT NULL CHECK (credit_minor >= 0),
  -- The account (the buyer) a receivable or customer-credit line belongs to.
  party_id      text,
  PRIMARY KEY (entry_id, line_no),
  CHECK ((debit_minor = 0) <> (credit_minor = 0))
);
CREATE INDEX journal_lines_account_idx ON journal_lines (account_code);

-- Balanced, checked by the database at commit: whatever code posts an entry, debits equal
-- credits within it, and it has two lines at least.
CREATE FUNCTION qtc_journal_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  debits bigint;
  credits bigint;
  lines integer;
BEGIN
  SELECT coalesce(sum(debit_minor), 0), coalesce(sum(credit_minor), 0), count(*) INTO debits, credits, lines
    FROM journal_lines WHERE entry_id = NEW.entry_id;
  IF debits <> credits OR lines < 2 THEN
    RAISE EXCEPTION 'journal entry % is not balanced: debits %, credits %, % lines', NEW.entry_id, debits, credits, lines;
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION qtc_journal_entry_balanced();

CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER journal_lines_append_only BEFORE UPDATE OR DELETE ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER journal_lines_no_truncate BEFORE TRUNCATE ON journal_lines
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

-- Cash: payments received, their allocation to invoices, customer credit and refunds. The
-- journal (0014) is the book of record (a customer's credit balance is read from it); these
-- tables say which invoice each amount settled.

-- What of an invoice is settled, kept on the invoice so its open amount (total − credited −
-- paid) is read, locked and checked in one row: credit notes add to credited_minor, payments
-- and credit applied add to paid_minor, a refund that reopens an invoice takes from it.
ALTER TABLE invoices ADD COLUMN credited_minor bigint NOT NULL DEFAULT 0 CHECK (credited_minor >= 0);
ALTER TABLE invoices ADD COLUMN paid_minor bigint NOT NULL DEFAULT 0 CHECK (paid_minor >= 0);
UPDATE invoices i SET credited_minor = c.total
  FROM (SELECT invoice_id, sum(total_minor) AS total FROM credit_notes GROUP BY invoice_id) c
  WHERE c.invoice_id = i.id;
-- Never more settled than invoiced: nothing is allocated beyond what is open.
ALTER TABLE invoices ADD CONSTRAINT invoices_settled_within_total CHECK (credited_minor + paid_minor <= total_minor);
ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check
  CHECK (status IN ('issued', 'partially_paid', 'paid', 'overdue', 'credited'));
-- Open invoices of an account, oldest due first: what an allocation walks.
CREATE INDEX invoices_open_idx ON invoices (account_id, currency, due_date, id) WHERE credited_minor + paid_minor < total_minor;

CREATE TABLE payments (
  id                  text PRIMARY KEY,
  account_id          text NOT NULL REFERENCES accounts (id),
  method              text NOT NULL CHECK (method IN ('bank_transfer', 'card', 'direct_debit')),
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
  received_date       date NOT NULL,
  -- The payer's bank reference or remittance text, as received.
  reference           text CHECK (length(reference) <= 140),
  status              text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded', 'partially_refunded')),
  refunded_minor      bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
  -- The allocation asked for, applied when the payment succeeds: [{ invoiceId, amountMinor }], or null (oldest due first).
  allocation          jsonb,
  created_by          text NOT NULL REFERENCES principals (id),
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  version             integer NOT NULL DEFAULT 1
);
CREATE INDEX payments_account_idx ON payments (account_id, id);

CREATE TABLE refunds (
  id                  text PRIMARY KEY,
  account_id          text NOT NULL REFERENCES accounts (id),
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- The payment refunded, or null: a refund of the account's credit balance.
  payment_id          text REFERENCES payments (id),
  amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
  -- Where the money comes back from: the account's credit balance first, then invoices the
  -- payment had settled, which are owed again.
  from_credit_minor   bigint NOT NULL CHECK (from_credit_minor >= 0),
  reopened_minor      bigint NOT NULL CHECK (reopened_minor >= 0),
  reason              text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  refund_date         date NOT NULL,
  created_by          text NOT NULL REFERENCES principals (id),
  created_at          timestamptz NOT NULL,
  CHECK (from_credit_minor + reopened_minor = amount_minor),
  CHECK (payment_id IS NOT NULL OR reopened_minor = 0)
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX refunds_account_idx ON refunds (account_id, id);

-- The history of each invoice's paid_minor, one row per change: an amount a payment settled,
-- or the account's credit applied (positive); a refund reopening it, or a credit note releasing
-- to customer credit what was paid beyond what remained (negative). Its sum is paid_minor, and
-- its dates give any day's open amount (AR ageing as of a past day). Append-only.
CREATE TABLE invoice_allocations (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  invoice_id          text NOT NULL REFERENCES invoices (id),
  account_id          text NOT NULL REFERENCES accounts (id),
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  source              text NOT NULL CHECK (source IN ('payment', 'credit', 'refund', 'credit_note')),
  payment_id          text REFERENCES payments (id),
  refund_id           text REFERENCES refunds (id),
  credit_note_id      text REFERENCES credit_notes (id),
  amount_minor        bigint NOT NULL CHECK (amount_minor <> 0),
  -- The journal entry that posted it.
  journal_entry_id    text NOT NULL REFERENCES journal_entries (id),
  allocated_on        date NOT NULL,
  created_by          text NOT NULL REFERENCES principals (id),
  created_at          timestamptz NOT NULL,
  CHECK ((source IN ('refund', 'credit_note')) = (amount_minor < 0)),
  CHECK ((source = 'payment') <= (payment_id IS NOT NULL)),
  CHECK ((source = 'refund') = (refund_id IS NOT NULL)),
  CHECK ((source = 'credit_note') = (credit_note_id IS NOT NULL))
);
CREATE INDEX invoice_allocations_invoice_idx ON invoice_allocations (invoice_id, id);
CREATE INDEX invoice_allocations_payment_idx ON invoice_allocations (payment_id, id) WHERE payment_id IS NOT NULL;

-- A party's balance on one account (its customer credit, its receivable) is read from the journal.
CREATE INDEX journal_lines_party_idx ON journal_lines (party_id, account_code) WHERE party_id IS NOT NULL;

CREATE TRIGGER refunds_append_only BEFORE UPDATE OR DELETE ON refunds
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER refunds_no_truncate BEFORE TRUNCATE ON refunds
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER invoice_allocations_append_only BEFORE UPDATE OR DELETE ON invoice_allocations
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER invoice_allocations_no_truncate BEFORE TRUNCATE ON invoice_allocations
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
-- A payment is never deleted: a mistaken one is refunded.
CREATE FUNCTION qtc_payment_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'payments are never deleted: % on %', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER payments_kept BEFORE DELETE ON payments FOR EACH ROW EXECUTE FUNCTION qtc_payment_kept();
CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON payments
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

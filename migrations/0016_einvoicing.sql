-- E-invoicing through a certified platform ("plateforme agréée"): each invoice issued while a
-- platform is configured is deposited there once, and the platform's lifecycle statuses
-- (déposée, rejetée, refusée, encaissée…) are kept on the invoice's timeline. A rejected or
-- refused invoice is cancelled by a credit note and reissued: the replacement bills the same
-- schedule items again, one generation later.

CREATE TABLE einvoice_submissions (
  invoice_id    text PRIMARY KEY REFERENCES invoices (id),
  platform      text NOT NULL,
  -- The last lifecycle status received (pending: not deposited yet).
  status        text NOT NULL CHECK (status IN ('pending', 'deposited', 'received', 'made_available', 'approved',
                                                'disputed', 'refused', 'payment_sent', 'collected', 'rejected')),
  -- The platform's id of the deposited invoice.
  reference     text,
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text,
  next_attempt_at timestamptz NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  UNIQUE (platform, reference)
);
CREATE INDEX einvoice_submissions_pending_idx ON einvoice_submissions (next_attempt_at) WHERE status = 'pending';

-- The timeline: every status the platform reported, once (its event id is unique), never changed.
CREATE TABLE einvoice_events (
  seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  invoice_id    text NOT NULL REFERENCES invoices (id),
  platform      text NOT NULL,
  event_id      text NOT NULL,
  status        text NOT NULL,
  reason        text,
  occurred_at   timestamptz NOT NULL,
  received_at   timestamptz NOT NULL,
  UNIQUE (platform, event_id)
);
CREATE INDEX einvoice_events_invoice_idx ON einvoice_events (invoice_id, seq);
CREATE TRIGGER einvoice_events_append_only BEFORE UPDATE OR DELETE ON einvoice_events
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER einvoice_events_no_truncate BEFORE TRUNCATE ON einvoice_events
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

-- Where each platform's status feed was read up to.
CREATE TABLE einvoice_platform_cursors (
  platform      text PRIMARY KEY,
  cursor        text,
  updated_at    timestamptz NOT NULL
);

-- A reissue: the invoice that replaces a rejected or refused one (credited in full), at most one.
ALTER TABLE invoices ADD COLUMN replaces_invoice_id text UNIQUE REFERENCES invoices (id);

-- The lines of a reissue bill the same items as those they replace: an item slice is billed
-- once per generation (0 for a first invoice), and each invoice is reissued at most once.
ALTER TABLE invoice_lines ADD COLUMN generation integer NOT NULL DEFAULT 0 CHECK (generation >= 0);
DO $$
DECLARE c text;
BEGIN
  SELECT conname INTO c FROM pg_constraint WHERE conrelid = 'invoice_lines'::regclass AND contype = 'u';
  EXECUTE format('ALTER TABLE invoice_lines DROP CONSTRAINT %I', c);
END $$;
ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_item_once_per_generation
  UNIQUE (order_id, order_line_no, schedule_seq, billed_through_milli, generation);

CREATE OR REPLACE FUNCTION qtc_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'invoices are never deleted: % on %', TG_OP, TG_TABLE_NAME;
  END IF;
  IF (NEW.id, NEW.kind, NEW.number, NEW.seller_id, NEW.year, NEW.sequence, NEW.account_id, NEW.owner_id, NEW.currency,
      NEW.issue_date, NEW.due_date, NEW.payment_terms_days, NEW.buyer, NEW.seller, NEW.net_minor, NEW.tax_minor,
      NEW.total_minor, NEW.rule_set_hash, NEW.run_id, NEW.created_at, NEW.replaces_invoice_id)
     IS DISTINCT FROM
     (OLD.id, OLD.kind, OLD.number, OLD.seller_id, OLD.year, OLD.sequence, OLD.account_id, OLD.owner_id, OLD.currency,
      OLD.issue_date, OLD.due_date, OLD.payment_terms_days, OLD.buyer, OLD.seller, OLD.net_minor, OLD.tax_minor,
      OLD.total_minor, OLD.rule_set_hash, OLD.run_id, OLD.created_at, OLD.replaces_invoice_id) THEN
    RAISE EXCEPTION 'an issued invoice is immutable: only its payment status changes (invoice %)', OLD.number;
  END IF;
  RETURN NEW;
END $$;

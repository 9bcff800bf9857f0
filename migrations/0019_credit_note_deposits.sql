-- Credit notes are deposited on the certified platform as invoices are, and their lifecycle
-- statuses kept: a submission, and each status on a timeline, is of one document — an
-- invoice or a credit note — whose id is `document_id`.

ALTER TABLE einvoice_submissions ADD COLUMN credit_note_id text UNIQUE REFERENCES credit_notes (id);
ALTER TABLE einvoice_submissions DROP CONSTRAINT einvoice_submissions_pkey;
ALTER TABLE einvoice_submissions ALTER COLUMN invoice_id DROP NOT NULL;
ALTER TABLE einvoice_submissions ADD CONSTRAINT einvoice_submissions_invoice_once UNIQUE (invoice_id);
ALTER TABLE einvoice_submissions ADD CONSTRAINT einvoice_submissions_one_document
  CHECK ((invoice_id IS NULL) <> (credit_note_id IS NULL));
ALTER TABLE einvoice_submissions ADD COLUMN document_id text GENERATED ALWAYS AS (coalesce(invoice_id, credit_note_id)) STORED;
ALTER TABLE einvoice_submissions ADD PRIMARY KEY (document_id);

ALTER TABLE einvoice_events ADD COLUMN credit_note_id text REFERENCES credit_notes (id);
ALTER TABLE einvoice_events ALTER COLUMN invoice_id DROP NOT NULL;
ALTER TABLE einvoice_events ADD CONSTRAINT einvoice_events_one_document
  CHECK ((invoice_id IS NULL) <> (credit_note_id IS NULL));
CREATE INDEX einvoice_events_credit_note_idx ON einvoice_events (credit_note_id, seq) WHERE credit_note_id IS NOT NULL;

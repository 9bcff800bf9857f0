-- Credit notes: an invoice is never changed; it is credited, in full or in part, by a credit
-- note with its own gapless sequence per seller and year (counter kind 'credit_note').

CREATE TABLE credit_notes (
  id              text PRIMARY KEY,
  number          text NOT NULL UNIQUE,
  seller_id       text NOT NULL,
  year            integer NOT NULL,
  sequence        integer NOT NULL CHECK (sequence >= 1),
  invoice_id      text NOT NULL REFERENCES invoices (id),
  account_id      text NOT NULL REFERENCES accounts (id),
  owner_id        text NOT NULL REFERENCES principals (id),
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  issue_date      date NOT NULL,
  reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  -- Amounts credited, positive: what the buyer no longer owes.
  net_minor       bigint NOT NULL CHECK (net_minor > 0),
  tax_minor       bigint NOT NULL CHECK (tax_minor >= 0),
  total_minor     bigint NOT NULL CHECK (total_minor = net_minor + tax_minor),
  created_by      text NOT NULL REFERENCES principals (id),
  created_at      timestamptz NOT NULL,
  UNIQUE (seller_id, year, sequence)
);
CREATE INDEX credit_notes_invoice_idx ON credit_notes (invoice_id, id);

CREATE TABLE credit_note_lines (
  credit_note_id   text NOT NULL REFERENCES credit_notes (id),
  line_no          integer NOT NULL CHECK (line_no >= 1),
  invoice_id       text NOT NULL,
  invoice_line_no  integer NOT NULL,
  description      text NOT NULL,
  net_minor        bigint NOT NULL CHECK (net_minor > 0),
  vat_category     text NOT NULL,
  vat_rate_bp      integer NOT NULL,
  PRIMARY KEY (credit_note_id, line_no),
  FOREIGN KEY (invoice_id, invoice_line_no) REFERENCES invoice_lines (invoice_id, line_no)
);
CREATE INDEX credit_note_lines_invoice_idx ON credit_note_lines (invoice_id, invoice_line_no);

CREATE TABLE credit_note_tax_lines (
  credit_note_id  text NOT NULL REFERENCES credit_notes (id),
  vat_category    text NOT NULL,
  vat_rate_bp     integer NOT NULL,
  base_minor      bigint NOT NULL CHECK (base_minor >= 0),
  tax_minor       bigint NOT NULL CHECK (tax_minor >= 0),
  mention         text,
  exemption_code  text,
  PRIMARY KEY (credit_note_id, vat_category, vat_rate_bp)
);

CREATE TRIGGER credit_notes_append_only BEFORE UPDATE OR DELETE ON credit_notes
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER credit_notes_no_truncate BEFORE TRUNCATE ON credit_notes
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER credit_note_lines_append_only BEFORE UPDATE OR DELETE ON credit_note_lines
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER credit_note_lines_no_truncate BEFORE TRUNCATE ON credit_note_lines
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER credit_note_tax_lines_append_only BEFORE UPDATE OR DELETE ON credit_note_tax_lines
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER credit_note_tax_lines_no_truncate BEFORE TRUNCATE ON credit_note_tax_lines
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

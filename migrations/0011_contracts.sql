-- Contracts: what the buyer is asked to sign (one presented quote revision, its document and
-- terms), the link they sign by, the evidence of their signature, and a timeline of events.

-- The terms in force for a revision: { id, version, sha256: { en, fr } } (src/documents/terms.ts).
-- Revisions priced before terms were recorded keep null; presenting one records the terms then.
ALTER TABLE quote_revisions ADD COLUMN terms jsonb;

CREATE TABLE contracts (
  id                      text PRIMARY KEY,
  quote_id                text NOT NULL REFERENCES quotes (id),
  revision                integer NOT NULL,
  quote_number            text NOT NULL,
  account_id              text NOT NULL REFERENCES accounts (id),
  -- The quote's owner: who sees the contract is who sees the quote.
  owner_id                text NOT NULL REFERENCES principals (id),
  -- The contact who may sign: the signing link is theirs.
  contact_id              text NOT NULL REFERENCES contacts (id),
  status                  text NOT NULL CHECK (status IN ('sent', 'viewed', 'signed', 'declined', 'expired', 'withdrawn')),
  lang                    text NOT NULL CHECK (lang IN ('en', 'fr')),
  -- SHA-256 of the link's token: the token itself is shown once and never stored.
  token_hash              text NOT NULL UNIQUE,
  -- The last day the link signs (the quote's validity).
  expires_on              date NOT NULL,
  terms                   jsonb NOT NULL,
  document                bytea NOT NULL,
  document_sha256         text NOT NULL CHECK (document_sha256 ~ '^[0-9a-f]{64}$'),
  signed_document         bytea,
  signed_document_sha256  text,
  evidence                jsonb,
  evidence_hash           text,
  decline_reason          text,
  created_by              text NOT NULL REFERENCES principals (id),
  version                 integer NOT NULL DEFAULT 1,
  created_at              timestamptz NOT NULL,
  updated_at              timestamptz NOT NULL,
  UNIQUE (quote_id, revision),
  CHECK ((status = 'signed') = (evidence IS NOT NULL AND signed_document IS NOT NULL)),
  CHECK (status <> 'declined' OR decline_reason IS NOT NULL)
);
-- A quote has at most one contract awaiting the buyer.
CREATE UNIQUE INDEX contracts_one_open_per_quote ON contracts (quote_id) WHERE status IN ('sent', 'viewed');

CREATE TABLE contract_events (
  id           text PRIMARY KEY,
  contract_id  text NOT NULL REFERENCES contracts (id),
  type         text NOT NULL,
  at           timestamptz NOT NULL,
  ip           text,
  user_agent   text,
  detail       text
);
CREATE INDEX contract_events_contract_idx ON contract_events (contract_id, at, id);
CREATE TRIGGER contract_events_append_only BEFORE UPDATE OR DELETE ON contract_events
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER contract_events_no_truncate BEFORE TRUNCATE ON contract_events
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

-- Actors that are not principals: a buyer signs by a link, not an API key. Null kind keeps the
-- meaning rows had before (a principal when actor_id is set, else the system), so no existing
-- entry changes and the chain's hashes stay valid.
ALTER TABLE audit_log
  ADD COLUMN actor_kind text CHECK (actor_kind IN ('buyer')),
  ADD COLUMN actor_ref text,
  ADD CONSTRAINT audit_log_actor_ref CHECK ((actor_kind IS NULL) = (actor_ref IS NULL) AND (actor_kind IS NULL OR actor_id IS NULL));

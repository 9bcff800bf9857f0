-- Accounts and contacts: minimal but real customer records, owned by a principal.
CREATE TABLE accounts (
  id               text PRIMARY KEY,
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  billing_address  jsonb NOT NULL,
  country          text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  vat_id           text,
  segment          text NOT NULL,
  owner_id         text NOT NULL REFERENCES principals (id),
  version          integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);
CREATE INDEX accounts_owner_idx ON accounts (owner_id);

CREATE TABLE contacts (
  id          text PRIMARY KEY,
  account_id  text NOT NULL REFERENCES accounts (id),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  email       text NOT NULL,
  role        text,
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX contacts_account_idx ON contacts (account_id);

-- Quotes: one row per quote (its current state), one row per revision (what was priced).
CREATE SEQUENCE quote_number_seq;
CREATE TABLE quotes (
  id                  text PRIMARY KEY,
  number              text NOT NULL UNIQUE,
  account_id          text NOT NULL REFERENCES accounts (id),
  owner_id            text NOT NULL REFERENCES principals (id),
  currency            text NOT NULL,
  status              text NOT NULL CHECK (status IN ('draft','pending_approval','approved','rejected','presented','accepted','declined','expired','canceled')),
  current_revision    integer NOT NULL,
  valid_until         date NOT NULL,
  payment_terms_days  integer NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
  notes               text,
  version             integer NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);
CREATE INDEX quotes_owner_idx ON quotes (owner_id);
CREATE INDEX quotes_expiry_idx ON quotes (valid_until) WHERE status IN ('draft','pending_approval','approved','presented');

CREATE TABLE quote_revisions (
  quote_id          text NOT NULL REFERENCES quotes (id),
  revision          integer NOT NULL CHECK (revision >= 1),
  cart              jsonb NOT NULL,
  evaluation        jsonb NOT NULL,
  decision_id       text NOT NULL REFERENCES decisions (id),
  fingerprint       jsonb NOT NULL,
  fingerprint_hash  text NOT NULL,
  created_by        text NOT NULL REFERENCES principals (id),
  created_at        timestamptz NOT NULL,
  PRIMARY KEY (quote_id, revision)
);

-- Approvals: a request per submission, bound to one revision; steps in levels.
CREATE TABLE approval_requests (
  id          text PRIMARY KEY,
  quote_id    text NOT NULL REFERENCES quotes (id),
  revision    integer NOT NULL,
  status      text NOT NULL CHECK (status IN ('pending','approved','rejected','withdrawn')),
  created_by  text NOT NULL REFERENCES principals (id),
  created_at  timestamptz NOT NULL,
  decided_at  timestamptz,
  FOREIGN KEY (quote_id, revision) REFERENCES quote_revisions (quote_id, revision)
);
-- At most one live request per quote.
CREATE UNIQUE INDEX approval_requests_one_pending ON approval_requests (quote_id) WHERE status = 'pending';

CREATE TABLE approval_steps (
  id                text PRIMARY KEY,
  request_id        text NOT NULL REFERENCES approval_requests (id),
  quote_id          text NOT NULL REFERENCES quotes (id),
  level             integer NOT NULL CHECK (level BETWEEN 1 AND 10),
  role              text NOT NULL,
  mode              text NOT NULL CHECK (mode IN ('all','any')),
  reasons           jsonb NOT NULL,
  status            text NOT NULL CHECK (status IN ('waiting','pending','approved','rejected','skipped','withdrawn')),
  -- The approval-relevant facts at the time the step was requested (and approved).
  bound_facts       jsonb NOT NULL,
  fingerprint_hash  text NOT NULL,
  rerequest_reason  text,
  carried_from      text REFERENCES approval_steps (id),
  decided_by        text REFERENCES principals (id),
  acting_for        text REFERENCES principals (id),
  comment           text,
  decided_at        timestamptz,
  created_at        timestamptz NOT NULL,
  UNIQUE (request_id, level, role)
);
CREATE INDEX approval_steps_pending_idx ON approval_steps (role) WHERE status = 'pending';
CREATE INDEX approval_steps_quote_idx ON approval_steps (quote_id);

CREATE TABLE delegations (
  id            text PRIMARY KEY,
  delegator_id  text NOT NULL REFERENCES principals (id),
  delegate_id   text NOT NULL REFERENCES principals (id),
  starts_on     date NOT NULL,
  ends_on       date NOT NULL,
  created_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  CHECK (delegator_id <> delegate_id),
  CHECK (starts_on <= ends_on)
);
CREATE INDEX delegations_delegate_idx ON delegations (delegate_id);

-- Audit: append-only and hash-chained: hash = sha256(prev_hash || canonical row).
CREATE TABLE audit_log (
  seq          bigint PRIMARY KEY,
  at           timestamptz NOT NULL,
  actor_id     text REFERENCES principals (id),
  acting_for   text REFERENCES principals (id),
  action       text NOT NULL,
  entity_type  text NOT NULL,
  entity_id    text NOT NULL,
  before       jsonb,
  after        jsonb,
  prev_hash    text NOT NULL,
  hash         text NOT NULL UNIQUE
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();

-- Outbox: every state change writes its event in the same transaction, for webhooks later.
CREATE TABLE outbox_events (
  id              text PRIMARY KEY,
  type            text NOT NULL,
  aggregate_type  text NOT NULL,
  aggregate_id    text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz NOT NULL,
  published_at    timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox_events (created_at) WHERE published_at IS NULL;

-- Principals: the people and systems that call QTC. Keys are stored only as SHA-256
-- digests of high-entropy random secrets, so a database leak does not leak credentials.
CREATE TABLE principals (
  id          text PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  roles       text[] NOT NULL CHECK (
                cardinality(roles) >= 1 AND
                roles <@ ARRAY['sales_rep','sales_manager','deal_desk','finance','pricing_analyst','admin']::text[]),
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  manager_id  text REFERENCES principals (id),
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id            text PRIMARY KEY,
  principal_id  text NOT NULL REFERENCES principals (id),
  key_hash      text NOT NULL UNIQUE,
  key_prefix    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);
CREATE INDEX api_keys_principal_idx ON api_keys (principal_id);

-- Idempotency keys (Stripe semantics): the first response to a key is stored in the same
-- transaction as the work it describes, and replayed for a retry with the same body.
CREATE TABLE idempotency_keys (
  principal_id     text NOT NULL REFERENCES principals (id),
  key              text NOT NULL,
  method           text NOT NULL,
  path             text NOT NULL,
  request_hash     text NOT NULL,
  response_status  integer NOT NULL,
  response_body    jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (principal_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

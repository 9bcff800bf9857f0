-- Every rule set that ever served, with the price books it was loaded with, stored whole:
-- any decision's hashes can be loaded again and replayed to the cent.
CREATE TABLE rule_set_versions (
  rule_set_hash    text NOT NULL,
  price_book_hash  text NOT NULL,
  sources          jsonb NOT NULL,
  summary          jsonb NOT NULL,
  published_by     text REFERENCES principals (id),
  published_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_set_hash, price_book_hash)
);

-- Append-only record of evaluations: inputs, outputs and the exact rules and prices used.
CREATE TABLE decisions (
  id               text PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('evaluation')),
  rule_set_hash    text NOT NULL,
  price_book_hash  text NOT NULL,
  principal_id     text NOT NULL REFERENCES principals (id),
  input            jsonb NOT NULL,
  output           jsonb NOT NULL,
  created_at       timestamptz NOT NULL,
  FOREIGN KEY (rule_set_hash, price_book_hash) REFERENCES rule_set_versions (rule_set_hash, price_book_hash)
);
CREATE INDEX decisions_created_idx ON decisions (created_at);

CREATE FUNCTION qtc_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER rule_set_versions_append_only BEFORE UPDATE OR DELETE ON rule_set_versions
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();

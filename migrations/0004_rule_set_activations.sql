-- Which rule set served when: one row each time a set is put into service (start-up or
-- reload), so a restart with broken files falls back to the set that served last, even when
-- that set had been published before.
CREATE TABLE rule_set_activations (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_set_hash    text NOT NULL,
  price_book_hash  text NOT NULL,
  activated_by     text REFERENCES principals (id),
  activated_at     timestamptz NOT NULL,
  FOREIGN KEY (rule_set_hash, price_book_hash) REFERENCES rule_set_versions (rule_set_hash, price_book_hash)
);
CREATE TRIGGER rule_set_activations_append_only BEFORE UPDATE OR DELETE ON rule_set_activations
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();

-- Append-only tables refuse TRUNCATE too: the row-level triggers of 0002–0004 do not fire
-- for it, so one statement could empty the audit log or the decision log. Statement-level,
-- so it also fires when another table's TRUNCATE ... CASCADE reaches these.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER rule_set_versions_no_truncate BEFORE TRUNCATE ON rule_set_versions
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER rule_set_activations_no_truncate BEFORE TRUNCATE ON rule_set_activations
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

-- An idempotent replay sends the first answer's bytes, not a re-rendering of a jsonb value
-- (jsonb keeps no key order). Answers stored before this migration keep jsonb's rendering.
ALTER TABLE idempotency_keys
  ADD COLUMN response_bytes bytea,
  ADD COLUMN response_type text NOT NULL DEFAULT 'application/json; charset=utf-8';
UPDATE idempotency_keys SET response_bytes = convert_to(response_body::text, 'UTF8');
ALTER TABLE idempotency_keys
  ALTER COLUMN response_bytes SET NOT NULL,
  ALTER COLUMN response_type DROP DEFAULT,
  DROP COLUMN response_body;

-- Milestone billing: a one-time product may be invoiced in parts (catalog `billOn: milestones`),
-- each schedule item one milestone's share, due when the order records the milestone reached.

ALTER TABLE billing_schedule_items ADD COLUMN milestone_id text;
ALTER TABLE billing_schedule_items ADD COLUMN milestone_name text;
ALTER TABLE billing_schedule_items ADD COLUMN milestone_percent text;
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'billing_schedule_items'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%fulfilment%'
  LOOP
    EXECUTE format('ALTER TABLE billing_schedule_items DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE billing_schedule_items ADD CONSTRAINT billing_schedule_items_trigger_known
  CHECK (trigger IN ('order', 'fulfilment', 'period', 'milestone'));
-- Items due as fulfilled or as a milestone is reached have no day of their own.
ALTER TABLE billing_schedule_items ADD CONSTRAINT billing_schedule_items_bill_on_set
  CHECK ((trigger IN ('fulfilment', 'milestone')) = (bill_on IS NULL));
ALTER TABLE billing_schedule_items ADD CONSTRAINT billing_schedule_items_milestone_named
  CHECK ((trigger = 'milestone') = (milestone_id IS NOT NULL AND milestone_name IS NOT NULL AND milestone_percent IS NOT NULL));

-- The milestones an order reached, once each, never changed.
CREATE TABLE order_milestones (
  order_id      text NOT NULL,
  line_no       integer NOT NULL,
  milestone_id  text NOT NULL,
  reached_on    date NOT NULL,
  recorded_by   text REFERENCES principals (id),
  note          text CHECK (length(note) <= 1000),
  created_at    timestamptz NOT NULL,
  PRIMARY KEY (order_id, line_no, milestone_id),
  FOREIGN KEY (order_id, line_no) REFERENCES order_lines (order_id, line_no)
);
CREATE TRIGGER order_milestones_append_only BEFORE UPDATE OR DELETE ON order_milestones
  FOR EACH ROW EXECUTE FUNCTION qtc_append_only();
CREATE TRIGGER order_milestones_no_truncate BEFORE TRUNCATE ON order_milestones
  FOR EACH STATEMENT EXECUTE FUNCTION qtc_append_only();

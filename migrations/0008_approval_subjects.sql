-- An approval request keeps what its approvers decide about (the quote's number, owner, net
-- total) and who may not decide it (the owner, the submitter and every author of the quote's
-- revisions), so the approvals module never reads the quotes' tables. A request is bound to
-- one revision, and revising withdraws it, so these do not change while it is open.
ALTER TABLE approval_requests ADD COLUMN subject jsonb;

UPDATE approval_requests r SET subject = jsonb_build_object(
  'number', q.number,
  'ownerId', q.owner_id,
  'involved', (
    SELECT jsonb_agg(DISTINCT p ORDER BY p) FROM (
      SELECT created_by AS p FROM quote_revisions WHERE quote_id = r.quote_id AND revision <= r.revision
      UNION SELECT r.created_by
      UNION SELECT q.owner_id
    ) people
  ),
  'netTotal', rev.evaluation -> 'totals' -> 'net'
)
FROM quotes q, quote_revisions rev
WHERE q.id = r.quote_id AND rev.quote_id = r.quote_id AND rev.revision = r.revision;

ALTER TABLE approval_requests ALTER COLUMN subject SET NOT NULL;

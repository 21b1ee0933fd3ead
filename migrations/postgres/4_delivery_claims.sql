-- Delivery outside the run lease (issue 15): a report's delivery is claimed
-- on its own, with a lease and a fencing token, and failed recipients are
-- tried again at next_delivery_at. Existing reports have nothing scheduled.
ALTER TABLE generated_reports ADD COLUMN next_delivery_at TIMESTAMPTZ;
ALTER TABLE generated_reports ADD COLUMN delivery_worker TEXT;
ALTER TABLE generated_reports ADD COLUMN delivery_token INTEGER NOT NULL DEFAULT 0;
ALTER TABLE generated_reports ADD COLUMN delivery_lease_until TIMESTAMPTZ;
CREATE INDEX idx_generated_reports_delivery ON generated_reports (next_delivery_at)
    WHERE next_delivery_at IS NOT NULL;

-- The specification's shapes (issue 14). Existing rows are carried forward.

-- generated_reports: the specification's file_path, download_url and
-- download_expires_at. Completed reports get the specification's path.
ALTER TABLE generated_reports ADD COLUMN file_path TEXT NOT NULL DEFAULT '';
ALTER TABLE generated_reports ADD COLUMN download_url TEXT;
ALTER TABLE generated_reports ADD COLUMN download_expires_at TIMESTAMPTZ;
-- When generation last started: the sweeper fails reports stuck unfinished.
ALTER TABLE generated_reports ADD COLUMN started_at TIMESTAMPTZ;
CREATE INDEX idx_generated_reports_unfinished ON generated_reports (COALESCE(started_at, created_at))
    WHERE status IN ('pending', 'generating');
UPDATE generated_reports
   SET file_path = 'reports/' || organization_id::text || '/' || id::text || '.' || format
 WHERE status IN ('completed', 'expired') AND file_path = '';

-- email_digest_preferences: is_active, the specification's defaults
-- (forecast off, team breakdown on) and an optional e-mail (without one the
-- digest goes to the user through the host's UserResolver).
ALTER TABLE email_digest_preferences ALTER COLUMN email DROP NOT NULL;
ALTER TABLE email_digest_preferences ADD COLUMN is_active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE email_digest_preferences ALTER COLUMN include_forecast SET DEFAULT FALSE;
ALTER TABLE email_digest_preferences ALTER COLUMN include_team_breakdown SET DEFAULT TRUE;
CREATE INDEX idx_digest_prefs_active ON email_digest_preferences (is_active, frequency);

-- chargeback_configurations: distribution lists hold recipients of any kind;
-- a plain e-mail string becomes {"type":"email","address":...}.
-- auto_distribute defaults to TRUE as in the specification.
UPDATE chargeback_configurations
   SET distribution_list = COALESCE((
        SELECT jsonb_agg(
                 CASE WHEN jsonb_typeof(e) = 'string'
                      THEN jsonb_build_object('type', 'email', 'address', e #>> '{}')
                      ELSE e END
                 ORDER BY ord)
          FROM jsonb_array_elements(distribution_list) WITH ORDINALITY AS t(e, ord)
       ), '[]'::jsonb)
 WHERE jsonb_typeof(distribution_list) = 'array';
ALTER TABLE chargeback_configurations ALTER COLUMN auto_distribute SET DEFAULT TRUE;

-- scheduled_reports.last_status takes report statuses: success -> completed.
UPDATE scheduled_reports SET last_status = 'completed' WHERE last_status = 'success';
UPDATE scheduled_reports SET last_status = 'generating' WHERE last_status = 'running';
UPDATE scheduled_reports SET last_status = NULL WHERE last_status = 'skipped';

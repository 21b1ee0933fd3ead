-- The specification's shapes (issue 14). Existing rows are carried forward.

-- generated_reports: the specification's file_path, download_url and
-- download_expires_at. Completed reports get the specification's path.
ALTER TABLE generated_reports ADD COLUMN file_path TEXT NOT NULL DEFAULT '';
ALTER TABLE generated_reports ADD COLUMN download_url TEXT;
ALTER TABLE generated_reports ADD COLUMN download_expires_at TEXT;
-- When generation last started: the sweeper fails reports stuck unfinished.
ALTER TABLE generated_reports ADD COLUMN started_at TEXT;
CREATE INDEX idx_generated_reports_unfinished ON generated_reports (COALESCE(started_at, created_at))
    WHERE status IN ('pending', 'generating');
UPDATE generated_reports
   SET file_path = 'reports/' || organization_id || '/' || id || '.' || format
 WHERE status IN ('completed', 'expired') AND file_path = '';

-- email_digest_preferences: is_active, the specification's defaults
-- (forecast off, team breakdown on) and an optional e-mail. SQLite cannot
-- change a column's default or NOT NULL in place: the table is rebuilt
-- (nothing references it).
CREATE TABLE email_digest_preferences_new (
    id                      TEXT PRIMARY KEY,
    organization_id         TEXT NOT NULL,
    user_id                 TEXT NOT NULL,
    email                   TEXT,
    frequency               TEXT NOT NULL DEFAULT 'daily',
    digest_time             TEXT NOT NULL DEFAULT '09:00',
    timezone                TEXT NOT NULL DEFAULT 'UTC',
    day_of_week             INTEGER NOT NULL DEFAULT 1,
    include_summary         INTEGER NOT NULL DEFAULT 1,
    include_anomalies       INTEGER NOT NULL DEFAULT 1,
    include_recommendations INTEGER NOT NULL DEFAULT 1,
    include_forecast        INTEGER NOT NULL DEFAULT 0,
    include_team_breakdown  INTEGER NOT NULL DEFAULT 1,
    team_filter             TEXT NOT NULL DEFAULT '[]' CHECK (team_filter IS NULL OR json_valid(team_filter)),
    project_filter          TEXT NOT NULL DEFAULT '[]' CHECK (project_filter IS NULL OR json_valid(project_filter)),
    is_active               INTEGER NOT NULL DEFAULT 1,
    last_sent_at            TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    CONSTRAINT uq_email_digest_preferences_user UNIQUE (organization_id, user_id)
);
INSERT INTO email_digest_preferences_new (
    id, organization_id, user_id, email, frequency, digest_time, timezone, day_of_week,
    include_summary, include_anomalies, include_recommendations, include_forecast,
    include_team_breakdown, team_filter, project_filter, is_active, last_sent_at,
    created_at, updated_at)
SELECT id, organization_id, user_id, email, frequency, digest_time, timezone, day_of_week,
       include_summary, include_anomalies, include_recommendations, include_forecast,
       include_team_breakdown, team_filter, project_filter, 1, last_sent_at,
       created_at, updated_at
  FROM email_digest_preferences;
DROP TABLE email_digest_preferences;
ALTER TABLE email_digest_preferences_new RENAME TO email_digest_preferences;
CREATE INDEX idx_digest_prefs_active ON email_digest_preferences (is_active, frequency);

-- chargeback_configurations: distribution lists hold recipients of any kind;
-- a plain e-mail string becomes {"type":"email","address":...}.
UPDATE chargeback_configurations
   SET distribution_list = COALESCE((
        SELECT json_group_array(
                 CASE WHEN j.type = 'text'
                      THEN json_object('type', 'email', 'address', j.value)
                      ELSE json(j.value) END)
          FROM (SELECT type, value FROM json_each(chargeback_configurations.distribution_list)
                 ORDER BY key) AS j
       ), '[]')
 WHERE json_type(distribution_list) = 'array';

-- scheduled_reports.last_status takes report statuses: success -> completed.
UPDATE scheduled_reports SET last_status = 'completed' WHERE last_status = 'success';
UPDATE scheduled_reports SET last_status = 'generating' WHERE last_status = 'running';
UPDATE scheduled_reports SET last_status = NULL WHERE last_status = 'skipped';

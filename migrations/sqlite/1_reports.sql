-- tokentra-reports schema 1 (SQLite): ids are hyphenated TEXT text, instants
-- are UTC text `YYYY-MM-DDTHH:MM:SS.fffffffffZ` (fixed width, so text order is
-- time order), dates `YYYY-MM-DD`, decimals exact text, JSON validated text.
-- the specification's six tables plus what the
-- reliability contract needs (schedule runs with a lease, one report per
-- (schedule, slot), artifacts, per-recipient distribution status).
-- No foreign key to a host's `organizations` or `users` tables: a host that
-- has them adds its own constraints in its own migrations (see README).

CREATE TABLE report_templates (
    id              TEXT PRIMARY KEY,
    organization_id TEXT,
    name            TEXT NOT NULL,
    description     TEXT,
    report_type     TEXT NOT NULL,
    config          TEXT NOT NULL DEFAULT '{}' CHECK (config IS NULL OR json_valid(config)),
    branding        TEXT NOT NULL DEFAULT '{}' CHECK (branding IS NULL OR json_valid(branding)),
    is_system       INTEGER NOT NULL DEFAULT 0,
    is_default      INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX idx_report_templates_org ON report_templates (organization_id, name);

CREATE TABLE scheduled_reports (
    id                   TEXT PRIMARY KEY,
    organization_id      TEXT NOT NULL,
    template_id          TEXT,
    report_type          TEXT NOT NULL,
    name                 TEXT NOT NULL,
    description          TEXT,
    frequency            TEXT NOT NULL,
    schedule_config      TEXT NOT NULL DEFAULT '{}' CHECK (schedule_config IS NULL OR json_valid(schedule_config)),
    filters              TEXT NOT NULL DEFAULT '{}' CHECK (filters IS NULL OR json_valid(filters)),
    recipients           TEXT NOT NULL DEFAULT '[]' CHECK (recipients IS NULL OR json_valid(recipients)),
    format               TEXT NOT NULL DEFAULT 'pdf',
    is_active            INTEGER NOT NULL DEFAULT 1,
    last_run_at          TEXT,
    next_run_at          TEXT,
    last_status          TEXT,
    last_error           TEXT,
    run_count            INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    paused_reason        TEXT,
    created_by           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX idx_scheduled_reports_org ON scheduled_reports (organization_id, created_at DESC);
CREATE INDEX idx_scheduled_reports_due ON scheduled_reports (next_run_at) WHERE is_active = 1;

-- The run of one slot of a schedule: the unit of "exactly once".
CREATE TABLE schedule_runs (
    scheduled_report_id TEXT NOT NULL REFERENCES scheduled_reports (id) ON DELETE CASCADE,
    slot                TEXT NOT NULL,
    organization_id     TEXT NOT NULL,
    status              TEXT NOT NULL,
    worker              TEXT NOT NULL,
    lease_expires_at    TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    report_id           TEXT,
    error               TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    PRIMARY KEY (scheduled_report_id, slot)
);
CREATE INDEX idx_schedule_runs_lease ON schedule_runs (lease_expires_at) WHERE status = 'running';

CREATE TABLE generated_reports (
    id                  TEXT PRIMARY KEY,
    organization_id     TEXT NOT NULL,
    template_id         TEXT,
    scheduled_report_id TEXT REFERENCES scheduled_reports (id) ON DELETE SET NULL,
    schedule_slot       TEXT,
    name                TEXT NOT NULL,
    report_type         TEXT NOT NULL,
    format              TEXT NOT NULL,
    date_range_start    TEXT NOT NULL,
    date_range_end      TEXT NOT NULL,
    comparison_start    TEXT,
    comparison_end      TEXT,
    filters             TEXT NOT NULL DEFAULT '{}' CHECK (filters IS NULL OR json_valid(filters)),
    status              TEXT NOT NULL DEFAULT 'pending',
    file_size           INTEGER,
    page_count          INTEGER,
    checksum            TEXT,
    summary_data        TEXT CHECK (summary_data IS NULL OR json_valid(summary_data)),
    recipients          TEXT NOT NULL DEFAULT '[]' CHECK (recipients IS NULL OR json_valid(recipients)),
    distribution_status TEXT NOT NULL DEFAULT '[]' CHECK (distribution_status IS NULL OR json_valid(distribution_status)),
    distributed_at      TEXT,
    generation_time_ms  INTEGER,
    error_message       TEXT,
    expires_at          TEXT NOT NULL,
    download_count      INTEGER NOT NULL DEFAULT 0,
    created_by          TEXT,
    created_at          TEXT NOT NULL,
    completed_at        TEXT,
    CONSTRAINT uq_generated_reports_slot UNIQUE (scheduled_report_id, schedule_slot)
);
CREATE INDEX idx_generated_reports_org ON generated_reports (organization_id, created_at DESC, id DESC);
CREATE INDEX idx_generated_reports_expiry ON generated_reports (expires_at) WHERE status <> 'expired';

-- The file of a report: bytes here, or a path the host's storage resolves.
CREATE TABLE report_artifacts (
    report_id       TEXT PRIMARY KEY REFERENCES generated_reports (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    bytes           BLOB,
    storage_path    TEXT,
    byte_size       INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT ck_report_artifacts_content CHECK (bytes IS NOT NULL OR storage_path IS NOT NULL)
);

CREATE TABLE email_digest_preferences (
    id                      TEXT PRIMARY KEY,
    organization_id         TEXT NOT NULL,
    user_id                 TEXT NOT NULL,
    email                   TEXT NOT NULL,
    frequency               TEXT NOT NULL DEFAULT 'daily',
    digest_time             TEXT NOT NULL DEFAULT '09:00',
    timezone                TEXT NOT NULL DEFAULT 'UTC',
    day_of_week             INTEGER NOT NULL DEFAULT 1,
    include_summary         INTEGER NOT NULL DEFAULT 1,
    include_anomalies       INTEGER NOT NULL DEFAULT 1,
    include_recommendations INTEGER NOT NULL DEFAULT 1,
    include_forecast        INTEGER NOT NULL DEFAULT 1,
    include_team_breakdown  INTEGER NOT NULL DEFAULT 0,
    team_filter             TEXT NOT NULL DEFAULT '[]' CHECK (team_filter IS NULL OR json_valid(team_filter)),
    project_filter          TEXT NOT NULL DEFAULT '[]' CHECK (project_filter IS NULL OR json_valid(project_filter)),
    last_sent_at            TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    CONSTRAINT uq_email_digest_preferences_user UNIQUE (organization_id, user_id)
);

CREATE TABLE chargeback_configurations (
    id                   TEXT PRIMARY KEY,
    organization_id      TEXT NOT NULL,
    name                 TEXT NOT NULL,
    description          TEXT,
    allocation_basis     TEXT NOT NULL,
    custom_tag_key       TEXT,
    allocation_rules     TEXT NOT NULL DEFAULT '[]' CHECK (allocation_rules IS NULL OR json_valid(allocation_rules)),
    report_frequency     TEXT NOT NULL DEFAULT 'monthly',
    include_breakdown_by TEXT NOT NULL DEFAULT '[]' CHECK (include_breakdown_by IS NULL OR json_valid(include_breakdown_by)),
    currency             TEXT NOT NULL DEFAULT 'USD',
    requires_approval    INTEGER NOT NULL DEFAULT 0,
    approvers            TEXT NOT NULL DEFAULT '[]' CHECK (approvers IS NULL OR json_valid(approvers)),
    auto_distribute      INTEGER NOT NULL DEFAULT 0,
    distribution_list    TEXT NOT NULL DEFAULT '[]' CHECK (distribution_list IS NULL OR json_valid(distribution_list)),
    is_active            INTEGER NOT NULL DEFAULT 1,
    created_by           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX idx_chargeback_configurations_org ON chargeback_configurations (organization_id, name);

CREATE TABLE chargeback_records (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL,
    configuration_id TEXT NOT NULL REFERENCES chargeback_configurations (id) ON DELETE RESTRICT,
    period_start     TEXT NOT NULL,
    period_end       TEXT NOT NULL,
    allocations      TEXT NOT NULL DEFAULT '{}' CHECK (allocations IS NULL OR json_valid(allocations)),
    total_cost       TEXT NOT NULL,
    allocated_cost   TEXT NOT NULL,
    unallocated_cost TEXT NOT NULL,
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'draft',
    approved_by      TEXT,
    approved_at      TEXT,
    rejected_by      TEXT,
    rejection_reason TEXT,
    report_id        TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT uq_chargeback_records_period UNIQUE (configuration_id, period_start, period_end)
);
CREATE INDEX idx_chargeback_records_org ON chargeback_records (organization_id, period_start DESC);

-- tokentra-reports schema 1: the specification's six tables plus what the
-- reliability contract needs (schedule runs with a lease, one report per
-- (schedule, slot), artifacts, per-recipient distribution status).
-- No foreign key to a host's `organizations` or `users` tables: a host that
-- has them adds its own constraints in its own migrations (see README).

CREATE TABLE report_templates (
    id              UUID PRIMARY KEY,
    organization_id UUID,
    name            VARCHAR(255) NOT NULL,
    description     TEXT,
    report_type     VARCHAR(50) NOT NULL,
    config          JSONB NOT NULL DEFAULT '{}',
    branding        JSONB NOT NULL DEFAULT '{}',
    is_system       BOOLEAN NOT NULL DEFAULT FALSE,
    is_default      BOOLEAN NOT NULL DEFAULT FALSE,
    created_by      UUID,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_report_templates_org ON report_templates (organization_id, name);

CREATE TABLE scheduled_reports (
    id                   UUID PRIMARY KEY,
    organization_id      UUID NOT NULL,
    template_id          UUID,
    report_type          VARCHAR(50) NOT NULL,
    name                 VARCHAR(255) NOT NULL,
    description          TEXT,
    frequency            VARCHAR(20) NOT NULL,
    schedule_config      JSONB NOT NULL DEFAULT '{}',
    filters              JSONB NOT NULL DEFAULT '{}',
    recipients           JSONB NOT NULL DEFAULT '[]',
    format               VARCHAR(10) NOT NULL DEFAULT 'pdf',
    is_active            BOOLEAN NOT NULL DEFAULT TRUE,
    last_run_at          TIMESTAMPTZ,
    next_run_at          TIMESTAMPTZ,
    last_status          VARCHAR(20),
    last_error           TEXT,
    run_count            INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    paused_reason        TEXT,
    created_by           UUID,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_scheduled_reports_org ON scheduled_reports (organization_id, created_at DESC);
CREATE INDEX idx_scheduled_reports_due ON scheduled_reports (next_run_at) WHERE is_active;

-- The run of one slot of a schedule: the unit of "exactly once".
CREATE TABLE schedule_runs (
    scheduled_report_id UUID NOT NULL REFERENCES scheduled_reports (id) ON DELETE CASCADE,
    slot                TIMESTAMPTZ NOT NULL,
    organization_id     UUID NOT NULL,
    status              VARCHAR(20) NOT NULL,
    worker              TEXT NOT NULL,
    lease_expires_at    TIMESTAMPTZ NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    report_id           UUID,
    error               TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scheduled_report_id, slot)
);
CREATE INDEX idx_schedule_runs_lease ON schedule_runs (lease_expires_at) WHERE status = 'running';

CREATE TABLE generated_reports (
    id                  UUID PRIMARY KEY,
    organization_id     UUID NOT NULL,
    template_id         UUID,
    scheduled_report_id UUID REFERENCES scheduled_reports (id) ON DELETE SET NULL,
    schedule_slot       TIMESTAMPTZ,
    name                VARCHAR(255) NOT NULL,
    report_type         VARCHAR(50) NOT NULL,
    format              VARCHAR(10) NOT NULL,
    date_range_start    DATE NOT NULL,
    date_range_end      DATE NOT NULL,
    comparison_start    DATE,
    comparison_end      DATE,
    filters             JSONB NOT NULL DEFAULT '{}',
    status              VARCHAR(20) NOT NULL DEFAULT 'pending',
    file_size           BIGINT,
    page_count          INTEGER,
    checksum            VARCHAR(64),
    summary_data        JSONB,
    recipients          JSONB NOT NULL DEFAULT '[]',
    distribution_status JSONB NOT NULL DEFAULT '[]',
    distributed_at      TIMESTAMPTZ,
    generation_time_ms  BIGINT,
    error_message       TEXT,
    expires_at          TIMESTAMPTZ NOT NULL,
    download_count      INTEGER NOT NULL DEFAULT 0,
    created_by          UUID,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    completed_at        TIMESTAMPTZ,
    CONSTRAINT uq_generated_reports_slot UNIQUE (scheduled_report_id, schedule_slot)
);
CREATE INDEX idx_generated_reports_org ON generated_reports (organization_id, created_at DESC, id DESC);
CREATE INDEX idx_generated_reports_expiry ON generated_reports (expires_at) WHERE status <> 'expired';

-- The file of a report: bytes here, or a path the host's storage resolves.
CREATE TABLE report_artifacts (
    report_id       UUID PRIMARY KEY REFERENCES generated_reports (id) ON DELETE CASCADE,
    organization_id UUID NOT NULL,
    file_name       TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    bytes           BYTEA,
    storage_path    TEXT,
    byte_size       BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT ck_report_artifacts_content CHECK (bytes IS NOT NULL OR storage_path IS NOT NULL)
);

CREATE TABLE email_digest_preferences (
    id                      UUID PRIMARY KEY,
    organization_id         UUID NOT NULL,
    user_id                 UUID NOT NULL,
    email                   VARCHAR(255) NOT NULL,
    frequency               VARCHAR(20) NOT NULL DEFAULT 'daily',
    digest_time             VARCHAR(5) NOT NULL DEFAULT '09:00',
    timezone                VARCHAR(64) NOT NULL DEFAULT 'UTC',
    day_of_week             INTEGER NOT NULL DEFAULT 1,
    include_summary         BOOLEAN NOT NULL DEFAULT TRUE,
    include_anomalies       BOOLEAN NOT NULL DEFAULT TRUE,
    include_recommendations BOOLEAN NOT NULL DEFAULT TRUE,
    include_forecast        BOOLEAN NOT NULL DEFAULT TRUE,
    include_team_breakdown  BOOLEAN NOT NULL DEFAULT FALSE,
    team_filter             JSONB NOT NULL DEFAULT '[]',
    project_filter          JSONB NOT NULL DEFAULT '[]',
    last_sent_at            TIMESTAMPTZ,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT uq_email_digest_preferences_user UNIQUE (organization_id, user_id)
);

CREATE TABLE chargeback_configurations (
    id                   UUID PRIMARY KEY,
    organization_id      UUID NOT NULL,
    name                 VARCHAR(255) NOT NULL,
    description          TEXT,
    allocation_basis     VARCHAR(20) NOT NULL,
    custom_tag_key       VARCHAR(255),
    allocation_rules     JSONB NOT NULL DEFAULT '[]',
    report_frequency     VARCHAR(20) NOT NULL DEFAULT 'monthly',
    include_breakdown_by JSONB NOT NULL DEFAULT '[]',
    currency             VARCHAR(3) NOT NULL DEFAULT 'USD',
    requires_approval    BOOLEAN NOT NULL DEFAULT FALSE,
    approvers            JSONB NOT NULL DEFAULT '[]',
    auto_distribute      BOOLEAN NOT NULL DEFAULT FALSE,
    distribution_list    JSONB NOT NULL DEFAULT '[]',
    is_active            BOOLEAN NOT NULL DEFAULT TRUE,
    created_by           UUID,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_chargeback_configurations_org ON chargeback_configurations (organization_id, name);

CREATE TABLE chargeback_records (
    id               UUID PRIMARY KEY,
    organization_id  UUID NOT NULL,
    configuration_id UUID NOT NULL REFERENCES chargeback_configurations (id) ON DELETE RESTRICT,
    period_start     DATE NOT NULL,
    period_end       DATE NOT NULL,
    allocations      JSONB NOT NULL DEFAULT '{}',
    total_cost       NUMERIC NOT NULL,
    allocated_cost   NUMERIC NOT NULL,
    unallocated_cost NUMERIC NOT NULL,
    currency         VARCHAR(3) NOT NULL,
    status           VARCHAR(20) NOT NULL DEFAULT 'draft',
    approved_by      UUID,
    approved_at      TIMESTAMPTZ,
    rejected_by      UUID,
    rejection_reason TEXT,
    report_id        UUID,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT uq_chargeback_records_period UNIQUE (configuration_id, period_start, period_end)
);
CREATE INDEX idx_chargeback_records_org ON chargeback_records (organization_id, period_start DESC);

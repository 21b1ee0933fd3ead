-- tokentra-reports schema 2: the usage table the SQL `CostSource` reads.
-- One row per request or per already aggregated bucket of requests.
CREATE TABLE cost_usage (
    id              BIGSERIAL PRIMARY KEY,
    organization_id UUID NOT NULL,
    ts              TIMESTAMPTZ,
    usage_date      DATE NOT NULL,
    provider        TEXT,
    model           TEXT,
    team            TEXT,
    project         TEXT,
    cost_center     TEXT,
    feature         TEXT,
    end_user        TEXT,
    tags            JSONB NOT NULL DEFAULT '{}',
    cost            NUMERIC NOT NULL,
    currency        VARCHAR(3),
    requests        BIGINT NOT NULL DEFAULT 0,
    input_tokens    BIGINT NOT NULL DEFAULT 0,
    output_tokens   BIGINT NOT NULL DEFAULT 0,
    cached_requests BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT ck_cost_usage_counts CHECK (requests >= 0 AND input_tokens >= 0 AND output_tokens >= 0 AND cached_requests >= 0)
);
CREATE INDEX idx_cost_usage_org_date ON cost_usage (organization_id, usage_date);

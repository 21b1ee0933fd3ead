-- tokentra-reports schema 2 (SQLite): the usage table the SQL `CostSource`
-- reads. SQLite has no exact decimal type that SUM keeps exact, so `cost` is
-- an INTEGER of nano-units (10^-9 of the currency unit): sums stay exact and
-- an overflow is an error, never a rounding.
CREATE TABLE cost_usage (
    id              INTEGER PRIMARY KEY,
    organization_id TEXT NOT NULL,
    ts              TEXT,
    usage_date      TEXT NOT NULL,
    provider        TEXT,
    model           TEXT,
    team            TEXT,
    project         TEXT,
    cost_center     TEXT,
    feature         TEXT,
    end_user        TEXT,
    tags            TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(tags)),
    cost            INTEGER NOT NULL, -- nano-units (10^-9) of `currency`
    currency        TEXT,
    requests        INTEGER NOT NULL DEFAULT 0,
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    cached_requests INTEGER NOT NULL DEFAULT 0,
    CHECK (requests >= 0 AND input_tokens >= 0 AND output_tokens >= 0 AND cached_requests >= 0)
);
CREATE INDEX idx_cost_usage_org_date ON cost_usage (organization_id, usage_date);

-- One-time tokens of forms that create something (the connection wizard): the first POST
-- with a token claims it, so a double click or a resent form creates one record, and the
-- second POST is sent to what the first made. `record_id` is set once it exists,
-- `finished_at` once the first request is done (its test included). Pruned after a day.
CREATE TABLE form_submissions (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    token TEXT NOT NULL,
    record_id BIGINT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    PRIMARY KEY (tenant_id, token)
);

-- Support staff and merchant alerts (issue 14): the audit log gains a target, a reason and
-- the client address, and becomes append-only (no update of what an entry says, no delete);
-- users can be locked by staff; each tenant chooses after how many failed runs in a row a
-- flow alerts; each member may opt out of alert emails; each alert that went out is kept
-- so that one problem of one connection is emailed at most once an hour, and its recovery
-- once.
ALTER TABLE audit_log ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN client_address TEXT;
CREATE INDEX audit_log_tenant_action ON audit_log(tenant_id, action, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_update
BEFORE UPDATE OF tenant_id, action, detail, at, target, reason, client_address ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_delete
BEFORE DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

ALTER TABLE users ADD COLUMN locked_at BIGINT;

ALTER TABLE tenants ADD COLUMN alert_after_failures INTEGER NOT NULL DEFAULT 3;

CREATE TABLE alert_optouts (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE alert_states (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- What the problem is about: 'connection:<id>', 'flow:<connection id>:<kind>', 'endpoint:<id>'.
    subject TEXT NOT NULL,
    -- 'auth', 'failures', 'disabled'.
    problem TEXT NOT NULL,
    -- Whether the problem is ongoing (a recovery email goes out when it ends).
    active BOOLEAN NOT NULL,
    last_sent_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject, problem)
);

-- Signed payloads (signed_payload_jwt) already used: each `jti` is accepted once, so a
-- captured /bigcommerce/load URL cannot be replayed. Rows are pruned after `expires_at`.
CREATE TABLE bigcommerce_jwt_ids (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

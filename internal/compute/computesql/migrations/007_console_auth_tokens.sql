-- Console auth tokens: nova's console_auth_tokens. A remote-console URL
-- carries a random token; only its SHA-256 (hex) is kept here, with where
-- the console leads. Any console proxy of the cloud reads this table, so a
-- token issued by one API process works through every proxy. expires is
-- BIGINT microseconds, like every time of this schema.

CREATE TABLE console_auth_tokens (
    id ${AUTOID},
    token_hash VARCHAR(255) NOT NULL,
    console_type VARCHAR(255) NOT NULL,
    host VARCHAR(255) NOT NULL,
    port INTEGER NOT NULL,
    internal_access_path VARCHAR(255),
    access_url_base VARCHAR(255),
    instance_uuid VARCHAR(36) NOT NULL,
    expires BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT console_auth_tokens_token_hash UNIQUE (token_hash)
)${TABLE};

CREATE INDEX console_auth_tokens_instance_uuid ON console_auth_tokens (instance_uuid);

CREATE INDEX console_auth_tokens_expires ON console_auth_tokens (expires);

-- Trusts (OS-TRUST): a trustor delegates some of its roles on a project to a
-- trustee. Users, projects and roles are not foreign keys, as in keystone: a
-- trust outlives none of them in use (tokens re-check each), and deleting a
-- role must not fail because a trust names it. A redelegated trust points at
-- the trust it came from; deleting a trust deletes those below it first.
-- remaining_uses is NULL for a trust without a use limit.
CREATE TABLE trust (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    trustor_user_id VARCHAR(64) NOT NULL,
    trustee_user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    impersonation BOOLEAN NOT NULL,
    expires_at BIGINT,
    remaining_uses INTEGER,
    redelegated_trust_id VARCHAR(64),
    redelegation_count INTEGER NOT NULL,
    CONSTRAINT trust_duplicate_key UNIQUE (trustor_user_id, trustee_user_id, project_id, impersonation, expires_at),
    CONSTRAINT trust_redelegated_fk FOREIGN KEY (redelegated_trust_id) REFERENCES trust (id)
)${TABLE};

CREATE INDEX trust_trustee_user_id ON trust (trustee_user_id);

CREATE INDEX trust_project_id ON trust (project_id);

CREATE INDEX trust_redelegated_trust_id ON trust (redelegated_trust_id);

CREATE TABLE trust_role (
    trust_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (trust_id, role_id),
    CONSTRAINT trust_role_trust_fk FOREIGN KEY (trust_id) REFERENCES trust (id)
)${TABLE};

CREATE INDEX trust_role_role_id ON trust_role (role_id);

-- Deleting a trust revokes the tokens issued through it.
ALTER TABLE revocation_event ADD COLUMN trust_id VARCHAR(64);

-- Security compliance (keystone's [security_compliance]) and application
-- credential access rules.
--
-- password_history holds a user's previous password hashes, newest with the
-- highest seq; the current password stays in identity_user. password_state
-- counts failed password checks for lockout and records whether the user chose
-- the current password (the minimum password age applies only then).
--
-- access_rule is a user's (service, path, method) rule, shared by any number of
-- the user's application credentials through application_credential_access_rule.
-- An access rule in use cannot be deleted (no cascade from access_rule).
--
-- Rows of a user go with the user: DeleteUser removes them explicitly, and the
-- ON DELETE CASCADE foreign keys also cover users removed with their domain.
-- Links go with their application credential the same way.

CREATE TABLE password_history (
    seq ${AUTOID},
    user_id VARCHAR(64) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    created_at BIGINT,
    CONSTRAINT password_history_user_fk FOREIGN KEY (user_id) REFERENCES identity_user (id) ON DELETE CASCADE
)${TABLE};

CREATE INDEX password_history_user_id ON password_history (user_id, seq);

CREATE TABLE password_state (
    user_id VARCHAR(64) NOT NULL PRIMARY KEY,
    failed_auth_count INTEGER NOT NULL,
    failed_auth_at BIGINT,
    self_service BOOLEAN NOT NULL,
    CONSTRAINT password_state_user_fk FOREIGN KEY (user_id) REFERENCES identity_user (id) ON DELETE CASCADE
)${TABLE};

CREATE TABLE access_rule (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL,
    service VARCHAR(64) NOT NULL,
    path VARCHAR(255) NOT NULL,
    method VARCHAR(16) NOT NULL,
    CONSTRAINT access_rule_user_rule_key UNIQUE (user_id, service, path, method),
    CONSTRAINT access_rule_user_fk FOREIGN KEY (user_id) REFERENCES identity_user (id) ON DELETE CASCADE
)${TABLE};

CREATE TABLE application_credential_access_rule (
    application_credential_id VARCHAR(64) NOT NULL,
    access_rule_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (application_credential_id, access_rule_id),
    CONSTRAINT application_credential_access_rule_cred_fk FOREIGN KEY (application_credential_id)
        REFERENCES application_credential (id) ON DELETE CASCADE,
    CONSTRAINT application_credential_access_rule_rule_fk FOREIGN KEY (access_rule_id)
        REFERENCES access_rule (id)
)${TABLE};

CREATE INDEX application_credential_access_rule_rule_id ON application_credential_access_rule (access_rule_id);

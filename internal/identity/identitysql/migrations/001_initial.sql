-- Identity schema, one spelling for SQLite, MySQL/MariaDB and PostgreSQL.
-- Ids are VARCHAR(64) (region ids are user-chosen, up to 255 as in keystone);
-- absent references are NULL; times are BIGINT microseconds since the epoch;
-- option and extra maps are JSON text, NULL when empty. "user" and "group" are
-- reserved words, hence identity_user and identity_group.

CREATE TABLE domain (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    options TEXT,
    CONSTRAINT domain_name_key UNIQUE (name)
)${TABLE};

CREATE TABLE domain_tag (
    domain_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    PRIMARY KEY (domain_id, name),
    CONSTRAINT domain_tag_domain_fk FOREIGN KEY (domain_id) REFERENCES domain (id)
)${TABLE};

CREATE TABLE project (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    parent_id VARCHAR(64),
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    options TEXT,
    CONSTRAINT project_domain_name_key UNIQUE (domain_id, name),
    CONSTRAINT project_domain_fk FOREIGN KEY (domain_id) REFERENCES domain (id),
    CONSTRAINT project_parent_fk FOREIGN KEY (parent_id) REFERENCES project (id)
)${TABLE};

CREATE INDEX project_parent_id ON project (parent_id);

CREATE TABLE project_tag (
    project_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    PRIMARY KEY (project_id, name),
    CONSTRAINT project_tag_project_fk FOREIGN KEY (project_id) REFERENCES project (id)
)${TABLE};

CREATE INDEX project_tag_name ON project_tag (name);

CREATE TABLE identity_user (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    enabled BOOLEAN NOT NULL,
    default_project_id VARCHAR(64),
    description TEXT NOT NULL,
    extra TEXT,
    options TEXT,
    password_hash VARCHAR(255),
    password_created_at BIGINT,
    password_expires_at BIGINT,
    CONSTRAINT identity_user_domain_name_key UNIQUE (domain_id, name),
    CONSTRAINT identity_user_domain_fk FOREIGN KEY (domain_id) REFERENCES domain (id)
)${TABLE};

CREATE TABLE identity_group (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    description TEXT NOT NULL,
    CONSTRAINT identity_group_domain_name_key UNIQUE (domain_id, name),
    CONSTRAINT identity_group_domain_fk FOREIGN KEY (domain_id) REFERENCES domain (id)
)${TABLE};

CREATE TABLE user_group_membership (
    user_id VARCHAR(64) NOT NULL,
    group_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (user_id, group_id),
    CONSTRAINT user_group_membership_user_fk FOREIGN KEY (user_id) REFERENCES identity_user (id),
    CONSTRAINT user_group_membership_group_fk FOREIGN KEY (group_id) REFERENCES identity_group (id)
)${TABLE};

CREATE INDEX user_group_membership_group_id ON user_group_membership (group_id, user_id);

-- Global roles carry the sentinel domain id '<<null>>', as in keystone, so that
-- UNIQUE (name, domain_id) holds on every engine.
CREATE TABLE role (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    description TEXT NOT NULL,
    options TEXT,
    CONSTRAINT role_name_domain_key UNIQUE (name, domain_id)
)${TABLE};

CREATE INDEX role_domain_id ON role (domain_id);

CREATE TABLE implied_role (
    prior_role_id VARCHAR(64) NOT NULL,
    implied_role_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (prior_role_id, implied_role_id),
    CONSTRAINT implied_role_prior_fk FOREIGN KEY (prior_role_id) REFERENCES role (id),
    CONSTRAINT implied_role_implied_fk FOREIGN KEY (implied_role_id) REFERENCES role (id)
)${TABLE};

CREATE INDEX implied_role_implied_role_id ON implied_role (implied_role_id);

-- Actors are users or groups and targets projects, domains or the system, so only
-- the role is a foreign key.
CREATE TABLE assignment (
    type VARCHAR(64) NOT NULL,
    actor_id VARCHAR(64) NOT NULL,
    target_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    inherited BOOLEAN NOT NULL,
    PRIMARY KEY (type, actor_id, target_id, role_id, inherited),
    CONSTRAINT assignment_role_fk FOREIGN KEY (role_id) REFERENCES role (id)
)${TABLE};

CREATE INDEX assignment_actor_id ON assignment (actor_id);

CREATE INDEX assignment_target_id ON assignment (target_id);

CREATE INDEX assignment_role_id ON assignment (role_id);

CREATE TABLE region (
    id VARCHAR(255) NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    parent_region_id VARCHAR(255),
    CONSTRAINT region_parent_fk FOREIGN KEY (parent_region_id) REFERENCES region (id)
)${TABLE};

CREATE INDEX region_parent_region_id ON region (parent_region_id);

CREATE TABLE service (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    type VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL
)${TABLE};

CREATE TABLE endpoint (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    service_id VARCHAR(64) NOT NULL,
    interface VARCHAR(64) NOT NULL,
    url TEXT NOT NULL,
    region_id VARCHAR(255),
    enabled BOOLEAN NOT NULL,
    CONSTRAINT endpoint_service_fk FOREIGN KEY (service_id) REFERENCES service (id),
    CONSTRAINT endpoint_region_fk FOREIGN KEY (region_id) REFERENCES region (id)
)${TABLE};

CREATE INDEX endpoint_service_id ON endpoint (service_id);

CREATE INDEX endpoint_region_id ON endpoint (region_id);

CREATE TABLE application_credential (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    secret_hash VARCHAR(255) NOT NULL,
    expires_at BIGINT,
    unrestricted BOOLEAN NOT NULL,
    CONSTRAINT application_credential_user_name_key UNIQUE (user_id, name),
    CONSTRAINT application_credential_user_fk FOREIGN KEY (user_id) REFERENCES identity_user (id)
)${TABLE};

CREATE INDEX application_credential_project_id ON application_credential (project_id);

CREATE TABLE application_credential_role (
    application_credential_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (application_credential_id, role_id),
    CONSTRAINT application_credential_role_cred_fk FOREIGN KEY (application_credential_id)
        REFERENCES application_credential (id)
)${TABLE};

CREATE INDEX application_credential_role_role_id ON application_credential_role (role_id);

CREATE TABLE revocation_event (
    seq ${AUTOID},
    user_id VARCHAR(64),
    project_id VARCHAR(64),
    domain_id VARCHAR(64),
    role_id VARCHAR(64),
    audit_id VARCHAR(64),
    audit_chain_id VARCHAR(64),
    app_cred_id VARCHAR(64),
    issued_before BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
)${TABLE};

CREATE INDEX revocation_event_revoked_at ON revocation_event (revoked_at);

-- The one row AddRevocationEvent locks before it inserts, so events commit in seq
-- order: a reader that has seen seq n never later finds a smaller seq appear.
CREATE TABLE revocation_lock (
    id INTEGER NOT NULL PRIMARY KEY,
    n BIGINT NOT NULL
)${TABLE};

INSERT INTO revocation_lock (id, n) VALUES (1, 0);

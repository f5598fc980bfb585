-- Compute schema, one spelling for SQLite, MySQL/MariaDB and PostgreSQL: the
-- tables of nova's API database that the flavors, key pairs and quotas APIs
-- use. Flavors have an internal id (lists break ties with it) beside the API
-- id, flavorid. Times are BIGINT microseconds since the epoch; a NULL
-- updated_at means never updated. A NULL description is one never set.

CREATE TABLE flavors (
    id ${AUTOID},
    flavorid VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    memory_mb INTEGER NOT NULL,
    vcpus INTEGER NOT NULL,
    root_gb INTEGER NOT NULL,
    ephemeral_gb INTEGER NOT NULL,
    swap INTEGER NOT NULL,
    rxtx_factor DOUBLE PRECISION NOT NULL,
    vcpu_weight INTEGER,
    disabled BOOLEAN NOT NULL,
    is_public BOOLEAN NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    CONSTRAINT flavors_flavorid UNIQUE (flavorid),
    CONSTRAINT flavors_name UNIQUE (name)
)${TABLE};

CREATE TABLE flavor_extra_specs (
    flavor_id BIGINT NOT NULL,
    spec_key VARCHAR(255) NOT NULL,
    spec_value VARCHAR(255) NOT NULL,
    PRIMARY KEY (flavor_id, spec_key),
    CONSTRAINT flavor_extra_specs_flavor_fk FOREIGN KEY (flavor_id) REFERENCES flavors (id)
)${TABLE};

CREATE TABLE flavor_projects (
    flavor_id BIGINT NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    PRIMARY KEY (flavor_id, project_id),
    CONSTRAINT flavor_projects_flavor_fk FOREIGN KEY (flavor_id) REFERENCES flavors (id)
)${TABLE};

CREATE INDEX flavor_projects_project ON flavor_projects (project_id);

CREATE TABLE key_pairs (
    id ${AUTOID},
    user_id VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    key_type VARCHAR(10) NOT NULL,
    fingerprint VARCHAR(255) NOT NULL,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT key_pairs_user_name UNIQUE (user_id, name)
)${TABLE};

-- Limits an operator set: per project, per user of a project, per quota class.
CREATE TABLE quotas (
    project_id VARCHAR(255) NOT NULL,
    resource VARCHAR(255) NOT NULL,
    hard_limit INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    PRIMARY KEY (project_id, resource)
)${TABLE};

CREATE TABLE project_user_quotas (
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    resource VARCHAR(255) NOT NULL,
    hard_limit INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    PRIMARY KEY (project_id, user_id, resource)
)${TABLE};

CREATE TABLE quota_classes (
    class_name VARCHAR(255) NOT NULL,
    resource VARCHAR(255) NOT NULL,
    hard_limit INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    PRIMARY KEY (class_name, resource)
)${TABLE};

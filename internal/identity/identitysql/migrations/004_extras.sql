-- Domain configuration, OS-EP-FILTER endpoint groups and project associations,
-- policy blobs and OS-OAUTH1 consumers. "group", "option", "blob" and
-- "sensitive" are reserved words, hence the prefixed column names. Domain,
-- project and endpoint ids are not foreign keys: those rows are deleted
-- without knowing of these tables, and readers skip associations that name
-- deleted rows.

-- One row per option; config_value is JSON text. Sensitive options are stored
-- like the others and never shown.
CREATE TABLE domain_config (
    domain_id VARCHAR(64) NOT NULL,
    config_group VARCHAR(64) NOT NULL,
    config_option VARCHAR(64) NOT NULL,
    config_value TEXT NOT NULL,
    is_sensitive BOOLEAN NOT NULL,
    PRIMARY KEY (domain_id, config_group, config_option)
)${TABLE};

-- filters is JSON text: {"service_id": ..., "interface": ..., "region_id": ...}.
CREATE TABLE endpoint_group (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    filters TEXT NOT NULL
)${TABLE};

CREATE INDEX endpoint_group_name ON endpoint_group (name);

CREATE TABLE project_endpoint_group (
    endpoint_group_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (endpoint_group_id, project_id),
    CONSTRAINT project_endpoint_group_group_fk FOREIGN KEY (endpoint_group_id) REFERENCES endpoint_group (id)
)${TABLE};

CREATE INDEX project_endpoint_group_project_id ON project_endpoint_group (project_id);

CREATE TABLE project_endpoint (
    endpoint_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (endpoint_id, project_id)
)${TABLE};

CREATE INDEX project_endpoint_project_id ON project_endpoint (project_id);

CREATE TABLE identity_policy (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    type VARCHAR(255) NOT NULL,
    policy_blob TEXT NOT NULL,
    extra TEXT
)${TABLE};

CREATE INDEX identity_policy_type ON identity_policy (type);

-- The secret is kept as is: OAuth1 signatures are HMACs keyed with it.
CREATE TABLE oauth_consumer (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    secret VARCHAR(64) NOT NULL,
    extra TEXT
)${TABLE};

-- Server groups and host aggregates. Server groups: nova's instance_groups
-- with their policy (one per group since 2.64) and rules (a JSON object such
-- as {"max_server_per_host": 2}) folded in, and the members. A member whose
-- instance is deleted or purged is no longer one: readers join instances.
-- Times are BIGINT microseconds.

CREATE TABLE instance_groups (
    id ${AUTOID},
    uuid VARCHAR(36) NOT NULL,
    name VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    policy VARCHAR(255) NOT NULL,
    rules TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT instance_groups_uuid UNIQUE (uuid)
)${TABLE};

CREATE INDEX instance_groups_project ON instance_groups (project_id, user_id);

CREATE TABLE instance_group_member (
    id ${AUTOID},
    group_id BIGINT NOT NULL,
    instance_uuid VARCHAR(36) NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT instance_group_member_unique UNIQUE (group_id, instance_uuid),
    CONSTRAINT instance_group_member_group_fk FOREIGN KEY (group_id) REFERENCES instance_groups (id)
)${TABLE};

CREATE INDEX instance_group_member_instance ON instance_group_member (instance_uuid);

-- Host aggregates: nova's aggregates, aggregate_hosts and
-- aggregate_metadata. The availability zone is the metadata key
-- availability_zone, as in nova.
CREATE TABLE aggregates (
    id ${AUTOID},
    uuid VARCHAR(36) NOT NULL,
    name VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    CONSTRAINT aggregates_uuid UNIQUE (uuid),
    CONSTRAINT aggregates_name UNIQUE (name)
)${TABLE};

CREATE TABLE aggregate_hosts (
    aggregate_id BIGINT NOT NULL,
    host VARCHAR(255) NOT NULL,
    PRIMARY KEY (aggregate_id, host),
    CONSTRAINT aggregate_hosts_aggregate_fk FOREIGN KEY (aggregate_id) REFERENCES aggregates (id)
)${TABLE};

CREATE INDEX aggregate_hosts_host ON aggregate_hosts (host);

CREATE TABLE aggregate_metadata (
    aggregate_id BIGINT NOT NULL,
    meta_key VARCHAR(255) NOT NULL,
    meta_value VARCHAR(255) NOT NULL,
    PRIMARY KEY (aggregate_id, meta_key),
    CONSTRAINT aggregate_metadata_aggregate_fk FOREIGN KEY (aggregate_id) REFERENCES aggregates (id)
)${TABLE};

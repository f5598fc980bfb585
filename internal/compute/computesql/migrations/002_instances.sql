-- Servers: nova's instances table with what it keeps beside it (instance
-- extra, system metadata, request spec) folded in as columns, and the
-- metadata, tags, faults and actions that hang off an instance. Strings
-- nova leaves NULL are '' here, except where NULL and '' differ on the API
-- (description, user_data, locked_reason, the pinned zone). The flavor
-- copies, image properties, scheduler hints, security groups and block
-- devices are JSON documents: they are read and written with the instance
-- and never filtered on. Times are BIGINT microseconds since the epoch.

CREATE TABLE instances (
    id ${AUTOID},
    uuid VARCHAR(36) NOT NULL,
    display_name VARCHAR(255) NOT NULL,
    display_description TEXT,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    instance_type_id BIGINT NOT NULL,
    flavors TEXT NOT NULL,
    vcpus INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    image_ref VARCHAR(255) NOT NULL,
    image_properties TEXT NOT NULL,
    host VARCHAR(255) NOT NULL,
    node VARCHAR(255) NOT NULL,
    availability_zone VARCHAR(255) NOT NULL,
    pinned_availability_zone VARCHAR(255),
    scheduler_hints TEXT NOT NULL,
    key_name VARCHAR(255) NOT NULL,
    key_data TEXT NOT NULL,
    user_data TEXT,
    config_drive VARCHAR(255) NOT NULL,
    auto_disk_config BOOLEAN NOT NULL,
    launched_at BIGINT,
    terminated_at BIGINT,
    locked BOOLEAN NOT NULL,
    locked_by VARCHAR(255) NOT NULL,
    locked_reason VARCHAR(255),
    hostname VARCHAR(255) NOT NULL,
    reservation_id VARCHAR(255) NOT NULL,
    launch_index INTEGER NOT NULL,
    access_ip_v4 VARCHAR(39) NOT NULL,
    access_ip_v6 VARCHAR(39) NOT NULL,
    security_groups TEXT NOT NULL,
    block_devices TEXT NOT NULL,
    root_device_name VARCHAR(255) NOT NULL,
    kernel_id VARCHAR(255) NOT NULL,
    ramdisk_id VARCHAR(255) NOT NULL,
    vm_state VARCHAR(255) NOT NULL,
    task_state VARCHAR(255) NOT NULL,
    power_state INTEGER NOT NULL,
    progress INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted BOOLEAN NOT NULL,
    CONSTRAINT instances_uuid UNIQUE (uuid)
)${TABLE};

CREATE INDEX instances_project_deleted ON instances (project_id, deleted, created_at);
CREATE INDEX instances_host ON instances (host);
CREATE INDEX instances_reservation ON instances (reservation_id);
CREATE INDEX instances_updated ON instances (updated_at);

CREATE TABLE instance_metadata (
    instance_uuid VARCHAR(36) NOT NULL,
    meta_key VARCHAR(255) NOT NULL,
    meta_value VARCHAR(255) NOT NULL,
    PRIMARY KEY (instance_uuid, meta_key),
    CONSTRAINT instance_metadata_instance_fk FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
)${TABLE};

CREATE TABLE instance_tags (
    instance_uuid VARCHAR(36) NOT NULL,
    tag VARCHAR(60) NOT NULL,
    PRIMARY KEY (instance_uuid, tag),
    CONSTRAINT instance_tags_instance_fk FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
)${TABLE};

CREATE INDEX instance_tags_tag ON instance_tags (tag);

CREATE TABLE instance_faults (
    id ${AUTOID},
    instance_uuid VARCHAR(36) NOT NULL,
    code INTEGER NOT NULL,
    message TEXT NOT NULL,
    details TEXT NOT NULL,
    host VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT instance_faults_instance_fk FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
)${TABLE};

CREATE INDEX instance_faults_instance ON instance_faults (instance_uuid, id);

CREATE TABLE instance_actions (
    id ${AUTOID},
    instance_uuid VARCHAR(36) NOT NULL,
    action VARCHAR(255) NOT NULL,
    request_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    start_time BIGINT NOT NULL,
    message VARCHAR(255),
    updated_at BIGINT NOT NULL,
    CONSTRAINT instance_actions_instance_fk FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
)${TABLE};

CREATE INDEX instance_actions_request ON instance_actions (instance_uuid, request_id);

CREATE TABLE instance_actions_events (
    id ${AUTOID},
    action_id BIGINT NOT NULL,
    event VARCHAR(255) NOT NULL,
    start_time BIGINT NOT NULL,
    finish_time BIGINT,
    result VARCHAR(255) NOT NULL,
    traceback TEXT NOT NULL,
    host VARCHAR(255) NOT NULL,
    details TEXT NOT NULL,
    CONSTRAINT instance_actions_events_action_fk FOREIGN KEY (action_id) REFERENCES instance_actions (id)
)${TABLE};

CREATE INDEX instance_actions_events_action ON instance_actions_events (action_id, event);

-- One row per project that has created servers: a create locks it, so
-- concurrent creates of a project count their quota one after another.
CREATE TABLE instance_quota_locks (
    project_id VARCHAR(255) NOT NULL,
    PRIMARY KEY (project_id)
)${TABLE};

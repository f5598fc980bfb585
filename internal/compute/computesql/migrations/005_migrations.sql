-- Migration records: nova's migrations table, one row per move of an
-- instance (resize, cold migration, live migration, evacuation), with the
-- status its flow moves it through. Host and node names nova leaves NULL
-- until known are '' here. The flavor ids are the flavors' internal ids,
-- as nova's old/new_instance_type_id are. Times are BIGINT microseconds; a
-- NULL updated_at means never updated.

CREATE TABLE migrations (
    id ${AUTOID},
    uuid VARCHAR(36) NOT NULL,
    instance_uuid VARCHAR(36) NOT NULL,
    source_compute VARCHAR(255) NOT NULL,
    source_node VARCHAR(255) NOT NULL,
    dest_compute VARCHAR(255) NOT NULL,
    dest_node VARCHAR(255) NOT NULL,
    dest_host VARCHAR(255) NOT NULL,
    old_instance_type_id BIGINT,
    new_instance_type_id BIGINT,
    status VARCHAR(255) NOT NULL,
    migration_type VARCHAR(255) NOT NULL,
    hidden BOOLEAN NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    CONSTRAINT migrations_uuid UNIQUE (uuid)
)${TABLE};

CREATE INDEX migrations_instance ON migrations (instance_uuid, status);
CREATE INDEX migrations_created ON migrations (created_at, id);
CREATE INDEX migrations_source ON migrations (source_compute);
CREATE INDEX migrations_dest ON migrations (dest_compute);

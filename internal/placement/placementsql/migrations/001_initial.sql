-- Placement schema, one spelling for SQLite, MySQL/MariaDB and PostgreSQL.
-- Providers, aggregates and traits have integer ids; resource classes keep
-- placement's numbering (standard classes by their os-resource-classes index,
-- custom ones from 10000). A provider's root_provider_id is its own id when
-- it is a root; it is written in the same transaction as the insert.
-- An inventory's used column is the sum of the allocations against it, kept
-- in the same transaction as every allocation change, so that finding room
-- is a plain indexed comparison rather than a sum per inventory.
-- Consumers keep their project and user ids as given; consumer_type NULL is
-- placement's "unknown". Times are BIGINT microseconds since the epoch.

CREATE TABLE resource_providers (
    id ${AUTOID},
    uuid VARCHAR(36) NOT NULL,
    name VARCHAR(200) NOT NULL,
    generation BIGINT NOT NULL,
    root_provider_id BIGINT,
    parent_provider_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT resource_providers_uuid UNIQUE (uuid),
    CONSTRAINT resource_providers_name UNIQUE (name),
    CONSTRAINT resource_providers_parent_fk FOREIGN KEY (parent_provider_id) REFERENCES resource_providers (id),
    CONSTRAINT resource_providers_root_fk FOREIGN KEY (root_provider_id) REFERENCES resource_providers (id)
)${TABLE};

CREATE INDEX resource_providers_root ON resource_providers (root_provider_id);
CREATE INDEX resource_providers_parent ON resource_providers (parent_provider_id);

CREATE TABLE resource_classes (
    id INTEGER NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT resource_classes_name UNIQUE (name)
)${TABLE};

CREATE TABLE inventories (
    resource_provider_id BIGINT NOT NULL,
    resource_class_id INTEGER NOT NULL,
    total BIGINT NOT NULL,
    reserved BIGINT NOT NULL,
    min_unit BIGINT NOT NULL,
    max_unit BIGINT NOT NULL,
    step_size BIGINT NOT NULL,
    allocation_ratio DOUBLE PRECISION NOT NULL,
    used BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (resource_provider_id, resource_class_id),
    CONSTRAINT inventories_provider_fk FOREIGN KEY (resource_provider_id) REFERENCES resource_providers (id),
    CONSTRAINT inventories_class_fk FOREIGN KEY (resource_class_id) REFERENCES resource_classes (id)
)${TABLE};

CREATE INDEX inventories_class ON inventories (resource_class_id, resource_provider_id);

CREATE TABLE consumers (
    uuid VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    consumer_type VARCHAR(255),
    generation BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)${TABLE};

CREATE INDEX consumers_project_user ON consumers (project_id, user_id);

CREATE TABLE allocations (
    consumer_id VARCHAR(36) NOT NULL,
    resource_provider_id BIGINT NOT NULL,
    resource_class_id INTEGER NOT NULL,
    used BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (consumer_id, resource_provider_id, resource_class_id),
    CONSTRAINT allocations_provider_fk FOREIGN KEY (resource_provider_id) REFERENCES resource_providers (id),
    CONSTRAINT allocations_class_fk FOREIGN KEY (resource_class_id) REFERENCES resource_classes (id)
)${TABLE};

CREATE INDEX allocations_provider_class ON allocations (resource_provider_id, resource_class_id, used);
CREATE INDEX allocations_class ON allocations (resource_class_id, resource_provider_id, used);

CREATE TABLE traits (
    id ${AUTOID},
    name VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT traits_name UNIQUE (name)
)${TABLE};

CREATE TABLE resource_provider_traits (
    resource_provider_id BIGINT NOT NULL,
    trait_id BIGINT NOT NULL,
    PRIMARY KEY (resource_provider_id, trait_id),
    CONSTRAINT rp_traits_provider_fk FOREIGN KEY (resource_provider_id) REFERENCES resource_providers (id),
    CONSTRAINT rp_traits_trait_fk FOREIGN KEY (trait_id) REFERENCES traits (id)
)${TABLE};

CREATE INDEX rp_traits_trait ON resource_provider_traits (trait_id, resource_provider_id);

CREATE TABLE placement_aggregates (
    id ${AUTOID},
    uuid VARCHAR(36) NOT NULL,
    CONSTRAINT placement_aggregates_uuid UNIQUE (uuid)
)${TABLE};

CREATE TABLE resource_provider_aggregates (
    resource_provider_id BIGINT NOT NULL,
    aggregate_id BIGINT NOT NULL,
    PRIMARY KEY (resource_provider_id, aggregate_id),
    CONSTRAINT rp_aggs_provider_fk FOREIGN KEY (resource_provider_id) REFERENCES resource_providers (id),
    CONSTRAINT rp_aggs_aggregate_fk FOREIGN KEY (aggregate_id) REFERENCES placement_aggregates (id)
)${TABLE};

CREATE INDEX rp_aggs_aggregate ON resource_provider_aggregates (aggregate_id, resource_provider_id);

-- Metadata definitions catalog (glance's metadefs). Namespaces have an internal
-- id so a rename leaves their contents in place; objects, properties and tags
-- are unique by name within a namespace. Property and object schemas are JSON
-- text. Times are BIGINT microseconds since the epoch.

CREATE TABLE metadef_namespaces (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    namespace VARCHAR(80) NOT NULL,
    display_name VARCHAR(80) NOT NULL,
    description TEXT NOT NULL,
    visibility VARCHAR(32) NOT NULL,
    protected BOOLEAN NOT NULL,
    owner VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT metadef_namespaces_namespace UNIQUE (namespace)
)${TABLE};

CREATE TABLE metadef_resource_types (
    name VARCHAR(80) NOT NULL PRIMARY KEY,
    protected BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)${TABLE};

CREATE TABLE metadef_namespace_resource_types (
    namespace_id VARCHAR(36) NOT NULL,
    resource_type VARCHAR(80) NOT NULL,
    prefix VARCHAR(80) NOT NULL,
    properties_target VARCHAR(80) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, resource_type),
    CONSTRAINT metadef_nrt_namespace_fk FOREIGN KEY (namespace_id) REFERENCES metadef_namespaces (id),
    CONSTRAINT metadef_nrt_resource_type_fk FOREIGN KEY (resource_type) REFERENCES metadef_resource_types (name)
)${TABLE};

CREATE TABLE metadef_objects (
    namespace_id VARCHAR(36) NOT NULL,
    name VARCHAR(80) NOT NULL,
    description TEXT NOT NULL,
    required TEXT NOT NULL,
    json_schema TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name),
    CONSTRAINT metadef_objects_namespace_fk FOREIGN KEY (namespace_id) REFERENCES metadef_namespaces (id)
)${TABLE};

CREATE TABLE metadef_properties (
    namespace_id VARCHAR(36) NOT NULL,
    name VARCHAR(80) NOT NULL,
    json_schema TEXT NOT NULL,
    PRIMARY KEY (namespace_id, name),
    CONSTRAINT metadef_properties_namespace_fk FOREIGN KEY (namespace_id) REFERENCES metadef_namespaces (id)
)${TABLE};

CREATE TABLE metadef_tags (
    namespace_id VARCHAR(36) NOT NULL,
    name VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name),
    CONSTRAINT metadef_tags_namespace_fk FOREIGN KEY (namespace_id) REFERENCES metadef_namespaces (id)
)${TABLE};

-- glance's default resource types, protected; 2026-01-01T00:00:00Z.
INSERT INTO metadef_resource_types (name, protected, created_at, updated_at) VALUES
    ('OS::Glance::Image', TRUE, 1767225600000000, 1767225600000000),
    ('OS::Cinder::Volume', TRUE, 1767225600000000, 1767225600000000),
    ('OS::Nova::Flavor', TRUE, 1767225600000000, 1767225600000000),
    ('OS::Nova::Aggregate', TRUE, 1767225600000000, 1767225600000000),
    ('OS::Nova::Server', TRUE, 1767225600000000, 1767225600000000),
    ('OS::Trove::Instance', TRUE, 1767225600000000, 1767225600000000),
    ('OS::Nova::Instance', TRUE, 1767225600000000, 1767225600000000);

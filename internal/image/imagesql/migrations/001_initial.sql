-- Image schema, one spelling for SQLite, MySQL/MariaDB and PostgreSQL.
-- Ids are VARCHAR(36) UUIDs; member and owner ids are project ids. Text fields
-- a caller leaves empty are stored as ''; size and virtual_size are NULL until
-- known. Times are BIGINT microseconds since the epoch. stores is the
-- comma-separated list of backends holding the data, '' when none.

CREATE TABLE images (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    status VARCHAR(30) NOT NULL,
    visibility VARCHAR(20) NOT NULL,
    protected BOOLEAN NOT NULL,
    os_hidden BOOLEAN NOT NULL,
    owner VARCHAR(255) NOT NULL,
    disk_format VARCHAR(20) NOT NULL,
    container_format VARCHAR(20) NOT NULL,
    min_disk BIGINT NOT NULL,
    min_ram BIGINT NOT NULL,
    size BIGINT,
    virtual_size BIGINT,
    checksum VARCHAR(32) NOT NULL,
    os_hash_algo VARCHAR(64) NOT NULL,
    os_hash_value VARCHAR(128) NOT NULL,
    location TEXT NOT NULL,
    stores TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)${TABLE};

CREATE INDEX images_owner ON images (owner);
CREATE INDEX images_status ON images (status);
CREATE INDEX images_visibility ON images (visibility);
CREATE INDEX images_created_at ON images (created_at);
CREATE INDEX images_name ON images (name);

CREATE TABLE image_tags (
    image_id VARCHAR(36) NOT NULL,
    value VARCHAR(255) NOT NULL,
    PRIMARY KEY (image_id, value),
    CONSTRAINT image_tags_image_fk FOREIGN KEY (image_id) REFERENCES images (id)
)${TABLE};

CREATE INDEX image_tags_value ON image_tags (value);

CREATE TABLE image_properties (
    image_id VARCHAR(36) NOT NULL,
    name VARCHAR(255) NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (image_id, name),
    CONSTRAINT image_properties_image_fk FOREIGN KEY (image_id) REFERENCES images (id)
)${TABLE};

CREATE INDEX image_properties_name ON image_properties (name);

CREATE TABLE image_members (
    image_id VARCHAR(36) NOT NULL,
    member_id VARCHAR(255) NOT NULL,
    status VARCHAR(20) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (image_id, member_id),
    CONSTRAINT image_members_image_fk FOREIGN KEY (image_id) REFERENCES images (id)
)${TABLE};

CREATE INDEX image_members_member_id ON image_members (member_id, status);

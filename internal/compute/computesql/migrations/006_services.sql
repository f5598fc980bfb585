-- The service group: nova's services table, one row per service binary on a
-- host, so operators' settings (disabled and why, forced down) and service
-- ids outlive a controller restart, and every controller judges liveness
-- from the same last_seen_up. The binary column is binary_name: BINARY is
-- a reserved word on MySQL and PostgreSQL. version is the service's RPC
-- interface version, major.minor. A deleted service's row is removed, so
-- deleted_at stays NULL; it is kept for nova's shape. Times are BIGINT
-- microseconds. A hypervisor's integer id is its compute service's id, its
-- uuid that of its resource provider.

CREATE TABLE services (
    id ${AUTOID},
    uuid VARCHAR(36) NOT NULL,
    host VARCHAR(255) NOT NULL,
    binary_name VARCHAR(255) NOT NULL,
    topic VARCHAR(255) NOT NULL,
    report_count BIGINT NOT NULL,
    disabled BOOLEAN NOT NULL,
    disabled_reason VARCHAR(255),
    forced_down BOOLEAN NOT NULL,
    version VARCHAR(32) NOT NULL,
    last_seen_up BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    deleted_at BIGINT,
    CONSTRAINT services_uuid UNIQUE (uuid),
    CONSTRAINT services_host_binary UNIQUE (host, binary_name)
)${TABLE};

-- A compute service's node as its agent last reported it, so that a
-- controller knows every host's hypervisor (and resource provider) from
-- its start, before the next heartbeat. uuid is the node's resource
-- provider's; resources is the reported record as JSON, read and written
-- whole. One node per compute service.
CREATE TABLE compute_nodes (
    id ${AUTOID},
    uuid VARCHAR(36) NOT NULL,
    service_id BIGINT NOT NULL,
    host VARCHAR(255) NOT NULL,
    hypervisor_hostname VARCHAR(255) NOT NULL,
    resources TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    deleted_at BIGINT,
    CONSTRAINT compute_nodes_service UNIQUE (service_id),
    CONSTRAINT compute_nodes_service_fk FOREIGN KEY (service_id) REFERENCES services (id)
)${TABLE};

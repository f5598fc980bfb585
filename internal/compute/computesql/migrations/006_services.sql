-- The service group: nova's services table, one row per service binary on a
-- host, so operators' settings (disabled and why, forced down) and service
-- ids outlive a controller restart, and every controller judges liveness
-- from the same last_seen_up. The binary column is binary_name: BINARY is
-- a reserved word on MySQL and PostgreSQL. version is the service's RPC
-- interface version, major.minor. A deleted service's row is removed, so
-- deleted_at stays NULL; it is kept for nova's shape. Times are BIGINT
-- microseconds.
--
-- Hypervisors need no table of their own: a hypervisor's integer id is its
-- compute service's id and its uuid that of its resource provider, which
-- placement keeps.

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

-- Tasks (glance's tasks, API 2.12): one row per image import. input and result
-- are JSON object text, '' when absent. Times are BIGINT microseconds since the
-- epoch; expires_at is NULL until the task has finished.

CREATE TABLE tasks (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    type VARCHAR(30) NOT NULL,
    status VARCHAR(30) NOT NULL,
    owner VARCHAR(255) NOT NULL,
    input TEXT NOT NULL,
    result TEXT NOT NULL,
    message TEXT NOT NULL,
    image_id VARCHAR(36) NOT NULL,
    request_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)${TABLE};

CREATE INDEX tasks_image_id ON tasks (image_id);
CREATE INDEX tasks_owner ON tasks (owner);

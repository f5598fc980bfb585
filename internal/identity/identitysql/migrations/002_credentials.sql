-- Credentials (keystone's credential table): EC2 key pairs, TOTP seeds and
-- other secrets of users. The blob is stored only sealed by the service's
-- credential cipher (a Fernet token, hence ${BLOB}); key_hash names the key
-- that sealed it, so a key rotation can tell which blobs still need the old
-- key. user_id and project_id are not foreign keys, as in keystone: the rows
-- go with their user or project in DeleteUser and DeleteProject.
CREATE TABLE credential (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    type VARCHAR(255) NOT NULL,
    encrypted_blob ${BLOB} NOT NULL,
    key_hash VARCHAR(64) NOT NULL,
    extra TEXT
)${TABLE};

CREATE INDEX credential_user_id ON credential (user_id, type);

CREATE INDEX credential_project_id ON credential (project_id);

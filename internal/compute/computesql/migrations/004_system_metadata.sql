-- Instance system metadata: what nova keeps of an instance in
-- instance_system_metadata beyond the columns of instances (shelved_at,
-- shelved_image_id, shelved_host, old_vm_state, the password_0..3 chunks
-- of os-server-password), as one JSON object read and written with the
-- instance and never filtered on. NULL on rows written before it is the
-- empty object.

ALTER TABLE instances ADD COLUMN system_metadata TEXT;

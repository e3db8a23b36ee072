-- 0003_servers (SQLite): servers, server groups and identities (issue 3).
--
-- identities keep the SHA-256 fingerprint of their public key ("SHA256:<base64>", what
-- `ssh-keygen -l` prints by default) next to SHM's MD5 one; private_key holds an encrypted
-- envelope "sbx1:<key id>:<base64>" from now on (docs/identity-keys.md). (The PostgreSQL half
-- also keeps the identity sequences ahead of admin-chosen ids; SQLite's INTEGER PRIMARY KEY
-- already gives max + 1.)
ALTER TABLE identities ADD COLUMN fingerprint_sha256 TEXT;
CREATE INDEX servers_group ON servers (server_gid);

-- 0008_cache (PostgreSQL): the shared template cache of templates.md §7.17 (`cache.get`,
-- `set`, `increment`, `delete`, `get_json`, `set_json`; src/objects/obj_cache.c). SHM keeps it
-- in Redis; billd keeps it in the database so every node sees the same keys.
--
-- cache.key      the template's key (one namespace shared by every template and user)
-- cache.value    the text stored (structures as canonical JSON)
-- cache.expires  Unix second after which the key is gone (NULL = never); expired rows are
--                invisible and removed by later writes
CREATE TABLE cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires BIGINT
);
CREATE INDEX cache_expires ON cache (expires);

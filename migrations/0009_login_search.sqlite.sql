-- 0009_login_search (SQLite): case-insensitive indexes on users.login and users.login2, so
-- the admin user search with a prefix pattern (filter {"login":"abc%"}, SQL `login LIKE ?`,
-- which is case-insensitive in SQLite) reads an index range instead of every user, for the
-- page and for the envelope's count (docs/benchmarks.md).
CREATE INDEX users_login_nocase ON users (login COLLATE NOCASE);
CREATE INDEX users_login2_nocase ON users (login2 COLLATE NOCASE);

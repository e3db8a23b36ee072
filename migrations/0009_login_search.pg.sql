-- 0009_login_search (PostgreSQL): nothing. The SQLite migration adds case-insensitive login
-- indexes for prefix LIKE searches; PostgreSQL's ILIKE cannot use a btree index, and a
-- trigram index needs the pg_trgm extension, which billd does not require.
SELECT 1;

-- 0002_services (SQLite): nothing to change.
--
-- The PostgreSQL half keeps the services identity ahead of admin-chosen ids; SQLite's
-- INTEGER PRIMARY KEY already gives a new row max(service_id) + 1.
SELECT 1;

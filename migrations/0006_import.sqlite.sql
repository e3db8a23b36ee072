-- 0006_import (SQLite): the quarantine of `billd import-shm` (issue 7).
--
-- A JSON column of an SHM dump that is not valid JSON is not dropped and does not stop the
-- import: the row is imported with NULL in that column (a row whose column may not be NULL,
-- config.value or spool.event, is left out) and the raw value is kept here with the table,
-- the row's key and the column, so an operator can repair it by hand
-- (docs/migrating-from-shm.md). raw_text holds the value as the dump had it; bytes that are
-- not UTF-8 are replaced by U+FFFD so the text is readable on both engines.
CREATE TABLE import_quarantine (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    row_key TEXT NOT NULL,
    column_name TEXT NOT NULL,
    raw_text TEXT NOT NULL,
    reason TEXT NOT NULL,
    row_imported INTEGER NOT NULL,
    created INTEGER NOT NULL
) STRICT;

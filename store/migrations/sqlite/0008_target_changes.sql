-- Nothing to do on SQLite: one process owns the file, and the store clears its cache of
-- webhook URLs itself after each change (postgres/0008 tells the other nodes).
SELECT 1;

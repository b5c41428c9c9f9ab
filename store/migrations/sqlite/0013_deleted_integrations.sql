-- Nothing to do on SQLite: one process serves it, and that process forgets a deleted
-- integration's metrics itself (postgres/0013 tells the other nodes of a cluster).
SELECT 1;

-- xctl schema, step 2 (SQLite): leases for cluster mode (docs/cluster.md).
-- Same table as PostgreSQL, but expires_at holds UTC milliseconds since the
-- epoch (SQLite has no timestamptz). Cluster mode needs PostgreSQL; SQLite
-- has the table so single-node tests and tools see one schema.
CREATE TABLE cluster_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  epoch INTEGER NOT NULL
);

CREATE INDEX cluster_leases_holder ON cluster_leases (holder);

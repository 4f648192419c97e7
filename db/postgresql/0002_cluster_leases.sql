-- xctl schema, step 2 (PostgreSQL): leases for cluster mode (docs/cluster.md).
-- One row per named lease ("price-leader", "strategy:<id>"). A row is never
-- deleted: a released or expired lease keeps its epoch, so the epoch (the
-- fencing token) only ever grows. Times come from the database clock.
CREATE TABLE cluster_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  epoch BIGINT NOT NULL
);

CREATE INDEX cluster_leases_holder ON cluster_leases (holder);

-- xctl schema, step 5 (PostgreSQL): the gRPC address each cluster member
-- advertises (docs/cluster.md, "Forwarding"), so any instance can forward a
-- call to a strategy's owner. One row per node id, upserted by the node when
-- it starts (StrategyShards); whether the node is alive is its member:<node>
-- lease in cluster_leases, not this row.
CREATE TABLE cluster_members (
  node TEXT PRIMARY KEY,
  grpc_address TEXT NOT NULL
);

// Package scheduling measures scheduling throughput end to end through the
// API: it creates fake Node objects and pods with mixed requests (one in
// ten with hostname anti-affinity or a zone spread constraint), waits on a
// watch until every pod is bound, checks that no node is overcommitted and
// deletes what it created.
//
//	create nodes ─► watch pods ─► create pods ─► scheduler binds ─► all bound?
//	                                    (16 clients)                    │
//	                  delete nodes, pods ◄─ check placements ◄──────────┘
//
// Everything it creates carries the label skiff.dev/bench=scheduler and a
// bench- name prefix, so it never touches user objects. `skiff bench
// scheduler` runs it against a live server; test/bench runs it against an
// in-process one.
package scheduling

"""A lab of cluster nodes in network namespaces (or on loopback) for tests, benchmarks and the demo."""

"""In-memory adapters: working implementations of every port, for tests, demos and BDD."""

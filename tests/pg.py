"""The throwaway PostgreSQL servers of the tests: `sandbox.postgres` (which `make cluster` starts
too), under the name the tests and benchmarks import."""

from sandbox.postgres import ENV_URL, PostgresServer, server

__all__ = ["ENV_URL", "PostgresServer", "server"]

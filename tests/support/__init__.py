"""Helpers shared by the e2e tests and the benchmarks: real servers on 127.0.0.1."""

"""Real stand-ins for what pmlkg talks to, for tests and benchmarks (and anyone checking a deployment
offline): an E-utilities look-alike HTTP server (``eutils``), the API served by uvicorn on a free
loopback port (``live_server``), and an order-free dump of a graph (``graph_dump``).

They live in the package, not in ``tests/``, so ``bench/`` can use them without importing the test
suite, and an installed wheel carries them.
"""

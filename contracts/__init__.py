"""Consumer-driven contracts (Pact) for every caller→callee edge of the shop, and the contract gate.

- ``consumers/test_<caller>__<callee>.py``: one consumer test module per edge; it drives the
  caller's real ``clients.py`` wrapper against the Pact mock server and writes the pact;
- ``pacts/<caller>-<callee>.json``: the committed pacts (``pactfiles`` says when they are stale);
- ``states``: provider states, set up through each provider's own API and admin API;
- ``verify``: replay one pact against a running provider process;
- ``gate``: consumers, then providers, then the consumer × provider matrix.
"""

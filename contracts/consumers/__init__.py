"""One consumer test module per edge: ``test_<caller>__<callee>.py`` (the proxy name)."""

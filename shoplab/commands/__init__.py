"""The shoplab commands: each module parses its options, calls a lower layer and prints."""

"""Guided lab scenarios for trainers: a story, a broken starting state, a task and a measured check."""

"""The trainer's console: a small Flask app showing the shop's live edges, with faults, profiles, load and labs."""

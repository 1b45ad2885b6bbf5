"""The system under test: eight small Flask services and the kit they share."""

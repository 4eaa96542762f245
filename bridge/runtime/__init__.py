"""The running service: supervisors per venue stream, the pipeline, delivery."""

"""Outputs of approved SLOs: OpenSLO v1 YAML, Prometheus recording and burn-rate alert rules, the SLOApproved event."""

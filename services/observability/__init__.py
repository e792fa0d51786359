"""Operating the service: Prometheus metrics and the structured (JSON) log format."""

"""etlsite: an ETL control plane built on Django."""

# The one version source: /api/v1/info/version and the OpenAPI schema read it.
__version__ = "0.1.0"

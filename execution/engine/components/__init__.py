"""Every built-in component type. Importing this package runs each module's
`@register` decorators, filling the registry."""

from execution.engine.components import (  # noqa: F401
    checks,
    csv_source,
    db_sinks,
    db_sources,
    file_sinks,
    file_sources,
    json_source,
    mysql_sink,
    sqlite_sink,
    transforms,
)

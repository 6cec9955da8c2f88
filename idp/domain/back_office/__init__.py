"""What officers do through the admin API, one module per resource: queries that return plain
dicts and pages, commands that change records in a unit of work of their own. Synchronous and
framework-free: the admin API runs them in a thread."""

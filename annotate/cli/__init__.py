"""The `annotate` command line: thin commands over the services, errors mapped at this edge."""

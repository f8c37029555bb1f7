"""Synapse serverless SQL: the typed external table and views over the lake (``script``), the
custom tables' objects (``custom``), column types (``types``), quoting, settings (``config``)
and the executor that applies a script idempotently (``executor``, ``target``)."""

"""SQL over the lake: DuckDB views locally, Synapse serverless external tables in Azure."""

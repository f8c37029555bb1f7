"""Tests of the Synapse serverless target (dicom_assets/sql/synapse/)."""

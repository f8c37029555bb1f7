"""Custom tables: columns a user declares in a YAML template, derived from the change log.

Layers: ``paths`` (syntax) -> ``resolve`` (meaning and type, from ``schema/vr.py``) -> ``template``
(YAML files, validation with file:line) -> ``evaluate``/``where``/``derive`` (Arrow rows in, Arrow
rows out). Nothing here talks to the DICOM server or knows where rows are stored.
"""

from dicom_assets.custom.derive import derive_batches, derive_table, output_schema
from dicom_assets.custom.template import (
    CustomColumn,
    Problem,
    Template,
    TemplateError,
    load_templates,
    parse_template,
)

__all__ = [
    "CustomColumn",
    "Problem",
    "Template",
    "TemplateError",
    "derive_batches",
    "derive_table",
    "load_templates",
    "output_schema",
    "parse_template",
]

"""The lake: its layout, storage credentials, Delta commits, maintenance and IO manager.

Data flows feed → metadata → Arrow → *lake* → SQL: this package imports ``schema`` and
``partitions``, never ``sources``, ``sql`` or ``assets``. Public API for other packages:
:mod:`dicom_assets.lake.change_log` (read a window, identities, last synced sequence,
``write_window``), :class:`LakeResource`, :class:`DicomLakeIOManager`.
"""

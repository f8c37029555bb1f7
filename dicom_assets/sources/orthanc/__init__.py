"""Orthanc as a source: its feed (``feed.py``, over the ``/changes`` log in ``changes.py``),
instance files read directly when Orthanc shares its storage (``files.py``), and the
reconciliation that finds the deletions its feed forgets (``reconcile.py``: the comparison
only; the job reads and writes the lake)."""

from dicom_assets.sources.orthanc.feed import OrthancChangeFeed, orthanc_instance_id

__all__ = ["OrthancChangeFeed", "open_feed", "orthanc_instance_id"]


def open_feed(server) -> OrthancChangeFeed:
    """The feed of ``server`` (a ``DicomServerResource`` with ``kind="orthanc"``)."""
    return OrthancChangeFeed(server.validated_url(), server.effective_orthanc_url())

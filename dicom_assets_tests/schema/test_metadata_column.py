import pyarrow as pa

from dicom_assets.schema import metadata_column as module
from dicom_assets.schema.metadata_column import metadata_column


def test_texts_and_nulls_in_order():
    array = metadata_column([b'{"a":1}', None, '{"é":"ü"}'.encode(), b""])
    array.validate(full=True)
    assert array.type == pa.string()
    assert array.to_pylist() == ['{"a":1}', None, '{"é":"ü"}', ""]


def test_big_batches_become_chunks(monkeypatch):
    monkeypatch.setattr(module, "CHUNK_BYTES", 10)
    texts = [b"123456", None, b"1234", b"12345678901", b"1"]
    array = metadata_column(texts)
    assert isinstance(array, pa.ChunkedArray) and array.num_chunks == 3
    assert array.to_pylist() == [t and t.decode() for t in texts]

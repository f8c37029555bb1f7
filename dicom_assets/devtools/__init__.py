"""Development tools shared by the demo, the tests and the benchmarks: a local Orthanc and
sample DICOM studies. Not used by the product's own data path."""

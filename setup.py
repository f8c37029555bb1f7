"""Builds the native DICOM JSON shredder and splitters (dicom_assets/schema/_shredder.c and
_split.c, sharing the scanner _json.h), the de-identification pass (dicom_assets/deid/_deid.c,
same scanner) and the date/time kernel (_temporal.c); metadata and the
package list live in pyproject.toml. Both extensions are optional: without a C compiler the
package installs and converts with the Python path only (the same tables, slower)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dicom_assets.schema._shredder",
            ["dicom_assets/schema/_shredder.c", "dicom_assets/schema/_split.c"],
            depends=["dicom_assets/schema/_json.h", "dicom_assets/schema/_split.h"],
            extra_compile_args=["-O3", "-std=c99", "-fvisibility=hidden"],
            optional=True,
        ),
        Extension(
            "dicom_assets.deid._deid",
            ["dicom_assets/deid/_deid.c"],
            depends=["dicom_assets/schema/_json.h"],
            extra_compile_args=["-O3", "-std=c99", "-fvisibility=hidden"],
            optional=True,
        ),
        Extension(
            "dicom_assets.schema._temporal",
            ["dicom_assets/schema/_temporal.c"],
            extra_compile_args=["-O3", "-std=c99", "-fvisibility=hidden"],
            optional=True,
        ),
    ]
)

"""Builds the native DICOM JSON shredder and splitters (dicom_assets/native/_shredder.c and
_split.c, sharing the scanner _json.h), the de-identification pass (dicom_assets/deid/_deid.c,
same scanner) and the date/time kernel (native/_temporal.c); metadata and the
package list live in pyproject.toml. Both extensions are optional: without a C compiler the
package installs and converts with the Python path only (the same tables, slower)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dicom_assets.native._shredder",
            ["dicom_assets/native/_shredder.c", "dicom_assets/native/_split.c"],
            depends=["dicom_assets/native/_json.h", "dicom_assets/native/_split.h"],
            extra_compile_args=["-O3", "-std=c99", "-fvisibility=hidden"],
            optional=True,
        ),
        Extension(
            "dicom_assets.deid._deid",
            ["dicom_assets/deid/_deid.c"],
            depends=["dicom_assets/native/_json.h"],
            extra_compile_args=["-O3", "-std=c99", "-fvisibility=hidden"],
            optional=True,
        ),
        Extension(
            "dicom_assets.native._temporal",
            ["dicom_assets/native/_temporal.c"],
            extra_compile_args=["-O3", "-std=c99", "-fvisibility=hidden"],
            optional=True,
        ),
    ]
)

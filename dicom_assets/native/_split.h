/* The splitters of _split.c, registered in _shredder.c's module. */
#ifndef DICOM_ASSETS_SPLIT_H
#define DICOM_ASSETS_SPLIT_H
#include <Python.h>

PyObject *split_array(PyObject *self, PyObject *args);
PyObject *split_member(PyObject *self, PyObject *args);
extern const char split_array_doc[], split_member_doc[];

#endif

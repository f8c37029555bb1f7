/*
 * DA / TM / DT texts of an Arrow string array -> date32 days / time64 µs / timestamp µs.
 *
 * Nearly every date and time in a lake is written in its plain form (20261124, 101530.123456,
 * 20261124101530); parsing those in Python costs more than shredding the whole instance. This
 * kernel reads only those plain forms and marks every other text "slow": the caller parses the
 * slow ones with the reference parsers (schema/values.py), which alone decide what is invalid,
 * empty or written in a rarer form. So this kernel can only agree with the reference parsers or
 * defer to them; a property test holds the two together.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { T_DATE = 0, T_TIME = 1, T_DATETIME = 2 };

static int digits(const unsigned char *s, int n, int64_t *out) {
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        unsigned d = (unsigned)s[i] - '0';
        if (d > 9) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int days_in_month(int64_t y, int64_t m) {
    static const int DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return DAYS[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* YYYYMMDD, as dt.date accepts it (year 1..9999). */
static int plain_date(const unsigned char *s, int64_t *days) {
    int64_t y, m, d;
    if (!digits(s, 4, &y) || !digits(s + 4, 2, &m) || !digits(s + 6, 2, &d)) return 0;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return 0;
    *days = days_from_civil(y, m, d);
    return 1;
}

/* HH[MM[SS[.F{1,6}]]] from s[0..n): microseconds since midnight (no leap second: slow). */
static int plain_time(const unsigned char *s, Py_ssize_t n, int64_t *micros) {
    int64_t h = 0, m = 0, sec = 0, frac = 0;
    if (n != 2 && n != 4 && n != 6 && !(n >= 8 && n <= 13 && s[6] == '.')) return 0;
    if (!digits(s, 2, &h) || h > 23) return 0;
    if (n >= 4 && (!digits(s + 2, 2, &m) || m > 59)) return 0;
    if (n >= 6 && (!digits(s + 4, 2, &sec) || sec > 59)) return 0;
    if (n >= 8) {
        int f = (int)n - 7;
        if (!digits(s + 7, f, &frac)) return 0;
        for (; f < 6; f++) frac *= 10;
    }
    *micros = ((h * 60 + m) * 60 + sec) * 1000000 + frac;
    return 1;
}

/* YYYYMMDD[HH[MM[SS[.F{1,6}]]]] without a UTC offset: microseconds since the epoch. */
static int plain_datetime(const unsigned char *s, Py_ssize_t n, int64_t *micros) {
    int64_t days, time = 0;
    if (n < 8 || !plain_date(s, &days)) return 0;
    if (n > 8 && !plain_time(s + 8, n - 8, &time)) return 0;
    *micros = days * 86400000000LL + time;
    return 1;
}

static int get_buffer(PyObject *obj, Py_buffer *view) {
    if (obj == Py_None) {
        memset(view, 0, sizeof *view);
        return 0;
    }
    return PyObject_GetBuffer(obj, view, PyBUF_SIMPLE);
}

PyDoc_STRVAR(parse_doc,
"parse(kind, count, offset, offsets, data) -> (values, slow)\n\n"
"kind: 0 DA (int32 days), 1 TM (int64 us), 2 DT (int64 us); offsets/data: the int32 offsets\n"
"and data buffers of a string array of count values starting at offset. values holds one\n"
"number per text (0 where slow); slow holds one byte per text, 1 where the text is not in a\n"
"plain form and needs the reference parser.");

static PyObject *parse(PyObject *self, PyObject *args) {
    int kind;
    Py_ssize_t count, offset;
    PyObject *offsets_obj, *data_obj;
    if (!PyArg_ParseTuple(args, "innOO", &kind, &count, &offset, &offsets_obj, &data_obj)) return NULL;
    if (kind < T_DATE || kind > T_DATETIME || count < 0 || offset < 0) {
        PyErr_SetString(PyExc_ValueError, "bad kind, count or offset");
        return NULL;
    }
    Py_buffer offsets_view, data_view;
    if (get_buffer(offsets_obj, &offsets_view) < 0) return NULL;
    if (get_buffer(data_obj, &data_view) < 0) {
        if (offsets_view.obj) PyBuffer_Release(&offsets_view);
        return NULL;
    }
    PyObject *result = NULL, *values = NULL, *slow = NULL;
    const unsigned char *offsets = (const unsigned char *)offsets_view.buf;
    const unsigned char *data = (const unsigned char *)data_view.buf;
    /* offset + count + 1 offsets must lie in the buffer; written so that no sum can overflow. */
    Py_ssize_t n_offsets = offsets_view.len / (Py_ssize_t)sizeof(int32_t);
    if (count > 0 && (offset >= n_offsets || count > n_offsets - offset - 1)) {
        PyErr_SetString(PyExc_ValueError, "offsets buffer too short");
        goto done;
    }
    Py_ssize_t width = kind == T_DATE ? sizeof(int32_t) : sizeof(int64_t);
    values = PyBytes_FromStringAndSize(NULL, count * width);
    slow = PyBytes_FromStringAndSize(NULL, count);
    if (!values || !slow) goto done;
    char *out = PyBytes_AS_STRING(values), *flags = PyBytes_AS_STRING(slow);
    for (Py_ssize_t i = 0; i < count; i++) {
        int32_t start, stop;  /* memcpy: the buffer need not be aligned */
        memcpy(&start, offsets + (offset + i) * sizeof(int32_t), sizeof start);
        memcpy(&stop, offsets + (offset + i + 1) * sizeof(int32_t), sizeof stop);
        int64_t v = 0;
        int ok = 0;
        if (start >= 0 && stop >= start && stop <= data_view.len) {
            const unsigned char *s = data + start;
            Py_ssize_t n = stop - start;
            if (kind == T_DATE) ok = n == 8 && plain_date(s, &v);
            else if (kind == T_TIME) ok = plain_time(s, n, &v);
            else ok = plain_datetime(s, n, &v);
        }
        if (!ok) v = 0;
        flags[i] = (char)!ok;
        if (kind == T_DATE) { int32_t d = (int32_t)v; memcpy(out + i * width, &d, sizeof d); }
        else memcpy(out + i * width, &v, sizeof v);
    }
    result = PyTuple_Pack(2, values, slow);
done:
    Py_XDECREF(values);
    Py_XDECREF(slow);
    if (offsets_view.obj) PyBuffer_Release(&offsets_view);
    if (data_view.obj) PyBuffer_Release(&data_view);
    return result;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_VARARGS, parse_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_temporal",
    "Plain-form DICOM dates and times -> Arrow temporal values (see schema/temporal.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

/* The kind codes, under the names dicom_assets.native and schema/kinds.py check at import. */
PyMODINIT_FUNC PyInit__temporal(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "KIND_DATE", T_DATE) < 0
        || PyModule_AddIntConstant(m, "KIND_TIME", T_TIME) < 0
        || PyModule_AddIntConstant(m, "KIND_DATETIME", T_DATETIME) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

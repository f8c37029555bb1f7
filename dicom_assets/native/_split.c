/*
 * Server answers that are JSON arrays of objects, split into the objects' bytes without parsing
 * them into Python objects: a WADO-RS metadata answer into its instances (with the identifiers
 * that match each to its change), a change-feed page into its entries with their DICOM JSON
 * cut out. The converter then reads each instance's bytes natively (_shredder.c).
 */
#include "_json.h"
#include "_split.h"

/* Calls visit at each object of a JSON array that makes up the whole body (visit consumes the
 * object); -1 with a reason, or with an exception (out->error), on failure. */
typedef int (*ObjectVisitor)(P *p, void *ctx);

static int each_object(P *p, ObjectVisitor visit, void *ctx) {
    skip_ws(p);
    if (p->s >= p->end || *p->s != '[') return bail(p, "expected a JSON array");
    if (!open_container(p, ']')) {
        for (;;) {
            skip_ws(p);
            if (p->s >= p->end || *p->s != '{') return bail(p, "expected an object");
            if (visit(p, ctx) < 0) return -1;
            int more = next_item(p, ']');
            if (more < 0) return -1;
            if (!more) break;
        }
    }
    skip_ws(p);
    return p->s == p->end ? 0 : bail(p, "trailing data");
}

/* Calls visit at each member's value of the object at p->s (key in [a, b), escaped or not). */
typedef int (*MemberVisitor)(P *p, const unsigned char *a, const unsigned char *b, int escaped,
                             void *ctx);

static int each_member(P *p, MemberVisitor visit, void *ctx) {
    if (open_container(p, '}')) return 0;
    for (;;) {
        const unsigned char *a, *b;
        int e;
        if (member_key(p, &a, &b, &e) < 0 || visit(p, a, b, e, ctx) < 0) return -1;
        int more = next_item(p, '}');
        if (more <= 0) return more;
    }
}

/* The list of visit's results over body, or a reason (str) when body is not an array of
 * objects that visit accepts, or NULL with an exception set. */
static PyObject *split_body(Py_buffer *body, ObjectVisitor visit, void *ctx, PyObject **items) {
    Outcome out;
    memset(&out, 0, sizeof out);
    P p;
    p.base = p.s = (const unsigned char *)body->buf;
    p.end = p.s + body->len;
    p.out = &out;
    p.sh = NULL;
    p.spaced = 0;
    p.any_number = 1;
    *items = PyList_New(0);
    if (!*items) return NULL;
    if (each_object(&p, visit, ctx) < 0) {
        Py_CLEAR(*items);
        return out.error ? NULL : PyUnicode_FromString(out.reason ? out.reason : "unreadable");
    }
    PyObject *result = *items;
    *items = NULL;
    return result;
}

static int append_pair(P *p, PyObject *items, PyObject *pair) {
    if (!pair || PyList_Append(items, pair) < 0) {
        Py_XDECREF(pair);
        p->out->error = Py_None;
        return -1;
    }
    Py_DECREF(pair);
    return 0;
}

/* -- split_array: a WADO-RS metadata answer, with the identifiers of each instance -- */

#define MAX_SPLIT_KEYS 8

typedef struct {
    PyObject *items;
    Py_ssize_t n_keys;
    const char *keys[MAX_SPLIT_KEYS];
    PyObject *firsts[MAX_SPLIT_KEYS];
    int wanted;  /* the key being read, while in a value array */
} SplitArray;

/* Inside an element: keeps the first value of its last "Value" when that is a string. */
static int element_member(P *p, const unsigned char *a, const unsigned char *b, int e, void *ctx) {
    SplitArray *sa = ctx;
    PyObject **out = &sa->firsts[sa->wanted];
    if (!key_is(a, b, e, "Value")) return skip_value(p, 3);
    Py_CLEAR(*out);
    if (peek(p) != '[') return skip_value(p, 3);
    if (open_container(p, ']')) return 0;
    skip_ws(p);
    if (p->s < p->end && *p->s == '"') {
        const unsigned char *text, *stop;
        int escaped;
        if (scan_string(p, &text, &stop, &escaped) < 0) return -1;
        Buf decoded = {0};
        if (decode_into(&decoded, text, stop, escaped) < 0) { buf_free(&decoded); return nomem(p); }
        *out = PyUnicode_DecodeUTF8(decoded.p ? decoded.p : "", decoded.len, "strict");
        buf_free(&decoded);
        if (!*out) { p->out->error = Py_None; return -1; }
    } else if (skip_value(p, 4) < 0) return -1;
    for (;;) {
        int more = next_item(p, ']');
        if (more <= 0) return more;
        skip_ws(p);
        if (skip_value(p, 4) < 0) return -1;
    }
}

static int instance_member(P *p, const unsigned char *a, const unsigned char *b, int e, void *ctx) {
    SplitArray *sa = ctx;
    for (Py_ssize_t k = 0; k < sa->n_keys; k++) {
        if (!key_equals(a, b, e, sa->keys[k], 8)) continue;  /* decoded: "\u0030020000D" too */
        Py_CLEAR(sa->firsts[k]);  /* a repeated key: the last one wins, as when parsed */
        if (peek(p) != '{') return skip_value(p, 2);
        sa->wanted = (int)k;
        return each_member(p, element_member, sa);
    }
    return skip_value(p, 2);
}

static int instance(P *p, void *ctx) {
    SplitArray *sa = ctx;
    const unsigned char *start = p->s;
    for (Py_ssize_t k = 0; k < sa->n_keys; k++) Py_CLEAR(sa->firsts[k]);
    if (each_member(p, instance_member, sa) < 0) return -1;
    PyObject *values = PyTuple_New(sa->n_keys);
    if (!values) return nomem(p);
    for (Py_ssize_t k = 0; k < sa->n_keys; k++) {
        PyObject *v = sa->firsts[k] ? sa->firsts[k] : PyUnicode_FromStringAndSize("", 0);
        sa->firsts[k] = NULL;
        if (!v) { Py_DECREF(values); return nomem(p); }
        PyTuple_SET_ITEM(values, k, v);
    }
    return append_pair(p, sa->items, Py_BuildValue(
        "(y#N)", (const char *)start, (Py_ssize_t)(p->s - start), values));
}

const char split_array_doc[] = (
"split_array(body, keys) -> [(payload, (first value of each key, ...)), ...] | str\n\n"
"body: a JSON array of DICOM JSON objects (a WADO-RS metadata answer). Each object's bytes are\n"
"returned as they are, with the first text value of each top-level tag in keys (8-hex-digit\n"
"strings; \"\" when absent). Returns a reason (str) instead when body is not such an array.");

PyObject *split_array(PyObject *self, PyObject *args) {
    Py_buffer body;
    PyObject *keys, *result = NULL;
    if (!PyArg_ParseTuple(args, "y*O!", &body, &PyTuple_Type, &keys)) return NULL;
    SplitArray sa;
    memset(&sa, 0, sizeof sa);
    sa.n_keys = PyTuple_GET_SIZE(keys);
    if (sa.n_keys > MAX_SPLIT_KEYS) { PyErr_SetString(PyExc_ValueError, "too many keys"); goto done; }
    for (Py_ssize_t k = 0; k < sa.n_keys; k++) {
        PyObject *key = PyTuple_GET_ITEM(keys, k);
        Py_ssize_t size = 0;
        sa.keys[k] = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &size) : NULL;
        if (!sa.keys[k] || size != 8) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "keys are 8-character str");
            goto done;
        }
    }
    result = split_body(&body, instance, &sa, &sa.items);
done:
    for (Py_ssize_t k = 0; k < MAX_SPLIT_KEYS; k++) Py_XDECREF(sa.firsts[k]);
    Py_XDECREF(sa.items);
    PyBuffer_Release(&body);
    return result;
}

/* -- split_member: a change-feed page, each entry's metadata object cut out -- */

typedef struct {
    PyObject *items;
    const char *member;
    Py_ssize_t member_len;
    const unsigned char *value, *value_end;
    int seen, empty;
    Buf rest;
} SplitMember;

static int entry_member(P *p, const unsigned char *a, const unsigned char *b, int e, void *ctx) {
    SplitMember *sm = ctx;
    if (!key_equals(a, b, e, sm->member, (size_t)sm->member_len)) return skip_value(p, 2);
    if (sm->seen++) return bail(p, "member twice in one object");
    if (peek(p) != '{') return skip_value(p, 2);
    sm->value = p->s;
    p->s++;
    skip_ws(p);
    sm->empty = p->s < p->end && *p->s == '}';
    p->s = sm->value;
    if (skip_value(p, 2) < 0) return -1;
    sm->value_end = p->s;
    return 0;
}

static int entry(P *p, void *ctx) {
    SplitMember *sm = ctx;
    const unsigned char *start = p->s;
    sm->value = sm->value_end = NULL;
    sm->seen = sm->empty = 0;
    if (each_member(p, entry_member, sm) < 0) return -1;
    if (!sm->value)
        return append_pair(p, sm->items, Py_BuildValue(
            "(y#O)", (const char *)start, (Py_ssize_t)(p->s - start), Py_None));
    sm->rest.len = 0;
    if (buf_put(&sm->rest, start, sm->value - start) < 0 || buf_put(&sm->rest, "null", 4) < 0 ||
        buf_put(&sm->rest, sm->value_end, p->s - sm->value_end) < 0) return nomem(p);
    if (sm->empty)
        return append_pair(p, sm->items, Py_BuildValue("(y#O)", sm->rest.p, sm->rest.len, Py_None));
    return append_pair(p, sm->items, Py_BuildValue(
        "(y#y#)", sm->rest.p, sm->rest.len, (const char *)sm->value,
        (Py_ssize_t)(sm->value_end - sm->value)));
}

const char split_member_doc[] = (
"split_member(body, member) -> [(rest, value), ...] | str\n\n"
"body: a JSON array of objects (a change-feed page). For each object whose top-level member\n"
"is a non-empty JSON object, value is that object's bytes as they are and rest the entry's\n"
"bytes with it replaced by null; an empty object is replaced by null too, with value None;\n"
"any other value stays in rest (value None). Returns a reason (str) instead when body is\n"
"not such an array, or an object holds the member twice.");

PyObject *split_member(PyObject *self, PyObject *args) {
    Py_buffer body;
    SplitMember sm;
    memset(&sm, 0, sizeof sm);
    if (!PyArg_ParseTuple(args, "y*s#", &body, &sm.member, &sm.member_len)) return NULL;
    if (sm.member_len > SHORT_KEY) {
        PyBuffer_Release(&body);
        PyErr_SetString(PyExc_ValueError, "member name too long");
        return NULL;
    }
    PyObject *result = split_body(&body, entry, &sm, &sm.items);
    buf_free(&sm.rest);
    Py_XDECREF(sm.items);
    PyBuffer_Release(&body);
    return result;
}


/*
 * De-identification of DICOM JSON payloads (bytes -> bytes), before the shredder reads them.
 *
 * The native twin of dicom_assets/deid/dataset.py (the reference): per tag, at any sequence
 * depth, keep / remove / empty / dummy / keyed UID / keyed patient pseudonym / shifted date,
 * writing exactly the bytes orjson.dumps gives for the reference's result, so both paths give
 * the same rows and the same _metadata. Python supplies the actions (action_of, cached here per
 * call), the keyed values (uid_of, patient_of, shift_of; each caches in Python, so only distinct
 * values cost an HMAC) and the marks' bytes.
 *
 * Anything this pass does not take exactly as the reference (whitespace, escaped strings,
 * numbers orjson would write differently, keys that are not 8 upper-case hex digits or not in
 * ascending order, an element that is not an object or has unknown members, integers beyond
 * float64's exact range, a private creator Table E.3.10-1 lists under retain-safe-private...)
 * gives None for that payload, and the caller de-identifies it with the reference path. Invalid
 * JSON gives None too (the reference quarantines it).
 */
#include "../native/_json.h"

unsigned char PLAIN[256];

static void init_plain(void) {
    for (int c = 0x20; c < 0x80; c++) PLAIN[c] = c != '"' && c != '\\';
}

/* ---- the call's state ---------------------------------------------------------------- */
#define N_MARKS 8
#define TABLE_SIZE 8192  /* tags per call: ~5,000 in the dictionary, a batch meets a few hundred */

typedef struct {
    PyObject *action_of, *uid_of, *patient_of, *shift_of;
    PyObject *uid_cache, *patient_cache;  /* dicts filled by uid_of / patient_of */
    PyObject *creators;  /* retain-safe-private: frozenset of the listed creators (bytes), or NULL */
    uint32_t marks_key[N_MARKS];
    const char *marks_json[N_MARKS];
    Py_ssize_t marks_len[N_MARKS];
    int n_marks;
    uint32_t keys[TABLE_SIZE];  /* tag + 1 (0: empty slot) */
    char actions[TABLE_SIZE];
    int n_keys;
    Buf out, tmp;
    Outcome oc;
    /* per payload */
    const unsigned char *patient;
    Py_ssize_t patient_len;
    int shift;  /* days, 0 when dates are not shifted */
    int want_shift;
    PyObject *reasons;  /* a list collecting why payloads were left to the reference, or NULL */
} D;

static int fail(P *p, const char *why) { return bail(p, why); }
/* Sub-scanners (at()) read recorded spans; whitespace they meet is reported through p->spaced
 * by the callers, so a payload with whitespace always goes to the reference path. */

static int py_fail(P *p) { if (!p->out->error) p->out->error = Py_None; return -1; }

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A member key as a tag: 8 upper-case hex digits, unescaped; -1 otherwise. */
static int64_t tag_of(const unsigned char *a, const unsigned char *b, int escaped) {
    if (escaped || b - a != 8) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        int h = hexval(a[i]);
        if (h < 0) return -1;
        v = (v << 4) | (uint32_t)h;
    }
    return v;
}

static int action(D *d, P *p, uint32_t tag, char *out) {
    uint32_t slot = (tag * 2654435761u) & (TABLE_SIZE - 1);
    while (d->keys[slot]) {
        if (d->keys[slot] == tag + 1) { *out = d->actions[slot]; return 0; }
        slot = (slot + 1) & (TABLE_SIZE - 1);
    }
    if (d->n_keys >= TABLE_SIZE / 2) return fail(p, "too many distinct tags");
    char key[9];
    snprintf(key, sizeof key, "%08X", tag);
    PyObject *r = PyObject_CallFunction(d->action_of, "s", key);
    if (!r) return py_fail(p);
    const char *s = PyUnicode_Check(r) ? PyUnicode_AsUTF8(r) : NULL;
    if (!s || !s[0]) { Py_DECREF(r); PyErr_SetString(PyExc_TypeError, "action_of must return a letter"); return py_fail(p); }
    d->keys[slot] = tag + 1;
    d->actions[slot] = s[0];
    d->n_keys++;
    *out = s[0];
    Py_DECREF(r);
    return 0;
}

/* ---- validation of what is copied as written ------------------------------------------ */

/* A number orjson writes back as it is written here (see the module docstring). */
static int canonical_number(const unsigned char *s, const unsigned char *e) {
    const unsigned char *q = s;
    if (q < e && *q == '-') q++;
    const unsigned char *int_start = q;
    while (q < e && *q >= '0' && *q <= '9') q++;
    Py_ssize_t int_digits = q - int_start;
    if (int_digits == 0 || (int_digits > 1 && *int_start == '0')) return 0;
    if (q == e) {  /* an integer */
        if (int_digits > 18) return 0;
        if (s[0] == '-' && int_digits == 1 && *int_start == '0') return 0;  /* -0 -> 0 */
        return 1;
    }
    if (*q != '.') return 0;  /* exponents: orjson writes its own form */
    const unsigned char *frac = ++q;
    while (q < e && *q >= '0' && *q <= '9') q++;
    if (q != e) return 0;
    Py_ssize_t frac_digits = e - frac;
    if (frac_digits == 0) return 0;
    if (frac_digits > 1 && e[-1] == '0') return 0;  /* 1.50 -> 1.5 */
    if (frac_digits == 1 && *frac == '0') return int_digits <= 15;  /* 120.0 */
    Py_ssize_t significant = int_digits + frac_digits;
    if (int_digits == 1 && *int_start == '0') {
        const unsigned char *z = frac;
        while (z < e && *z == '0') z++;
        if (z - frac > 3) return 0;  /* below 1e-4: orjson writes an exponent */
        significant = e - z;
    }
    return significant <= 15 && int_digits <= 15;
}

/* Like skip_value, but fails on what orjson would write differently: escaped strings,
 * non-canonical numbers, duplicate or escaped object keys. */
static int check_value(P *p, int depth) {
    if (depth > MAX_DEPTH) return fail(p, "nesting too deep");
    if (p->s >= p->end) return fail(p, "unexpected end");
    unsigned char c = *p->s;
    const unsigned char *a, *b;
    int esc;
    if (c == '"') {
        if (scan_string(p, &a, &b, &esc) < 0) return -1;
        return esc ? fail(p, "escaped string") : 0;
    }
    if (c == '{' || c == '[') {
        unsigned char close = c == '{' ? '}' : ']';
        const unsigned char *ka[8], *kb[8];
        int n_keys = 0;
        if (open_container(p, close)) return 0;
        for (;;) {
            if (close == '}') {
                if (member_key(p, &a, &b, &esc) < 0) return -1;
                if (esc) return fail(p, "escaped key");
                for (int i = 0; i < n_keys; i++)
                    if (kb[i] - ka[i] == b - a && memcmp(ka[i], a, (size_t)(b - a)) == 0)
                        return fail(p, "duplicate key");
                if (n_keys == 8) return fail(p, "object with many keys");
                ka[n_keys] = a; kb[n_keys] = b; n_keys++;
            }
            if (check_value(p, depth + 1) < 0) return -1;
            int more = next_item(p, close);
            if (more <= 0) return more;
        }
    }
    if (c == 't') return literal(p, "true");
    if (c == 'f') return literal(p, "false");
    if (c == 'n') return literal(p, "null");
    const unsigned char *start = p->s;
    double v;
    if (parse_number(p, &v) < 0) return -1;
    return canonical_number(start, p->s) ? 0 : fail(p, "number orjson writes differently");
}

/* ---- dates ----------------------------------------------------------------------------- */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int month_days(int64_t y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* The shifted text of a DA/DT string [a, b) into buf, or 0 when it has none (null);
 * -1 when the reference might read it otherwise (a non-ASCII byte among the first 8). */
static int shift_date(const unsigned char *a, const unsigned char *b, int shift, Buf *buf) {
    if (b - a < 8) {
        for (const unsigned char *q = a; q < b; q++) if (*q >= 0x80) return -1;
        return 0;
    }
    int v[8];
    for (int i = 0; i < 8; i++) {
        if (a[i] >= 0x80) return -1;
        if (a[i] < '0' || a[i] > '9') return 0;
        v[i] = a[i] - '0';
    }
    int64_t y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
    int m = v[4] * 10 + v[5], d = v[6] * 10 + v[7];
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m)) return 0;
    int64_t z = days_from_civil(y, m, d) - shift;
    civil_from_days(z, &y, &m, &d);
    if (y < 1) return 0;
    char text[16];
    snprintf(text, sizeof text, "\"%04d%02d%02d", (int)y, m, d);
    if (buf_put(buf, text, 9) < 0 || buf_put(buf, a + 8, b - a - 8) < 0 || buf_put(buf, "\"", 1) < 0)
        return -2;
    return 1;
}

/* ---- keyed values ---------------------------------------------------------------------- */
/* The keyed value of a string: from the Python cache when there, else by calling fn (which
 * fills the cache): a Python call per distinct value, a dict look-up for the others. */
static int put_keyed(D *d, P *p, PyObject *cache, PyObject *fn, const unsigned char *a,
                     Py_ssize_t n) {
    PyObject *arg = PyUnicode_DecodeUTF8((const char *)a, n, "strict");
    if (!arg) return py_fail(p);
    PyObject *r = PyDict_GetItemWithError(cache, arg);
    if (r) Py_INCREF(r);
    else if (!PyErr_Occurred()) r = PyObject_CallOneArg(fn, arg);
    Py_DECREF(arg);
    if (!r) return py_fail(p);
    Py_ssize_t len;
    const char *s = PyUnicode_Check(r) ? PyUnicode_AsUTF8AndSize(r, &len) : NULL;
    if (!s) { Py_DECREF(r); if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "a pseudonym must be a str"); return py_fail(p); }
    int rc = buf_put(&d->out, "\"", 1) < 0 || buf_put(&d->out, s, len) < 0 || buf_put(&d->out, "\"", 1) < 0;
    Py_DECREF(r);
    return rc ? nomem(p) : 0;
}

#define PUT(str) do { if (buf_put(&d->out, str, (Py_ssize_t)strlen(str)) < 0) return nomem(p); } while (0)
#define PUTN(ptr, n) do { if (buf_put(&d->out, ptr, n) < 0) return nomem(p); } while (0)

static int walk_object(D *d, P *p, int depth, int top);

/* One element's members: spans of vr, Value, InlineBinary; whether BulkDataURI is there. */
typedef struct {
    const unsigned char *start, *end;
    const unsigned char *vr_a, *vr_b;
    const unsigned char *value, *inline_a, *inline_b;
    int bulk, value_checked;
} Element;

static int read_element(P *p, Element *el) {
    memset(el, 0, sizeof *el);
    el->start = p->s;
    if (p->s >= p->end || *p->s != '{') return fail(p, "element is not an object");
    if (!open_container(p, '}')) {
        for (;;) {
            const unsigned char *a, *b, *va, *vb;
            int esc;
            if (member_key(p, &a, &b, &esc) < 0) return -1;
            const unsigned char *at = p->s;
            if (key_is(a, b, esc, "vr")) {
                if (el->vr_a || p->s >= p->end || *p->s != '"') return fail(p, "vr");
                if (scan_string(p, &va, &vb, &esc) < 0) return -1;
                if (esc) return fail(p, "escaped vr");
                el->vr_a = va; el->vr_b = vb;
            } else if (key_is(a, b, esc, "Value")) {
                if (el->value) return fail(p, "duplicate Value");
                el->value = at;
                /* vr usually comes first: a non-sequence value is checked for copying now;
                 * sequences are checked item by item when walked. */
                el->value_checked = el->vr_a && !(el->vr_b - el->vr_a == 2 && memcmp(el->vr_a, "SQ", 2) == 0);
                if ((el->value_checked ? check_value(p, 0) : skip_value(p, 0)) < 0) return -1;
            } else if (key_is(a, b, esc, "InlineBinary")) {
                if (el->inline_a) return fail(p, "duplicate InlineBinary");
                el->inline_a = at;
                if (check_value(p, 0) < 0) return -1;
                el->inline_b = p->s;
            } else if (key_is(a, b, esc, "BulkDataURI")) {
                if (el->bulk) return fail(p, "duplicate BulkDataURI");
                el->bulk = 1;
                if (skip_value(p, 0) < 0) return -1;
            } else return fail(p, "unknown element member");
            int more = next_item(p, '}');
            if (more < 0) return -1;
            if (!more) break;
        }
    }
    el->end = p->s;
    if (!el->vr_a) return fail(p, "element without vr");
    return 0;
}

static int vr_is(const Element *el, const char *vr) {
    return el->vr_b - el->vr_a == 2 && memcmp(el->vr_a, vr, 2) == 0;
}

static int is_binary_vr(const Element *el) {
    static const char *binary[] = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"};
    for (size_t i = 0; i < sizeof binary / sizeof *binary; i++) if (vr_is(el, binary[i])) return 1;
    return 0;
}

static int put_vr(D *d, P *p, const Element *el) {
    PUT("{\"vr\":\"");
    PUTN(el->vr_a, el->vr_b - el->vr_a);
    PUT("\"");
    return 0;
}

/* A sub-scanner positioned at a recorded span of the same payload. */
static P at(const P *p, const unsigned char *s) { P q = *p; q.s = s; return q; }

static int value_is_list(const Element *el) { return el->value && *el->value == '['; }

static const char *dummy_of(const Element *el) {
    static const struct { const char *vr, *json; } dummies[] = {
        {"PN", "[{\"Alphabetic\":\"ANONYMIZED\"}]"}, {"DA", "[\"19000101\"]"},
        {"TM", "[\"000000\"]"}, {"DT", "[\"19000101000000\"]"}, {"IS", "[\"0\"]"},
        {"DS", "[\"0\"]"}, {"AS", "[\"000Y\"]"}, {"US", "[0]"}, {"SS", "[0]"}, {"UL", "[0]"},
        {"SL", "[0]"}, {"UV", "[0]"}, {"SV", "[0]"}, {"FL", "[0]"}, {"FD", "[0]"}};
    for (size_t i = 0; i < sizeof dummies / sizeof *dummies; i++)
        if (vr_is(el, dummies[i].vr)) return dummies[i].json;
    return "[\"ANONYMIZED\"]";
}

/* Each item of the Value list: strings through fn (keyed) or shifted, anything else null. */
static int put_mapped_list(D *d, P *p, const Element *el, int shifting) {
    P q = at(p, el->value);
    Py_ssize_t mark = d->out.len;
    int any = 0, first = 1;
    PUT("[");
    if (!open_container(&q, ']')) {
        for (;;) {
            if (!first) PUT(",");
            first = 0;
            if (q.s < q.end && *q.s == '"') {
                const unsigned char *a, *b;
                int esc;
                if (scan_string(&q, &a, &b, &esc) < 0) return -1;
                if (esc) return fail(p, "escaped string");
                if (shifting) {
                    int r = shift_date(a, b, d->shift, &d->out);
                    if (r == -1) return fail(p, "date the reference may read otherwise");
                    if (r == -2) return nomem(p);
                    if (r == 0) PUT("null"); else any = 1;
                } else if (put_keyed(d, p, d->uid_cache, d->uid_of, a, b - a) < 0) return -1;
            } else {
                if (check_value(&q, 1) < 0) return -1;
                PUT("null");
            }
            int more = next_item(&q, ']');
            if (more < 0) return -1;
            if (!more) break;
        }
    }
    PUT("]");
    p->spaced |= q.spaced;
    if (shifting && !any) d->out.len = mark;  /* no date left: no Value */
    return shifting && !any ? 0 : 1;
}

/* The first Value item when it is a string (the reference's _first_text), else "". */
static int first_text(P *p, const Element *el, const unsigned char **a, Py_ssize_t *n) {
    *a = (const unsigned char *)"";
    *n = 0;
    if (!value_is_list(el)) return 0;
    P q = at(p, el->value);
    if (open_container(&q, ']')) return 0;
    if (q.s < q.end && *q.s == '"') {
        const unsigned char *b;
        int esc;
        if (scan_string(&q, a, &b, &esc) < 0) return -1;
        if (esc) return fail(p, "escaped string");
        *n = b - *a;
    }
    return 0;
}

/* ---- retain-safe-private ----------------------------------------------------------------- */
/* Is the private creator element at p one whose text Table E.3.10-1 lists? Reads a copy of p.
 * 1 listed, 0 not (what deid/safe_private.py's _creator reads: one string, spaces stripped;
 * anything else reserves no block), -1 failed (an escaped creator: the reference decides). */
static int creator_listed(D *d, P *p) {
    P q = *p;
    Element el;
    if (read_element(&q, &el) < 0) return -1;
    p->spaced |= q.spaced;
    if (!value_is_list(&el)) return 0;
    P v = at(&q, el.value);
    if (open_container(&v, ']') || v.s >= v.end || *v.s != '"') { p->spaced |= v.spaced; return 0; }
    const unsigned char *a, *b;
    int esc;
    if (scan_string(&v, &a, &b, &esc) < 0) return -1;
    if (esc) return fail(p, "escaped private creator");
    int more = next_item(&v, ']');
    p->spaced |= v.spaced;
    if (more < 0) return -1;
    if (more) return 0;  /* several values: not a creator */
    while (a < b && *a == ' ') a++;
    while (b > a && b[-1] == ' ') b--;
    PyObject *text = PyBytes_FromStringAndSize((const char *)a, b - a);
    if (!text) return py_fail(p);
    int found = PySet_Contains(d->creators, text);
    Py_DECREF(text);
    return found < 0 ? py_fail(p) : found;
}

/* Q (a private tag under retain-safe-private) as this pass takes it: X, unless the tag is a
 * creator the table lists (or the profile gave no creators): then the reference decides. */
static int private_action(D *d, P *p, uint32_t tag, char *act) {
    uint32_t element = tag & 0xFFFF;
    if (!d->creators) return fail(p, "private tag with retain-safe-private");
    if (element >= 0x10 && element <= 0xFF) {
        int listed = creator_listed(d, p);
        if (listed < 0) return -1;
        if (listed) return fail(p, "a listed private creator (retain-safe-private)");
    }
    *act = 'X';
    return 0;
}

static int put_element(D *d, P *p, uint32_t tag, char act, int depth) {
    Element el;
    if (read_element(p, &el) < 0) return -1;
    if (vr_is(&el, "SQ")) {
        if (act == 'Z' || act == 'D' || !value_is_list(&el)) { PUT("{\"vr\":\"SQ\"}"); return 0; }
        PUT("{\"vr\":\"SQ\",\"Value\":[");
        P q = at(p, el.value);
        if (!open_container(&q, ']')) {
            for (int first = 1;; first = 0) {
                if (!first) PUT(",");
                if (q.s < q.end && *q.s == '{') {
                    if (walk_object(d, &q, depth + 2, 0) < 0) return -1;
                } else {
                    if (check_value(&q, 1) < 0) return -1;
                    PUT("null");
                }
                int more = next_item(&q, ']');
                if (more < 0) return -1;
                if (!more) break;
            }
        }
        p->spaced |= q.spaced;
        PUT("]}");
        return 0;
    }
    if (act == 'C') return fail(p, "clean actions are the reference's");
    if (act == 'S' && !vr_is(&el, "DA") && !vr_is(&el, "DT")) act = vr_is(&el, "TM") ? 'K' : 'Z';
    if (act == 'D' && vr_is(&el, "UI")) act = 'U';
    if ((act == 'D' && is_binary_vr(&el)) || act == 'Z') {
        if (put_vr(d, p, &el) < 0) return -1;
        PUT("}");
        return 0;
    }
    if (act == 'K' && !el.bulk) {
        if (el.value && !el.value_checked) {
            P q = at(p, el.value);
            if (check_value(&q, 0) < 0) return -1;
        }
        PUTN(el.start, el.end - el.start);
        return 0;
    }
    if (put_vr(d, p, &el) < 0) return -1;
    if (act == 'P') {
        const unsigned char *a = d->patient;
        Py_ssize_t n = d->patient_len;
        if (tag != 0x00100010 && first_text(p, &el, &a, &n) < 0) return -1;
        PUT(tag == 0x00100010 ? ",\"Value\":[{\"Alphabetic\":" : ",\"Value\":[");
        if (put_keyed(d, p, d->patient_cache, d->patient_of, a, n) < 0) return -1;
        PUT(tag == 0x00100010 ? "}]}" : "]}");
        return 0;
    }
    if (!value_is_list(&el)) {
        if (act == 'K' && el.inline_a) {
            PUT(",\"InlineBinary\":");
            PUTN(el.inline_a, el.inline_b - el.inline_a);
        }
        PUT("}");
        return 0;
    }
    if (act == 'U' || act == 'S') {
        Py_ssize_t mark = d->out.len;
        PUT(",\"Value\":");
        int r = put_mapped_list(d, p, &el, act == 'S');
        if (r < 0) return -1;
        if (r == 0) d->out.len = mark;
    } else if (act == 'D') {
        PUT(",\"Value\":");
        PUT(dummy_of(&el));
    } else if (act == 'K') {  /* with a BulkDataURI: vr and Value only */
        P q = at(p, el.value);
        const unsigned char *s = q.s;
        if (check_value(&q, 0) < 0) return -1;
        PUT(",\"Value\":");
        PUTN(s, q.s - s);
    } else return fail(p, "unknown action");
    PUT("}");
    return 0;
}

static int put_mark(D *d, P *p, int i, int *first) {
    char key[16];
    snprintf(key, sizeof key, "%s\"%08X\":", *first ? "" : ",", d->marks_key[i]);
    PUT(key);
    PUTN(d->marks_json[i], d->marks_len[i]);
    *first = 0;
    return 0;
}

static int walk_object(D *d, P *p, int depth, int top) {
    if (depth > MAX_DEPTH) return fail(p, "nesting too deep");
    int first = 1, next_mark = 0;
    int64_t previous = -1;
    PUT("{");
    if (!open_container(p, '}')) {
        for (;;) {
            const unsigned char *a, *b;
            int esc;
            if (member_key(p, &a, &b, &esc) < 0) return -1;
            int64_t tag = tag_of(a, b, esc);
            if (tag < 0) return fail(p, "key is not 8 upper-case hex digits");
            if (tag <= previous) return fail(p, "keys not in ascending order");
            previous = tag;
            int replaced = 0;
            if (top) {
                while (next_mark < d->n_marks && d->marks_key[next_mark] < (uint32_t)tag)
                    if (put_mark(d, p, next_mark++, &first) < 0) return -1;
                replaced = next_mark < d->n_marks && d->marks_key[next_mark] == (uint32_t)tag;
            }
            char act = 'X';
            if (!replaced && action(d, p, (uint32_t)tag, &act) < 0) return -1;
            /* Q: a private tag under retain-safe-private, kept or not by its creator's block
             * (deid/safe_private.py). Without a listed creator nothing private stays. */
            if (!replaced && act == 'Q' && private_action(d, p, (uint32_t)tag, &act) < 0)
                return -1;
            if (replaced || act == 'X') {
                if (skip_value(p, depth + 1) < 0) return -1;
            } else {
                if (!first) PUT(",");
                first = 0;
                PUT("\"");
                PUTN(a, 8);
                PUT("\":");
                if (put_element(d, p, (uint32_t)tag, act, depth) < 0) return -1;
            }
            int more = next_item(p, '}');
            if (more < 0) return -1;
            if (!more) break;
        }
    }
    while (top && next_mark < d->n_marks)
        if (put_mark(d, p, next_mark++, &first) < 0) return -1;
    PUT("}");
    return 0;
}

/* The top-level PatientID's first value (keys ascend, so the scan stops at it). */
static int find_patient(D *d, P *p) {
    d->patient = (const unsigned char *)"";
    d->patient_len = 0;
    P q = *p;
    if (q.s >= q.end || *q.s != '{' || open_container(&q, '}')) return 0;
    for (;;) {
        const unsigned char *a, *b;
        int esc;
        if (member_key(&q, &a, &b, &esc) < 0) return -1;
        int64_t tag = tag_of(a, b, esc);
        if (tag > 0x00100020) return 0;
        if (tag == 0x00100020) {
            if (q.s >= q.end || *q.s != '{') return 0;
            Element el;
            if (read_element(&q, &el) < 0) return -1;
            return first_text(&q, &el, &d->patient, &d->patient_len);
        }
        if (skip_value(&q, 1) < 0) return -1;
        if (next_item(&q, '}') <= 0) return 0;
    }
}

static PyObject *one(D *d, PyObject *item) {
    P p;
    memset(&d->oc, 0, sizeof d->oc);
    p.base = p.s = (const unsigned char *)PyBytes_AS_STRING(item);
    p.end = p.s + PyBytes_GET_SIZE(item);
    p.sh = NULL;
    p.out = &d->oc;
    p.spaced = 0;
    p.any_number = 0;
    d->out.len = 0;
    if (find_patient(d, &p) < 0) goto failed;
    d->shift = 0;
    if (d->want_shift) {
        PyObject *arg = PyUnicode_DecodeUTF8((const char *)d->patient, d->patient_len, "strict");
        PyObject *r = arg ? PyObject_CallOneArg(d->shift_of, arg) : NULL;
        Py_XDECREF(arg);
        if (!r) return NULL;
        d->shift = (int)PyLong_AsLong(r);
        Py_DECREF(r);
        if (d->shift == -1 && PyErr_Occurred()) return NULL;
    }
    if (p.s >= p.end || *p.s != '{') { bail(&p, "not an object"); goto failed; }
    if (walk_object(d, &p, 0, 1) < 0) goto failed;
    skip_ws(&p);
    if (p.s != p.end || p.spaced) { bail(&p, "trailing data or whitespace"); goto failed; }
    return PyBytes_FromStringAndSize(d->out.p ? d->out.p : "", d->out.len);
failed:
    if (d->oc.error) return NULL;
    if (d->reasons && d->oc.reason) {
        PyObject *why = PyUnicode_FromString(d->oc.reason);
        if (!why || PyList_Append(d->reasons, why) < 0) { Py_XDECREF(why); return NULL; }
        Py_DECREF(why);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(deidentify_doc,
"deidentify(payloads, action_of, uid_cache, uid_of, patient_cache, patient_of, shift_of,\n"
"           creators, marks[, reasons]) -> list[bytes | None]\n\n"
"payloads: list of bytes (DICOM JSON objects). action_of(key) -> one letter (profile.py);\n"
"uid_of(uid) / patient_of(id) -> str, each filling its cache dict (read here first);\n"
"shift_of(patient id) -> days, or None: no shifting;\n"
"creators: frozenset of the listed private creators (bytes) for action Q, or None;\n"
"marks: sorted list of (tag int, element JSON bytes) added at the top level.\n"
"reasons (optional list): why each None was left to the reference is appended.\n"
"None for a payload the reference path must take.");

static PyObject *deidentify(PyObject *self, PyObject *args) {
    PyObject *payloads, *marks;
    D *d = calloc(1, sizeof *d);
    if (!d) return PyErr_NoMemory();
    if (!PyArg_ParseTuple(args, "O!OO!OO!OOOO!|O!", &PyList_Type, &payloads, &d->action_of,
                          &PyDict_Type, &d->uid_cache, &d->uid_of, &PyDict_Type,
                          &d->patient_cache, &d->patient_of, &d->shift_of, &d->creators,
                          &PyList_Type, &marks, &PyList_Type, &d->reasons)) { free(d); return NULL; }
    if (d->creators == Py_None) d->creators = NULL;
    else if (!PyFrozenSet_Check(d->creators)) {
        free(d);
        PyErr_SetString(PyExc_TypeError, "creators must be a frozenset or None");
        return NULL;
    }
    d->want_shift = d->shift_of != Py_None;
    PyObject *result = NULL;
    if (PyList_GET_SIZE(marks) > N_MARKS) { PyErr_SetString(PyExc_ValueError, "too many marks"); goto done; }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(marks); i++) {
        PyObject *mark = PyList_GET_ITEM(marks, i);
        unsigned long key;
        const char *json;
        Py_ssize_t len;
        if (!PyArg_ParseTuple(mark, "ky#", &key, &json, &len)) goto done;
        if (i && key <= d->marks_key[i - 1]) { PyErr_SetString(PyExc_ValueError, "marks not sorted"); goto done; }
        d->marks_key[i] = (uint32_t)key;
        d->marks_json[i] = json;  /* borrowed from marks, alive for the call */
        d->marks_len[i] = len;
        d->n_marks++;
    }
    Py_ssize_t n = PyList_GET_SIZE(payloads);
    result = PyList_New(n);
    if (!result) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(payloads, i), *out;
        if (PyBytes_Check(item)) out = one(d, item);
        else { out = Py_None; Py_INCREF(out); }
        if (!out) { Py_CLEAR(result); goto done; }
        PyList_SET_ITEM(result, i, out);
    }
done:
    buf_free(&d->out);
    buf_free(&d->tmp);
    free(d);
    return result;
}

static PyMethodDef methods[] = {
    {"deidentify", deidentify, METH_VARARGS, deidentify_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_deid",
    "DICOM JSON payloads -> de-identified payloads (see deid/native.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__deid(void) {
    init_plain();
    return PyModule_Create(&module);
}

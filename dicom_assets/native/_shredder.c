/*
 * DICOM JSON payloads (bytes) -> columnar buffers, without building Python objects.
 *
 * Parsing DICOM JSON into Python dicts and converting those to Arrow costs ~90% of a batch's
 * conversion (object allocation, dict walks, freeing). This module reads the payloads once
 * and writes, per attribute (per tag at each nesting path), the raw columns that
 * schema/shredded.py turns into Arrow arrays with zero-copy buffers:
 *
 *   element rows, written "vr", whether a "Value" is present, list offsets into the values,
 *   and the values themselves by carrier: decoded UTF-8 strings, float64 numbers, PN groups,
 *   or sequence items (the rows of the child level).
 *
 * It decides nothing about typing: Python says, per tag key and depth, how a tag's values are
 * carried (kind_of). Member names are compared decoded ("V\u0061lue" is "Value"). A payload
 * this reader does not handle exactly as the reference path (non-canonical keys, duplicate
 * keys, a text in a PN or sequence value, integers beyond float64's exact range,
 * lone surrogates, invalid JSON or UTF-8...) is rolled back out of the columns and listed with
 * its reason: that instance alone is converted by the Python reference path, which also decides
 * quarantine. Correctness is therefore held by the reference path and a differential test.
 * Values the reference parsers read whatever the VR are read here too: IS/DS written as JSON
 * strings, booleans as 1/0, and values invalid for any VR of their carrier (a number in a text
 * column, "1,5" in a numeric one), whose element is then marked invalid, as it is there.
 *
 * The JSON scanner lives in _json.h; the same module also registers the splitters of _split.c,
 * which cut server answers into per-instance bytes for this reader.
 */
#include "_json.h"
#include "_split.h"

unsigned char PLAIN[256];

static void init_plain(void) {
    for (int c = 0x20; c < 0x80; c++) PLAIN[c] = c != '"' && c != '\\';
}

enum { K_SKIP = 0, K_STR = 1, K_NUM = 2, K_PN = 3, K_SEQ = 4, K_SPAN = 5 };
enum { B_ROWS, B_VR_OFF, B_VR_DATA, B_VR_VALID, B_HAS_VALUE, B_VAL_OFF, B_VAL_VALID, B_S_OFF,
       B_S_DATA, B_NUMS, B_SPAN_START, B_SPAN_END, B_IB_OFF, B_IB_DATA, B_IB_VALID,
       B_PN_OFF, B_PN_DATA = B_PN_OFF + 3, B_PN_VALID = B_PN_DATA + 3, N_BUFS = B_PN_VALID + 3 };

typedef struct {
    int parent;      /* column id of the enclosing sequence, -1 at the top level */
    uint64_t key;    /* the 8 hex digits, packed */
    int kind, depth;
    int32_t last_row;
    int32_t n_values;
    /* rows, vr_*, has_value, val_*: every kind; s_* text (K_STR); nums (K_NUM); pn_*: per PN
     * group (a group's validity is its own flag buffer); span_*: int32, every top-level
     * element, for the reference reader; ib_*: K_SPAN's InlineBinary text. */
    Buf b[N_BUFS];
    int n_used;               /* the buffers this column's kind writes, for its snapshots */
    unsigned char used[N_BUFS];
    int saw_text, saw_number, complex;  /* K_SPAN: value types met (complex: not flat) */
    int odd;  /* K_SPAN: a "Value" that is neither an array nor null (the reference reader's) */
    /* The state before the payload being read first touched this column, for its rollback. */
    Py_ssize_t snap_row;
    Py_ssize_t snap_len[N_BUFS];
    int32_t snap_n_values, snap_last_row;
    int snap_flags[4];
} Column;

/* The buffers a column of each kind writes (set once, at its creation). */
static void column_uses(Column *c, int top_level) {
    static const unsigned char COMMON[] = {B_ROWS, B_VR_OFF, B_VR_DATA, B_VR_VALID, B_HAS_VALUE,
                                           B_VAL_OFF, B_VAL_VALID};
    int n = 0;
    if (c->kind != K_SKIP) {
        for (size_t j = 0; j < sizeof COMMON; j++) c->used[n++] = COMMON[j];
        if (top_level) { c->used[n++] = B_SPAN_START; c->used[n++] = B_SPAN_END; }
    }
    if (c->kind == K_STR || c->kind == K_SPAN) { c->used[n++] = B_S_OFF; c->used[n++] = B_S_DATA; }
    if (c->kind == K_NUM || c->kind == K_SPAN) c->used[n++] = B_NUMS;
    if (c->kind == K_SPAN) {
        c->used[n++] = B_IB_OFF; c->used[n++] = B_IB_DATA; c->used[n++] = B_IB_VALID;
    }
    if (c->kind == K_PN)
        for (int g = 0; g < 9; g++) c->used[n++] = (unsigned char)(B_PN_OFF + g);
    c->n_used = n;
}

static void column_snapshot(Column *c, Py_ssize_t row) {
    for (int j = 0; j < c->n_used; j++) c->snap_len[j] = c->b[c->used[j]].len;
    c->snap_n_values = c->n_values;
    c->snap_last_row = c->last_row;
    c->snap_flags[0] = c->saw_text; c->snap_flags[1] = c->saw_number;
    c->snap_flags[2] = c->complex; c->snap_flags[3] = c->odd;
    c->snap_row = row;
}

static void column_restore(Column *c) {
    for (int j = 0; j < c->n_used; j++) c->b[c->used[j]].len = c->snap_len[j];
    c->n_values = c->snap_n_values;
    c->last_row = c->snap_last_row;
    c->saw_text = c->snap_flags[0]; c->saw_number = c->snap_flags[1];
    c->complex = c->snap_flags[2]; c->odd = c->snap_flags[3];
}

typedef struct Shred {
    Column *cols;
    int n_cols, cap_cols;
    int *table;        /* open addressing: column index + 1, 0 = empty */
    int table_cap;
    PyObject *kind_of;
    Py_ssize_t row;    /* the payload being read (its index in the batch) */
    Buf mini, mini_off;
    PyObject *mini_obj;  /* the bytes object mini writes into (sized once: no copy at the end) */
    Outcome out;       /* the reason, or a Python exception raised by kind_of or by memory */
} Shred;

/* ---- columns ---------------------------------------------------------------------------- */

static int key_of(const unsigned char *a, const unsigned char *b, uint64_t *key) {
    if (b - a != 8) return -1;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        unsigned char c = a[i];
        v <<= 8;
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) v |= c;
        else return -1;
    }
    *key = v;
    return 0;
}

static inline uint64_t slot_hash(int parent, uint64_t key) {
    uint64_t h = key ^ ((uint64_t)(parent + 1) * 0x9E3779B97F4A7C15ULL);
    h ^= h >> 29; h *= 0xBF58476D1CE4E5B9ULL; h ^= h >> 32;
    return h;
}

static int rehash(Shred *sh, int cap) {
    int *table = calloc((size_t)cap, sizeof(int));
    if (!table) return -1;
    for (int i = 0; i < sh->n_cols; i++) {
        uint64_t h = slot_hash(sh->cols[i].parent, sh->cols[i].key) & (uint64_t)(cap - 1);
        while (table[h]) h = (h + 1) & (uint64_t)(cap - 1);
        table[h] = i + 1;
    }
    free(sh->table);
    sh->table = table;
    sh->table_cap = cap;
    return 0;
}

static int grow_table(Shred *sh) { return rehash(sh, sh->table_cap ? sh->table_cap * 2 : 1024); }

static int column_for(P *p, int parent, int depth, uint64_t key, const unsigned char *text) {
    Shred *sh = p->sh;
    if (sh->n_cols * 2 >= sh->table_cap && grow_table(sh) < 0) return nomem(p);
    uint64_t mask = (uint64_t)(sh->table_cap - 1), h = slot_hash(parent, key) & mask;
    while (sh->table[h]) {
        Column *c = &sh->cols[sh->table[h] - 1];
        if (c->key == key && c->parent == parent) {
            if (c->snap_row != sh->row) column_snapshot(c, sh->row);
            return sh->table[h] - 1;
        }
        h = (h + 1) & mask;
    }
    PyObject *kind = PyObject_CallFunction(sh->kind_of, "s#i", (const char *)text, (Py_ssize_t)8, depth);
    if (!kind) { sh->out.error = Py_None; return -1; }
    long k = PyLong_AsLong(kind);
    Py_DECREF(kind);
    if (k == -1 && PyErr_Occurred()) { sh->out.error = Py_None; return -1; }
    if (k < K_SKIP || k > K_SPAN) {
        PyErr_SetString(PyExc_ValueError, "kind_of returned an unknown kind");
        sh->out.error = Py_None;
        return -1;
    }
    if (sh->n_cols == sh->cap_cols) {
        int cap = sh->cap_cols ? sh->cap_cols * 2 : 256;
        Column *cols = realloc(sh->cols, (size_t)cap * sizeof(Column));
        if (!cols) return nomem(p);
        sh->cols = cols;
        sh->cap_cols = cap;
    }
    Column *c = &sh->cols[sh->n_cols];
    memset(c, 0, sizeof *c);
    c->parent = parent;
    c->key = key;
    c->kind = (int)k;
    c->depth = depth;
    c->last_row = -1;
    c->snap_row = sh->row;  /* new in this payload: a rollback drops it */
    column_uses(c, parent < 0);
    if (put_i32(&c->b[B_VR_OFF], 0) < 0 || put_i32(&c->b[B_VAL_OFF], 0) < 0 || put_i32(&c->b[B_S_OFF], 0) < 0 ||
        put_i32(&c->b[B_IB_OFF], 0) < 0)
        return nomem(p);
    for (int g = 0; g < 3; g++) if (put_i32(&c->b[B_PN_OFF + g], 0) < 0) return nomem(p);
    sh->table[h] = sh->n_cols + 1;
    return sh->n_cols++;
}

static int parse_object_of_elements(P *p, int parent, int depth, int32_t row);

static const char *PN_GROUPS[3] = {"Alphabetic", "Ideographic", "Phonetic"};

static int parse_pn(P *p, Column *c) {
    const unsigned char *ga[3] = {0}, *gb[3] = {0};
    int ge[3] = {0}, seen[3] = {0};
    if (!open_container(p, '}')) for (;;) {
        const unsigned char *a, *b;
        int e;
        if (member_key(p, &a, &b, &e) < 0) return -1;
        int g = -1;
        for (int i = 0; i < 3; i++)
            if (key_is(a, b, e, PN_GROUPS[i])) g = i;
        if (g >= 0) {
            if (seen[g]) return bail(p, "duplicate PN group");
            seen[g] = 1;
            if (p->s < p->end && *p->s == '"') {
                if (scan_string(p, &ga[g], &gb[g], &ge[g]) < 0) return -1;
            } else if (p->s < p->end && *p->s == 'n') {
                if (literal(p, "null") < 0) return -1;
            } else return bail(p, "PN group is not a string");
        } else if (skip_value(p, 8) < 0) return -1;
        int more = next_item(p, '}');
        if (more < 0) return -1;
        if (!more) break;
    }
    for (int g = 0; g < 3; g++) {
        if (ga[g] && decode_into(&c->b[B_PN_DATA + g], ga[g], gb[g], ge[g]) < 0) return nomem(p);
        if (put_i32(&c->b[B_PN_OFF + g], (int32_t)c->b[B_PN_DATA + g].len) < 0 ||
            put_u8(&c->b[B_PN_VALID + g], ga[g] != NULL) < 0) return nomem(p);
    }
    return 0;
}

static int push_null_value(P *p, Column *c) {
    if (put_u8(&c->b[B_VAL_VALID], 0) < 0) return nomem(p);
    if (c->kind == K_STR) { if (put_i32(&c->b[B_S_OFF], (int32_t)c->b[B_S_DATA].len) < 0) return nomem(p); }
    else if (c->kind == K_NUM) { if (put_f64(&c->b[B_NUMS], 0.0) < 0) return nomem(p); }
    else if (c->kind == K_PN) {
        for (int g = 0; g < 3; g++)
            if (put_i32(&c->b[B_PN_OFF + g], (int32_t)c->b[B_PN_DATA + g].len) < 0 || put_u8(&c->b[B_PN_VALID + g], 0) < 0)
                return nomem(p);
    } else return bail(p, "null sequence item");
    c->n_values++;
    return 0;
}

/* Python's str.strip() set within ASCII (str.isspace): beyond ASCII, a text is left to the
 * reference path anyway (its digits would not be ASCII digits). */
static inline int py_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x1F);
}

/* An IS or DS written as a JSON string (" 2 ", "1.5", "1e3"; valid DICOM JSON, written by
 * some servers), read as the reference path reads such a text (values.parse_int/parse_float):
 * stripped as str.strip() strips it, a blank text is an empty value (*present = 0, as null),
 * otherwise it must match values._DS_RE in ASCII and is converted as float(text) converts it
 * ("-0" keeps its sign; the finisher reads IS values from these doubles exactly as from JSON
 * numbers). An ASCII text the reference path finds invalid for IS and DS alike ("1,5", "x",
 * "1e999") sets *invalid: its element is invalid there (see parse_element). What the reference
 * path may read otherwise (non-ASCII digits or spaces; "NaN", a valid FD; an integer text past
 * float64's exact range) is left to it. */
static const char *const NAN_TEXTS[] = {"NaN", "Infinity", "-Infinity", "nan", "inf", "-inf"};

static int number_text_invalid(P *p, const unsigned char *s, const unsigned char *end,
                               int *invalid) {
    for (const unsigned char *q = s; q < end; q++)
        if (*q >= 0x80) return bail(p, "a numeric text is not ASCII");
    for (size_t i = 0; i < sizeof NAN_TEXTS / sizeof *NAN_TEXTS; i++)
        if ((size_t)(end - s) == strlen(NAN_TEXTS[i]) && !memcmp(s, NAN_TEXTS[i], (size_t)(end - s)))
            return bail(p, "a numeric text is not a number");
    *invalid = 1;
    return 0;
}

static int parse_number_text(P *p, double *out, int *present, int *invalid) {
    const unsigned char *a, *b;
    int e;
    unsigned char text[6 * SHORT_KEY];
    if (scan_string(p, &a, &b, &e) < 0) return -1;
    Py_ssize_t n = decode_short(a, b, e, text, SHORT_KEY);
    if (n < 0) return bail(p, "a numeric text is too long");
    const unsigned char *s = text, *end = text + n;
    while (s < end && py_space(*s)) s++;
    while (end > s && py_space(end[-1])) end--;
    *present = 0;
    *out = 0.0;
    if (s == end) return 0;
    const unsigned char *q = s + (*s == '+' || *s == '-');
    int digits = 0, integral = 1;
    for (; q < end && *q >= '0' && *q <= '9'; q++) digits++;
    if (q < end && *q == '.') {
        integral = 0;
        for (q++; q < end && *q >= '0' && *q <= '9'; q++) digits++;
    }
    if (!digits) return number_text_invalid(p, s, end, invalid);
    if (q < end && (*q == 'e' || *q == 'E')) {
        integral = 0;
        q += 1 + (q + 1 < end && (q[1] == '+' || q[1] == '-'));
        const unsigned char *exp = q;
        while (q < end && *q >= '0' && *q <= '9') q++;
        if (q == exp) return number_text_invalid(p, s, end, invalid);
    }
    if (q != end) return number_text_invalid(p, s, end, invalid);
    if (integral && digits > 15) return bail(p, "integer text beyond float64's exact range");
    if (*s == '+') s++;  /* fast_number reads an optional '-' only */
    double v;
    if (!fast_number(s, end, &v)) {
        char tmp[SHORT_KEY + 1];  /* CPython's dtoa, as float(text) (locale-independent) */
        memcpy(tmp, s, (size_t)(end - s));
        tmp[end - s] = 0;
        v = PyOS_string_to_double(tmp, NULL, NULL);
        if (v == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return bail(p, "bad numeric text"); }
    }
    if (!isfinite(v)) { *invalid = 1; return 0; }  /* float(text) overflows: invalid as IS and DS */
    *present = 1;
    *out = v;
    return 0;
}

/* A value the reference parsers find invalid whatever the column's VR (a text or a number
 * where the other is read, a container...): *invalid is set and a null value stands in. */
static int invalid_value(P *p, Column *c, int depth, int *invalid) {
    *invalid = 1;
    if (skip_value(p, depth + 2) < 0) return -1;
    return push_null_value(p, c);
}

/* *invalid: a value made the element invalid for the reference reader (see parse_element). */
static int parse_value_array(P *p, int col, int depth, int *invalid) {
    if (open_container(p, ']')) return 0;
    for (;;) {
        Column *c = &p->sh->cols[col];  /* re-read: nested columns may move the array */
        skip_ws(p);
        if (p->s >= p->end) return bail(p, "unexpected end");
        unsigned char ch = *p->s;
        if (ch == 'n') {
            if (literal(p, "null") < 0 || push_null_value(p, c) < 0) return -1;
        } else if (c->kind == K_STR) {
            const unsigned char *a, *b;
            int e;
            if (ch != '"') {  /* values.parse_str and the date/time parsers take strings only */
                if (invalid_value(p, c, depth, invalid) < 0) return -1;
                goto next;
            }
            if (scan_string(p, &a, &b, &e) < 0) return -1;
            if (decode_into(&c->b[B_S_DATA], a, b, e) < 0 || put_i32(&c->b[B_S_OFF], (int32_t)c->b[B_S_DATA].len) < 0 ||
                put_u8(&c->b[B_VAL_VALID], 1) < 0) return nomem(p);
            c->n_values++;
        } else if (c->kind == K_NUM) {
            double v = 0.0;
            int present = 1;
            if (ch == '"') {
                if (parse_number_text(p, &v, &present, invalid) < 0) return -1;
            } else if (ch == 't' || ch == 'f') {  /* read as 1/0 by both paths (values.parse_int) */
                if (literal(p, ch == 't' ? "true" : "false") < 0) return -1;
                v = ch == 't';
            } else if (ch == '{' || ch == '[') {
                if (invalid_value(p, c, depth, invalid) < 0) return -1;
                goto next;
            } else {
                if (ch != '-' && (ch < '0' || ch > '9')) return bail(p, "a numeric value is not a number");
                if (parse_number(p, &v) < 0) return -1;
            }
            if (put_f64(&c->b[B_NUMS], v) < 0 || put_u8(&c->b[B_VAL_VALID], (uint8_t)present) < 0)
                return nomem(p);
            c->n_values++;
        } else if (c->kind == K_PN) {
            if (ch != '{') return bail(p, "a PN value is not an object");
            if (parse_pn(p, c) < 0) return -1;
            if (put_u8(&c->b[B_VAL_VALID], 1) < 0) return nomem(p);
            c->n_values++;
        } else {  /* K_SEQ */
            if (ch != '{') return bail(p, "a sequence item is not an object");
            int32_t item = c->n_values++;
            if (put_u8(&c->b[B_VAL_VALID], 1) < 0) return nomem(p);
            if (parse_object_of_elements(p, col, depth + 1, item) < 0) return -1;
        }
    next:;
        int more = next_item(p, ']');
        if (more <= 0) return more;
    }
}

/* One element {"vr": ..., "Value": [...], ...} of a typed column. */
static int parse_element(P *p, int col, int depth, int32_t row) {
    const unsigned char *vra = NULL, *vrb = NULL;
    int vre = 0, has_value = 0, seen_value = 0, invalid = 0;
    if (p->s >= p->end || *p->s != '{') return bail(p, "an element is not an object");
    if (!open_container(p, '}')) for (;;) {
        const unsigned char *a, *b;
        int e;
        if (member_key(p, &a, &b, &e) < 0) return -1;
        if (key_is(a, b, e, "vr")) {
            if (vra) return bail(p, "duplicate vr");
            if (p->s < p->end && *p->s == '"') {
                if (scan_string(p, &vra, &vrb, &vre) < 0) return -1;
            } else if (p->s < p->end && *p->s == 'n') {
                if (literal(p, "null") < 0) return -1;
                vra = vrb = (const unsigned char *)"";  /* seen, but null */
                vre = -1;
            } else return bail(p, "vr is not a string");
        } else if (key_is(a, b, e, "Value")) {
            if (seen_value) return bail(p, "duplicate Value");
            seen_value = 1;
            if (p->s < p->end && *p->s == '[') {
                has_value = 1;
                if (parse_value_array(p, col, depth, &invalid) < 0) return -1;
            } else if (p->s < p->end && *p->s == 'n') {
                if (literal(p, "null") < 0) return -1;
            } else return bail(p, "Value is not an array");
        } else if (skip_value(p, depth + 2) < 0) return -1;
        int more = next_item(p, '}');
        if (more < 0) return -1;
        if (!more) break;
    }
    Column *c = &p->sh->cols[col];
    int vr_valid = vra != NULL && vre >= 0;
    if (invalid) {
        /* The reference reader finds the whole element invalid (null, listed in _invalid): so
         * does the finisher for an element whose written VR its column refuses. "?" is no VR. */
        vra = (const unsigned char *)"?";
        vrb = vra + 1;
        vre = 0;
        vr_valid = 1;
    }
    if (vr_valid && decode_into(&c->b[B_VR_DATA], vra, vrb, vre) < 0) return nomem(p);
    if (put_i32(&c->b[B_ROWS], row) < 0 || put_i32(&c->b[B_VR_OFF], (int32_t)c->b[B_VR_DATA].len) < 0 ||
        put_u8(&c->b[B_VR_VALID], (uint8_t)vr_valid) < 0 || put_u8(&c->b[B_HAS_VALUE], (uint8_t)has_value) < 0 ||
        put_i32(&c->b[B_VAL_OFF], c->n_values) < 0) return nomem(p);
    return 0;
}

/* A private or unknown tag's element: any shape is accepted (it is rendered as text in
 * _private); flat ones (text or numbers, InlineBinary) are recorded as columns, the rest is
 * marked complex and read from its span. */
static int parse_loose_element(P *p, int col, int32_t row) {
    const unsigned char *vra = NULL, *vrb = NULL, *iba = NULL, *ibb = NULL;
    int vre = 0, ibe = 0, has_value = 0, seen_value = 0, value_odd = 0;
    if (peek(p) != '{') return bail(p, "an element is not an object");
    if (!open_container(p, '}')) for (;;) {
        const unsigned char *a, *b;
        int e;
        Column *c = &p->sh->cols[col];
        if (member_key(p, &a, &b, &e) < 0) return -1;
        unsigned char ch = peek(p);
        int is_vr = key_is(a, b, e, "vr"), is_value = key_is(a, b, e, "Value"),
            is_inline = key_is(a, b, e, "InlineBinary");
        /* The reference reader takes the last "Value" (JSON's last member wins); one that is
         * not an array (a string, a number...) makes the element odd there: rendered by the
         * reference rendering, never iterated. */
        if (is_value) value_odd = ch != '[' && ch != 'n';
        if (is_vr && !vra && ch == '"') {
            if (scan_string(p, &vra, &vrb, &vre) < 0) return -1;
        } else if (is_inline && !iba && ch == '"') {
            if (scan_string(p, &iba, &ibb, &ibe) < 0) return -1;
        } else if (is_value && !seen_value && (ch == '[' || ch == 'n')) {
            seen_value = 1;
            if (ch == 'n') { if (literal(p, "null") < 0) return -1; }
            else {
                has_value = 1;
                if (!open_container(p, ']')) for (;;) {
                    const unsigned char *sa, *sb;
                    int se;
                    double v = 0.0;
                    uint8_t valid = 1;
                    c = &p->sh->cols[col];
                    skip_ws(p);
                    unsigned char vc = peek(p);
                    if (vc == '"') {
                        if (scan_string(p, &sa, &sb, &se) < 0) return -1;
                        if (decode_into(&c->b[B_S_DATA], sa, sb, se) < 0) return nomem(p);
                        c->saw_text = 1;
                    } else if (vc == '-' || (vc >= '0' && vc <= '9')) {
                        if (parse_number(p, &v) < 0) return -1;
                        c->saw_number = 1;
                    } else if (vc == 'n') {
                        if (literal(p, "null") < 0) return -1;
                        valid = 0;
                    } else {
                        if (skip_value(p, 4) < 0) return -1;
                        c->complex = 1;
                        valid = 0;
                    }
                    if (put_i32(&c->b[B_S_OFF], (int32_t)c->b[B_S_DATA].len) < 0 || put_f64(&c->b[B_NUMS], v) < 0 ||
                        put_u8(&c->b[B_VAL_VALID], valid) < 0) return nomem(p);
                    c->n_values++;
                    int more = next_item(p, ']');
                    if (more < 0) return -1;
                    if (!more) break;
                }
            }
        } else {
            if (is_vr || is_value || is_inline) c->complex = 1;  /* a duplicate or an odd type */
            if (skip_value(p, 3) < 0) return -1;
        }
        int more = next_item(p, '}');
        if (more < 0) return -1;
        if (!more) break;
    }
    Column *c = &p->sh->cols[col];
    c->odd |= value_odd;
    if ((vra && decode_into(&c->b[B_VR_DATA], vra, vrb, vre) < 0) ||
        (iba && decode_into(&c->b[B_IB_DATA], iba, ibb, ibe) < 0)) return nomem(p);
    if (put_i32(&c->b[B_ROWS], row) < 0 || put_i32(&c->b[B_VR_OFF], (int32_t)c->b[B_VR_DATA].len) < 0 ||
        put_u8(&c->b[B_VR_VALID], vra != NULL) < 0 || put_u8(&c->b[B_HAS_VALUE], (uint8_t)has_value) < 0 ||
        put_i32(&c->b[B_VAL_OFF], c->n_values) < 0 || put_i32(&c->b[B_IB_OFF], (int32_t)c->b[B_IB_DATA].len) < 0 ||
        put_u8(&c->b[B_IB_VALID], iba != NULL) < 0) return nomem(p);
    return 0;
}

/* An instance or a sequence item: tag key -> element. */
static int parse_object_of_elements(P *p, int parent, int depth, int32_t row) {
    if (depth > MAX_DEPTH) return bail(p, "nesting too deep");
    if (p->s >= p->end || *p->s != '{') return bail(p, "not a JSON object");
    if (open_container(p, '}')) return 0;
    for (;;) {
        const unsigned char *a, *b;
        int e;
        uint64_t key;
        unsigned char decoded[6 * SHORT_KEY];
        if (member_key(p, &a, &b, &e) < 0) return -1;
        const unsigned char *text = a;  /* decoded: "\u0030010..." is "0010..." */
        if (e) {
            if (decode_short(a, b, e, decoded, 8) != 8)
                return bail(p, "tag key is not 8 upper-case hex digits");
            text = decoded;
            b = decoded + 8;
        }
        if (key_of(text, b, &key) < 0) return bail(p, "tag key is not 8 upper-case hex digits");
        int col = column_for(p, parent, depth, key, text);
        if (col < 0) return -1;
        Column *c = &p->sh->cols[col];
        if (c->last_row == row) return bail(p, "duplicate tag key");
        c->last_row = row;
        int kind = c->kind;
        const unsigned char *start = p->s;
        if (kind == K_SKIP || kind == K_SPAN) {
            if (peek(p) != '{') return bail(p, "an element is not an object");
            int parsed = kind == K_SKIP ? skip_value(p, depth + 1) : parse_loose_element(p, col, row);
            if (parsed < 0) return -1;
        } else if (parse_element(p, col, depth, row) < 0) return -1;
        if (kind != K_SKIP && parent < 0) {  /* spans of top-level elements: see Column */
            c = &p->sh->cols[col];
            if (put_i32(&c->b[B_SPAN_START], (int32_t)(start - p->base)) < 0 ||
                put_i32(&c->b[B_SPAN_END], (int32_t)(p->s - p->base)) < 0) return nomem(p);
        }
        int more = next_item(p, '}');
        if (more <= 0) return more;
    }
}

/* The payload without insignificant whitespace (strings and numbers as written). */
static int minify(Buf *out, const unsigned char *s, const unsigned char *end) {
    if (buf_reserve(out, end - s) < 0) return -1;
    unsigned char *o = (unsigned char *)out->p + out->len;
    int in_string = 0;
    while (s < end) {
        unsigned char c = *s++;
        if (in_string) {
            *o++ = c;
            if (c == '\\') *o++ = *s++;
            else if (c == '"') in_string = 0;
        } else if (c == '"') { *o++ = c; in_string = 1; }
        else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') *o++ = c;
    }
    out->len = (char *)o - out->p;
    return 0;
}

static PyObject *as_bytes(Buf *b) { return PyBytes_FromStringAndSize(b->p ? b->p : "", b->len); }

static PyObject *column_tuple(Column *c) {
    char key[9];
    for (int i = 0; i < 8; i++) key[i] = (char)((c->key >> (8 * (7 - i))) & 0xFF);
    key[8] = 0;
    PyObject *pn = PyTuple_New(9);
    if (!pn) return NULL;
    for (int g = 0; g < 3; g++) {
        PyTuple_SET_ITEM(pn, g * 3, as_bytes(&c->b[B_PN_OFF + g]));
        PyTuple_SET_ITEM(pn, g * 3 + 1, as_bytes(&c->b[B_PN_DATA + g]));
        PyTuple_SET_ITEM(pn, g * 3 + 2, as_bytes(&c->b[B_PN_VALID + g]));
    }
    return Py_BuildValue(
        "{s:i,s:s,s:i,s:i,s:i,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,"
        "s:N,s:N,s:N,s:i,s:i,s:i,s:i}",
        "parent", c->parent, "key", key, "kind", c->kind, "depth", c->depth,
        "n_values", c->n_values, "rows", as_bytes(&c->b[B_ROWS]), "vr_off", as_bytes(&c->b[B_VR_OFF]),
        "vr_data", as_bytes(&c->b[B_VR_DATA]), "vr_valid", as_bytes(&c->b[B_VR_VALID]),
        "has_value", as_bytes(&c->b[B_HAS_VALUE]), "val_off", as_bytes(&c->b[B_VAL_OFF]),
        "val_valid", as_bytes(&c->b[B_VAL_VALID]), "s_off", as_bytes(&c->b[B_S_OFF]),
        "s_data", as_bytes(&c->b[B_S_DATA]), "nums", as_bytes(&c->b[B_NUMS]), "pn", pn,
        "span_start", as_bytes(&c->b[B_SPAN_START]), "span_end", as_bytes(&c->b[B_SPAN_END]),
        "ib_off", as_bytes(&c->b[B_IB_OFF]), "ib_data", as_bytes(&c->b[B_IB_DATA]),
        "ib_valid", as_bytes(&c->b[B_IB_VALID]), "saw_text", c->saw_text,
        "saw_number", c->saw_number, "complex", c->complex, "odd", c->odd);
}

static void column_free(Column *c) {
    for (int j = 0; j < N_BUFS; j++) buf_free(&c->b[j]);
}

static void shred_free(Shred *sh) {
    for (int i = 0; i < sh->n_cols; i++) column_free(&sh->cols[i]);
    free(sh->cols);
    free(sh->table);
    Py_CLEAR(sh->mini_obj);  /* mini's memory belongs to it */
    sh->mini.p = NULL;
    buf_free(&sh->mini_off);
}

/* Takes the payload being read back out of every column: the columns it created are dropped,
 * the ones it extended get their earlier state back. */
static int roll_back(Shred *sh, int n_cols_before) {
    for (int i = n_cols_before; i < sh->n_cols; i++) column_free(&sh->cols[i]);
    sh->n_cols = n_cols_before;
    for (int i = 0; i < sh->n_cols; i++)
        if (sh->cols[i].snap_row == sh->row) column_restore(&sh->cols[i]);
    return sh->table_cap ? rehash(sh, sh->table_cap) : 0;
}

PyDoc_STRVAR(shred_doc,
"shred(payloads, kind_of) -> (columns, metadata, metadata_offsets, set_aside)\n\n"
"payloads: sequence of bytes (DICOM JSON objects) or None (no metadata); their total size\n"
"must stay under 2 GiB (every offset is int32).\n"
"kind_of(key, depth) -> int: 0 skip, 1 text, 2 number, 3 PN, 4 sequence, 5 span only.\n"
"Rows in the columns number the payloads that were read; set_aside lists (index, reason) of\n"
"the payloads left to the reference path (in order), which are not in the columns.");

static PyObject *shred(PyObject *self, PyObject *args) {
    PyObject *payload_seq, *kind_of;
    if (!PyArg_ParseTuple(args, "OO", &payload_seq, &kind_of)) return NULL;
    /* A tuple of our own: kind_of is arbitrary code and must not free a payload being read. */
    PyObject *payloads = PySequence_Tuple(payload_seq);
    if (!payloads) return NULL;
    Shred sh;
    memset(&sh, 0, sizeof sh);
    sh.kind_of = kind_of;
    PyObject *result = NULL, *set_aside = PyList_New(0);
    Py_ssize_t n = PyTuple_GET_SIZE(payloads), total = 0;
    if (!set_aside) goto done;
    if (n > INT32_MAX) { PyErr_SetString(PyExc_ValueError, "too many payloads"); goto done; }
    /* _metadata is written straight into one bytes object as large as all payloads together
     * (minifying only shrinks them): a batch's metadata is tens of MB, and growing then copying
     * it cost more in page faults than shredding. Every text is a part of a payload, decoded
     * (never longer), and every value takes at least a byte: with the batch under 2 GiB, all
     * int32 offsets and counts fit. */
    for (Py_ssize_t row = 0; row < n; row++) {
        PyObject *item = PyTuple_GET_ITEM(payloads, row);
        if (item == Py_None) continue;
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "a payload is not bytes or None");
            goto done;
        }
        total += PyBytes_GET_SIZE(item);
        if (total > INT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "payloads over 2 GiB in one batch: split it");
            goto done;
        }
    }
    sh.mini_obj = PyBytes_FromStringAndSize(NULL, total);
    if (!sh.mini_obj) goto done;
    sh.mini.p = PyBytes_AS_STRING(sh.mini_obj);
    sh.mini.cap = total;
    if (put_i64(&sh.mini_off, 0) < 0) { PyErr_NoMemory(); goto done; }
    int32_t kept = 0;  /* the row number of the next payload read */
    for (Py_ssize_t row = 0; row < n; row++) {
        PyObject *item = PyTuple_GET_ITEM(payloads, row);
        sh.row = row;
        if (item == Py_None) {
            if (put_i64(&sh.mini_off, sh.mini.len) < 0) { PyErr_NoMemory(); goto done; }
            kept++;
            continue;
        }
        int n_cols_before = sh.n_cols;
        P p;
        p.base = p.s = (const unsigned char *)PyBytes_AS_STRING(item);
        p.end = p.s + PyBytes_GET_SIZE(item);
        p.sh = &sh;
        p.out = &sh.out;
        p.spaced = 0;
        p.any_number = 0;
        sh.out.reason = NULL;
        skip_ws(&p);
        if (parse_object_of_elements(&p, -1, 1, kept) < 0) goto failed;
        skip_ws(&p);
        if (p.s != p.end) { bail(&p, "trailing data"); goto failed; }
        if ((p.spaced ? minify(&sh.mini, p.base, p.end) : buf_put(&sh.mini, p.base, p.end - p.base)) < 0 ||
            put_i64(&sh.mini_off, sh.mini.len) < 0) {
            PyErr_NoMemory(); goto done;
        }
        kept++;
        continue;
    failed:
        if (sh.out.error) goto done;  /* a Python exception is set */
        if (roll_back(&sh, n_cols_before) < 0) { PyErr_NoMemory(); goto done; }
        PyObject *why = Py_BuildValue("(ns)", row, sh.out.reason);
        if (!why || PyList_Append(set_aside, why) < 0) { Py_XDECREF(why); goto done; }
        Py_DECREF(why);
    }
    {
        PyObject *cols = PyList_New(sh.n_cols);
        if (!cols) goto done;
        for (int i = 0; i < sh.n_cols; i++) {
            PyObject *t = column_tuple(&sh.cols[i]);
            if (!t) { Py_DECREF(cols); goto done; }
            PyList_SET_ITEM(cols, i, t);
        }
        if (_PyBytes_Resize(&sh.mini_obj, sh.mini.len) < 0) { Py_DECREF(cols); goto done; }
        sh.mini.p = NULL;
        result = Py_BuildValue("(NNNO)", cols, sh.mini_obj, as_bytes(&sh.mini_off), set_aside);
        sh.mini_obj = NULL;  /* the result owns it now */
    }
done:
    shred_free(&sh);
    Py_XDECREF(set_aside);
    Py_DECREF(payloads);
    return result;
}

static PyMethodDef methods[] = {
    {"shred", shred, METH_VARARGS, shred_doc},
    {"split_array", split_array, METH_VARARGS, split_array_doc},
    {"split_member", split_member, METH_VARARGS, split_member_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_shredder",
    "DICOM JSON payloads -> columnar buffers (see native/__init__.py, schema/shredded.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

/* The kind codes, under the names dicom_assets.native and schema/kinds.py check at import. */
PyMODINIT_FUNC PyInit__shredder(void) {
    init_plain();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "KIND_SKIP", K_SKIP) < 0
        || PyModule_AddIntConstant(m, "KIND_TEXT", K_STR) < 0
        || PyModule_AddIntConstant(m, "KIND_NUMBER", K_NUM) < 0
        || PyModule_AddIntConstant(m, "KIND_PN", K_PN) < 0
        || PyModule_AddIntConstant(m, "KIND_SEQUENCE", K_SEQ) < 0
        || PyModule_AddIntConstant(m, "KIND_SPAN", K_SPAN) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

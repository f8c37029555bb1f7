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
 * carried (kind_of). Anything this reader does not handle exactly as the reference path
 * (non-canonical keys, duplicate keys, a value of the wrong JSON type for its carrier, integers
 * beyond float64's exact range, lone surrogates, invalid JSON or UTF-8...) makes shred() return
 * a reason instead, and the batch is converted by the Python reference path, which also decides
 * quarantine. Correctness is therefore held by the reference path and a differential test.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { K_SKIP = 0, K_STR = 1, K_NUM = 2, K_PN = 3, K_SEQ = 4, K_SPAN = 5 };
#define MAX_DEPTH 48

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->p, (size_t)cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int buf_put(Buf *b, const void *src, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->p + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

/* Fixed-size appends, written in place (a memcpy call per value costs more than the value). */
#define PUT_AS(name, T)                                                        \
    static inline int name(Buf *b, T v) {                                      \
        if (b->len + (Py_ssize_t)sizeof(T) > b->cap &&                         \
            buf_reserve(b, (Py_ssize_t)sizeof(T)) < 0) return -1;              \
        memcpy(b->p + b->len, &v, sizeof(T));                                  \
        b->len += (Py_ssize_t)sizeof(T);                                       \
        return 0;                                                              \
    }
PUT_AS(put_i32, int32_t)
PUT_AS(put_i64, int64_t)
PUT_AS(put_u8, uint8_t)
PUT_AS(put_f64, double)

static void buf_free(Buf *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; }

typedef struct {
    int parent;      /* column id of the enclosing sequence, -1 at the top level */
    uint64_t key;    /* the 8 hex digits, packed */
    int kind, depth;
    int32_t last_row;
    int32_t n_values;
    Buf rows, vr_off, vr_data, vr_valid, has_value, val_off, val_valid;
    Buf s_off, s_data;             /* K_STR */
    Buf nums;                      /* K_NUM */
    Buf pn_off[3], pn_data[3];     /* K_PN; a group's validity is its own flag buffer */
    Buf pn_valid[3];
    Buf span_start, span_end;      /* int32, every top-level element, for the reference reader */
    Buf ib_off, ib_data, ib_valid; /* K_SPAN: InlineBinary text */
    int saw_text, saw_number, complex;  /* K_SPAN: value types met (complex: not flat) */
} Column;

typedef struct {
    Column *cols;
    int n_cols, cap_cols;
    int *table;        /* open addressing: column index + 1, 0 = empty */
    int table_cap;
    PyObject *kind_of;
    Buf mini, mini_off;
    PyObject *mini_obj;  /* the bytes object mini writes into (sized once: no copy at the end) */
    const char *reason;
    char reason_buf[160];
    PyObject *error;   /* a Python exception raised by kind_of or by memory */
} Shred;

typedef struct {
    const unsigned char *s, *end, *base;
    Shred *sh;
    int spaced;  /* whitespace seen outside strings: the payload needs minifying */
    int any_number;  /* skipped numbers need only be valid JSON (splitting, not converting) */
} P;

static int bail(P *p, const char *why) {
    if (!p->sh->reason) {
        snprintf(p->sh->reason_buf, sizeof p->sh->reason_buf, "%s at byte %ld", why,
                 (long)(p->s - p->base));
        p->sh->reason = p->sh->reason_buf;
    }
    return -1;
}

static int nomem(P *p) {
    if (!p->sh->error) { PyErr_NoMemory(); p->sh->error = Py_None; }
    return -1;
}

static inline void skip_ws(P *p) {
    if (p->s < p->end && *p->s > ' ') return;  /* compact JSON: no whitespace at all */
    const unsigned char *s = p->s;
    while (s < p->end && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) s++;
    p->spaced |= s != p->s;
    p->s = s;
}

static int hex4(const unsigned char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    *out = v;
    return 0;
}

/* Bytes that need no look inside a string: printable ASCII but the quote and the backslash. */
static unsigned char PLAIN[256];

static void init_plain(void) {
    for (int c = 0x20; c < 0x80; c++) PLAIN[c] = c != '"' && c != '\\';
}

/* Validates one string (p->s at the opening quote); [*start, *stop) is its raw content. */
static int scan_string(P *p, const unsigned char **start, const unsigned char **stop,
                       int *escaped) {
    const unsigned char *s = p->s + 1, *end = p->end;
    *escaped = 0;
    *start = s;
    while (s < end) {
        while (s + 4 <= end && PLAIN[s[0]] && PLAIN[s[1]] && PLAIN[s[2]] && PLAIN[s[3]]) s += 4;
        while (s < end && PLAIN[*s]) s++;
        if (s >= end) break;
        unsigned char c = *s;
        if (c == '"') {
            *stop = s;
            p->s = s + 1;
            return 0;
        }
        if (c == '\\') {
            *escaped = 1;
            if (s + 1 >= end) break;
            unsigned char e = s[1];
            if (e == 'u') {
                uint32_t u;
                if (s + 6 > end || hex4(s + 2, &u) < 0) { p->s = s; return bail(p, "bad \\u escape"); }
                s += 6;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    uint32_t lo;
                    if (s + 6 > end || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) < 0 ||
                        lo < 0xDC00 || lo > 0xDFFF) { p->s = s; return bail(p, "lone surrogate"); }
                    s += 6;
                } else if (u >= 0xDC00 && u <= 0xDFFF) {
                    p->s = s; return bail(p, "lone surrogate");
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == 0) { p->s = s; return bail(p, "bad escape"); }
            s += 2;
            continue;
        }
        if (c < 0x20) { p->s = s; return bail(p, "control character in string"); }
        if (c < 0x80) { s++; continue; }
        /* UTF-8: reject overlongs, surrogates and code points past U+10FFFF. */
        int n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
        else { p->s = s; return bail(p, "invalid UTF-8"); }
        if (s + n >= end) break;
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80) { p->s = s; return bail(p, "invalid UTF-8"); }
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
            p->s = s; return bail(p, "invalid UTF-8");
        }
        s += n + 1;
    }
    p->s = end;
    return bail(p, "unterminated string");
}

static void put_utf8(unsigned char **o, uint32_t cp) {
    unsigned char *d = *o;
    if (cp < 0x80) *d++ = (unsigned char)cp;
    else if (cp < 0x800) { *d++ = 0xC0 | (cp >> 6); *d++ = 0x80 | (cp & 0x3F); }
    else if (cp < 0x10000) {
        *d++ = 0xE0 | (cp >> 12); *d++ = 0x80 | ((cp >> 6) & 0x3F); *d++ = 0x80 | (cp & 0x3F);
    } else {
        *d++ = 0xF0 | (cp >> 18); *d++ = 0x80 | ((cp >> 12) & 0x3F);
        *d++ = 0x80 | ((cp >> 6) & 0x3F); *d++ = 0x80 | (cp & 0x3F);
    }
    *o = d;
}

/* Appends the decoded text of a scanned (hence valid) string. */
static int decode_into(Buf *b, const unsigned char *s, const unsigned char *stop, int escaped) {
    Py_ssize_t n = stop - s;
    if (!escaped) return buf_put(b, s, n);
    if (buf_reserve(b, n) < 0) return -1;  /* decoding never lengthens */
    unsigned char *o = (unsigned char *)b->p + b->len;
    while (s < stop) {
        if (*s != '\\') { *o++ = *s++; continue; }
        unsigned char e = s[1];
        if (e == 'u') {
            uint32_t u = 0, lo = 0xDC00;
            hex4(s + 2, &u);
            s += 6;
            if (u >= 0xD800 && u <= 0xDBFF) {
                hex4(s + 2, &lo);
                s += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(&o, u);
            continue;
        }
        switch (e) {
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            default: *o++ = e; break;
        }
        s += 2;
    }
    b->len = (char *)o - b->p;
    return 0;
}

static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: a mantissa below 2^53 and a power of ten up to 22 give one correctly
 * rounded operation, the same double strtod returns; anything else goes to strtod. */
static int fast_number(const unsigned char *s, const unsigned char *end, double *out) {
    int negative = 0, digits = 0, exp10 = 0;
    uint64_t m = 0;
    if (*s == '-') { negative = 1; s++; }
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (++digits > 15) return 0;
        m = m * 10 + (uint64_t)(*s - '0');
    }
    if (s < end && *s == '.') {
        for (s++; s < end && *s >= '0' && *s <= '9'; s++) {
            if (++digits > 15) return 0;
            m = m * 10 + (uint64_t)(*s - '0');
            exp10--;
        }
    }
    if (s < end) {  /* an exponent */
        int sign = 1, e = 0;
        s++;
        if (*s == '+' || *s == '-') { sign = *s == '-' ? -1 : 1; s++; }
        for (; s < end; s++) { e = e * 10 + (*s - '0'); if (e > 400) return 0; }
        exp10 += sign * e;
    }
    if (exp10 < -22 || exp10 > 22) return 0;
    double v = (double)m;
    v = exp10 < 0 ? v / POW10[-exp10] : v * POW10[exp10];
    *out = negative ? -v : v;
    return 1;
}

/* A JSON number; integers beyond float64's exact range are left to the reference path. */
static int parse_number(P *p, double *out) {
    const unsigned char *s = p->s, *start = s, *end = p->end;
    int integral = 1, digits = 0;
    if (s < end && *s == '-') s++;
    if (s < end && *s == '0') { s++; digits = 1; }
    else if (s < end && *s >= '1' && *s <= '9') { while (s < end && *s >= '0' && *s <= '9') { s++; digits++; } }
    else return bail(p, "bad number");
    if (s < end && *s == '.') {
        integral = 0; s++;
        if (!(s < end && *s >= '0' && *s <= '9')) return bail(p, "bad number");
        while (s < end && *s >= '0' && *s <= '9') s++;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        integral = 0; s++;
        if (s < end && (*s == '+' || *s == '-')) s++;
        if (!(s < end && *s >= '0' && *s <= '9')) return bail(p, "bad number");
        while (s < end && *s >= '0' && *s <= '9') s++;
    }
    if (p->any_number) { p->s = s; return 0; }  /* *out is not read */
    if (integral && digits > 15) return bail(p, "integer beyond float64's exact range");
    if (fast_number(start, s, out)) { p->s = s; return 0; }
    char tmp[64];
    Py_ssize_t n = s - start;
    if (n >= (Py_ssize_t)sizeof tmp) return bail(p, "number too long");
    memcpy(tmp, start, (size_t)n);
    tmp[n] = 0;
    double v = strtod(tmp, NULL);
    if (!isfinite(v)) return bail(p, "number is not finite");
    *out = v;
    p->s = s;
    return 0;
}

/* At an opening bracket: steps past it; 1 when the container is empty (its end is consumed). */
static inline int open_container(P *p, unsigned char close) {
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == close) { p->s++; return 1; }
    return 0;
}

/* An object member's key and its ':', leaving p->s at the value. */
static int member_key(P *p, const unsigned char **a, const unsigned char **b, int *escaped) {
    skip_ws(p);
    if (p->s >= p->end || *p->s != '"') return bail(p, "expected a key");
    if (scan_string(p, a, b, escaped) < 0) return -1;
    skip_ws(p);
    if (p->s >= p->end || *p->s != ':') return bail(p, "expected ':'");
    p->s++;
    skip_ws(p);
    return 0;
}

/* After a member or an array value: 1 when another follows, 0 past the closing bracket. */
static int next_item(P *p, unsigned char close) {
    skip_ws(p);
    if (p->s < p->end && *p->s == ',') { p->s++; return 1; }
    if (p->s < p->end && *p->s == close) { p->s++; return 0; }
    return bail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
}

/* A member key (scanned) equal to ``word``; keys with escapes never are. */
static inline int key_is(const unsigned char *a, const unsigned char *b, int escaped,
                         const char *word) {
    size_t n = strlen(word);
    return !escaped && (size_t)(b - a) == n && memcmp(a, word, n) == 0;
}

static int skip_value(P *p, int depth);

static int skip_container(P *p, int depth, unsigned char close) {
    if (open_container(p, close)) return 0;
    for (;;) {
        if (close == '}') {
            const unsigned char *a, *b;
            int e;
            if (member_key(p, &a, &b, &e) < 0) return -1;
        } else skip_ws(p);
        if (skip_value(p, depth + 1) < 0) return -1;
        int more = next_item(p, close);
        if (more <= 0) return more;
    }
}

static int literal(P *p, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0) return bail(p, "bad literal");
    p->s += n;
    return 0;
}

static int skip_value(P *p, int depth) {
    if (depth > MAX_DEPTH) return bail(p, "nesting too deep");
    if (p->s >= p->end) return bail(p, "unexpected end");
    unsigned char c = *p->s;
    const unsigned char *a, *b;
    int e;
    double d;
    switch (c) {
        case '{': return skip_container(p, depth, '}');
        case '[': return skip_container(p, depth, ']');
        case '"': return scan_string(p, &a, &b, &e);
        case 't': return literal(p, "true");
        case 'f': return literal(p, "false");
        case 'n': return literal(p, "null");
        default: return parse_number(p, &d);
    }
}

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

static int grow_table(Shred *sh) {
    int cap = sh->table_cap ? sh->table_cap * 2 : 1024;
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

static int column_for(P *p, int parent, int depth, uint64_t key, const unsigned char *text) {
    Shred *sh = p->sh;
    if (sh->n_cols * 2 >= sh->table_cap && grow_table(sh) < 0) return nomem(p);
    uint64_t mask = (uint64_t)(sh->table_cap - 1), h = slot_hash(parent, key) & mask;
    while (sh->table[h]) {
        Column *c = &sh->cols[sh->table[h] - 1];
        if (c->key == key && c->parent == parent) return sh->table[h] - 1;
        h = (h + 1) & mask;
    }
    PyObject *kind = PyObject_CallFunction(sh->kind_of, "s#i", (const char *)text, (Py_ssize_t)8, depth);
    if (!kind) { sh->error = Py_None; return -1; }
    long k = PyLong_AsLong(kind);
    Py_DECREF(kind);
    if (k == -1 && PyErr_Occurred()) { sh->error = Py_None; return -1; }
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
    if (put_i32(&c->vr_off, 0) < 0 || put_i32(&c->val_off, 0) < 0 || put_i32(&c->s_off, 0) < 0 ||
        put_i32(&c->ib_off, 0) < 0)
        return nomem(p);
    for (int g = 0; g < 3; g++) if (put_i32(&c->pn_off[g], 0) < 0) return nomem(p);
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
        if (ga[g] && decode_into(&c->pn_data[g], ga[g], gb[g], ge[g]) < 0) return nomem(p);
        if (put_i32(&c->pn_off[g], (int32_t)c->pn_data[g].len) < 0 ||
            put_u8(&c->pn_valid[g], ga[g] != NULL) < 0) return nomem(p);
    }
    return 0;
}

static int push_null_value(P *p, Column *c) {
    if (put_u8(&c->val_valid, 0) < 0) return nomem(p);
    if (c->kind == K_STR) { if (put_i32(&c->s_off, (int32_t)c->s_data.len) < 0) return nomem(p); }
    else if (c->kind == K_NUM) { if (put_f64(&c->nums, 0.0) < 0) return nomem(p); }
    else if (c->kind == K_PN) {
        for (int g = 0; g < 3; g++)
            if (put_i32(&c->pn_off[g], (int32_t)c->pn_data[g].len) < 0 || put_u8(&c->pn_valid[g], 0) < 0)
                return nomem(p);
    } else return bail(p, "null sequence item");
    c->n_values++;
    return 0;
}

static int parse_value_array(P *p, int col, int depth) {
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
            if (ch != '"') return bail(p, "a text value is not a string");
            if (scan_string(p, &a, &b, &e) < 0) return -1;
            if (decode_into(&c->s_data, a, b, e) < 0 || put_i32(&c->s_off, (int32_t)c->s_data.len) < 0 ||
                put_u8(&c->val_valid, 1) < 0) return nomem(p);
            c->n_values++;
        } else if (c->kind == K_NUM) {
            double v;
            if (ch != '-' && (ch < '0' || ch > '9')) return bail(p, "a numeric value is not a number");
            if (parse_number(p, &v) < 0) return -1;
            if (put_f64(&c->nums, v) < 0 || put_u8(&c->val_valid, 1) < 0) return nomem(p);
            c->n_values++;
        } else if (c->kind == K_PN) {
            if (ch != '{') return bail(p, "a PN value is not an object");
            if (parse_pn(p, c) < 0) return -1;
            if (put_u8(&c->val_valid, 1) < 0) return nomem(p);
            c->n_values++;
        } else {  /* K_SEQ */
            if (ch != '{') return bail(p, "a sequence item is not an object");
            int32_t item = c->n_values++;
            if (put_u8(&c->val_valid, 1) < 0) return nomem(p);
            if (parse_object_of_elements(p, col, depth + 1, item) < 0) return -1;
        }
        int more = next_item(p, ']');
        if (more <= 0) return more;
    }
}

/* One element {"vr": ..., "Value": [...], ...} of a typed column. */
static int parse_element(P *p, int col, int depth, int32_t row) {
    const unsigned char *vra = NULL, *vrb = NULL;
    int vre = 0, has_value = 0, seen_value = 0;
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
                if (parse_value_array(p, col, depth) < 0) return -1;
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
    if (vr_valid && decode_into(&c->vr_data, vra, vrb, vre) < 0) return nomem(p);
    if (put_i32(&c->rows, row) < 0 || put_i32(&c->vr_off, (int32_t)c->vr_data.len) < 0 ||
        put_u8(&c->vr_valid, (uint8_t)vr_valid) < 0 || put_u8(&c->has_value, (uint8_t)has_value) < 0 ||
        put_i32(&c->val_off, c->n_values) < 0) return nomem(p);
    return 0;
}

/* A private or unknown tag's element: any shape is accepted (it is rendered as text in
 * _private); flat ones (text or numbers, InlineBinary) are recorded as columns, the rest is
 * marked complex and read from its span. */
static int parse_loose_element(P *p, int col, int32_t row) {
    const unsigned char *vra = NULL, *vrb = NULL, *iba = NULL, *ibb = NULL;
    int vre = 0, ibe = 0, has_value = 0, seen_value = 0;
    if (!open_container(p, '}')) for (;;) {
        const unsigned char *a, *b;
        int e;
        Column *c = &p->sh->cols[col];
        if (member_key(p, &a, &b, &e) < 0) return -1;
        unsigned char ch = p->s < p->end ? *p->s : 0;
        int is_vr = key_is(a, b, e, "vr"), is_value = key_is(a, b, e, "Value"),
            is_inline = key_is(a, b, e, "InlineBinary");
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
                    unsigned char vc = p->s < p->end ? *p->s : 0;
                    if (vc == '"') {
                        if (scan_string(p, &sa, &sb, &se) < 0) return -1;
                        if (decode_into(&c->s_data, sa, sb, se) < 0) return nomem(p);
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
                    if (put_i32(&c->s_off, (int32_t)c->s_data.len) < 0 || put_f64(&c->nums, v) < 0 ||
                        put_u8(&c->val_valid, valid) < 0) return nomem(p);
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
    if ((vra && decode_into(&c->vr_data, vra, vrb, vre) < 0) ||
        (iba && decode_into(&c->ib_data, iba, ibb, ibe) < 0)) return nomem(p);
    if (put_i32(&c->rows, row) < 0 || put_i32(&c->vr_off, (int32_t)c->vr_data.len) < 0 ||
        put_u8(&c->vr_valid, vra != NULL) < 0 || put_u8(&c->has_value, (uint8_t)has_value) < 0 ||
        put_i32(&c->val_off, c->n_values) < 0 || put_i32(&c->ib_off, (int32_t)c->ib_data.len) < 0 ||
        put_u8(&c->ib_valid, iba != NULL) < 0) return nomem(p);
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
        if (member_key(p, &a, &b, &e) < 0) return -1;
        if (e || key_of(a, b, &key) < 0) return bail(p, "tag key is not 8 upper-case hex digits");
        int col = column_for(p, parent, depth, key, a);
        if (col < 0) return -1;
        Column *c = &p->sh->cols[col];
        if (c->last_row == row) return bail(p, "duplicate tag key");
        c->last_row = row;
        int kind = c->kind;
        const unsigned char *start = p->s;
        if (kind == K_SKIP || kind == K_SPAN) {
            if (p->s < p->end && *p->s != '{') return bail(p, "an element is not an object");
            int parsed = kind == K_SKIP ? skip_value(p, depth + 1) : parse_loose_element(p, col, row);
            if (parsed < 0) return -1;
        } else if (parse_element(p, col, depth, row) < 0) return -1;
        if (kind != K_SKIP && parent < 0) {  /* spans of top-level elements: see Column */
            c = &p->sh->cols[col];
            if (put_i32(&c->span_start, (int32_t)(start - p->base)) < 0 ||
                put_i32(&c->span_end, (int32_t)(p->s - p->base)) < 0) return nomem(p);
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
        PyTuple_SET_ITEM(pn, g * 3, as_bytes(&c->pn_off[g]));
        PyTuple_SET_ITEM(pn, g * 3 + 1, as_bytes(&c->pn_data[g]));
        PyTuple_SET_ITEM(pn, g * 3 + 2, as_bytes(&c->pn_valid[g]));
    }
    return Py_BuildValue(
        "{s:i,s:s,s:i,s:i,s:i,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,"
        "s:N,s:N,s:N,s:i,s:i,s:i}",
        "parent", c->parent, "key", key, "kind", c->kind, "depth", c->depth,
        "n_values", c->n_values, "rows", as_bytes(&c->rows), "vr_off", as_bytes(&c->vr_off),
        "vr_data", as_bytes(&c->vr_data), "vr_valid", as_bytes(&c->vr_valid),
        "has_value", as_bytes(&c->has_value), "val_off", as_bytes(&c->val_off),
        "val_valid", as_bytes(&c->val_valid), "s_off", as_bytes(&c->s_off),
        "s_data", as_bytes(&c->s_data), "nums", as_bytes(&c->nums), "pn", pn,
        "span_start", as_bytes(&c->span_start), "span_end", as_bytes(&c->span_end),
        "ib_off", as_bytes(&c->ib_off), "ib_data", as_bytes(&c->ib_data),
        "ib_valid", as_bytes(&c->ib_valid), "saw_text", c->saw_text,
        "saw_number", c->saw_number, "complex", c->complex);
}

static void shred_free(Shred *sh) {
    for (int i = 0; i < sh->n_cols; i++) {
        Column *c = &sh->cols[i];
        Buf *bufs[] = {&c->rows, &c->vr_off, &c->vr_data, &c->vr_valid, &c->has_value,
                       &c->val_off, &c->val_valid, &c->s_off, &c->s_data, &c->nums,
                       &c->span_start, &c->span_end, &c->ib_off, &c->ib_data, &c->ib_valid};
        for (size_t j = 0; j < sizeof bufs / sizeof *bufs; j++) buf_free(bufs[j]);
        for (int g = 0; g < 3; g++) { buf_free(&c->pn_off[g]); buf_free(&c->pn_data[g]); buf_free(&c->pn_valid[g]); }
    }
    free(sh->cols);
    free(sh->table);
    Py_CLEAR(sh->mini_obj);  /* mini's memory belongs to it */
    sh->mini.p = NULL;
    buf_free(&sh->mini_off);
}

PyDoc_STRVAR(shred_doc,
"shred(payloads, kind_of) -> (columns, metadata, metadata_offsets) | str\n\n"
"payloads: list of bytes (DICOM JSON objects) or None (no metadata).\n"
"kind_of(key, depth) -> int: 0 skip, 1 text, 2 number, 3 PN, 4 sequence, 5 span only.\n"
"Returns a reason (str) instead when the batch needs the reference path.");

static PyObject *shred(PyObject *self, PyObject *args) {
    PyObject *payloads, *kind_of;
    if (!PyArg_ParseTuple(args, "O!O", &PyList_Type, &payloads, &kind_of)) return NULL;
    Shred sh;
    memset(&sh, 0, sizeof sh);
    sh.kind_of = kind_of;
    PyObject *result = NULL;
    Py_ssize_t n = PyList_GET_SIZE(payloads), total = 0;
    /* _metadata is written straight into one bytes object as large as all payloads together
     * (minifying only shrinks them): a batch's metadata is tens of MB, and growing then copying
     * it cost more in page faults than shredding. */
    for (Py_ssize_t row = 0; row < n; row++) {
        PyObject *item = PyList_GET_ITEM(payloads, row);
        if (item != Py_None && !PyBytes_Check(item)) {
            result = PyUnicode_FromString("a payload is not bytes");
            goto done;
        }
        if (item != Py_None) total += PyBytes_GET_SIZE(item);
        if (item != Py_None && PyBytes_GET_SIZE(item) > INT32_MAX) {  /* spans are int32 */
            result = PyUnicode_FromFormat("row %zd: a payload over 2 GiB", row);
            goto done;
        }
    }
    sh.mini_obj = PyBytes_FromStringAndSize(NULL, total);
    if (!sh.mini_obj) goto done;
    sh.mini.p = PyBytes_AS_STRING(sh.mini_obj);
    sh.mini.cap = total;
    if (put_i64(&sh.mini_off, 0) < 0) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t row = 0; row < n; row++) {
        PyObject *item = PyList_GET_ITEM(payloads, row);
        if (item == Py_None) {
            if (put_i64(&sh.mini_off, sh.mini.len) < 0) { PyErr_NoMemory(); goto done; }
            continue;
        }
        P p;
        p.base = p.s = (const unsigned char *)PyBytes_AS_STRING(item);
        p.end = p.s + PyBytes_GET_SIZE(item);
        p.sh = &sh;
        p.spaced = 0;
        p.any_number = 0;
        skip_ws(&p);
        if (parse_object_of_elements(&p, -1, 1, (int32_t)row) < 0) goto failed;
        skip_ws(&p);
        if (p.s != p.end) { bail(&p, "trailing data"); goto failed; }
        if ((p.spaced ? minify(&sh.mini, p.base, p.end) : buf_put(&sh.mini, p.base, p.end - p.base)) < 0 ||
            put_i64(&sh.mini_off, sh.mini.len) < 0) {
            PyErr_NoMemory(); goto done;
        }
        continue;
    failed:
        if (sh.error) goto done;  /* a Python exception is set */
        result = PyUnicode_FromFormat("row %zd: %s", row, sh.reason);
        goto done;
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
        result = Py_BuildValue("(NNN)", cols, sh.mini_obj, as_bytes(&sh.mini_off));
        sh.mini_obj = NULL;  /* the result owns it now */
    }
done:
    shred_free(&sh);
    return result;
}

/* ---- splitting a WADO-RS answer ----------------------------------------------------------- */

/* The first value of an element {"vr": ..., "Value": ["text", ...]} as str; "" when it has no
 * string first value (as sources/orthanc.py reads a parsed element). Last "Value" wins. */
static int first_text(P *p, PyObject **out) {
    Py_CLEAR(*out);
    if (*p->s != '{') {
        if (skip_value(p, 2) < 0) return -1;
        *out = PyUnicode_FromStringAndSize("", 0);
        return *out ? 0 : nomem(p);
    }
    const unsigned char *text = NULL, *text_end = NULL;
    int text_escaped = 0;
    if (!open_container(p, '}')) {
        for (;;) {
            const unsigned char *a, *b;
            int e;
            if (member_key(p, &a, &b, &e) < 0) return -1;
            if (key_is(a, b, e, "Value")) {
                text = NULL;
                if (*p->s != '[') {
                    if (skip_value(p, 3) < 0) return -1;
                } else if (!open_container(p, ']')) {
                    skip_ws(p);
                    if (p->s < p->end && *p->s == '"') {
                        if (scan_string(p, &text, &text_end, &text_escaped) < 0) return -1;
                    } else if (skip_value(p, 4) < 0) return -1;
                    for (;;) {
                        int more = next_item(p, ']');
                        if (more < 0) return -1;
                        if (!more) break;
                        skip_ws(p);
                        if (skip_value(p, 4) < 0) return -1;
                    }
                }
            } else if (skip_value(p, 3) < 0) return -1;
            int more = next_item(p, '}');
            if (more < 0) return -1;
            if (!more) break;
        }
    }
    if (!text) {
        *out = PyUnicode_FromStringAndSize("", 0);
        return *out ? 0 : nomem(p);
    }
    Buf decoded = {0};
    if (decode_into(&decoded, text, text_end, text_escaped) < 0) { buf_free(&decoded); return nomem(p); }
    *out = PyUnicode_DecodeUTF8(decoded.p ? decoded.p : "", decoded.len, "strict");
    buf_free(&decoded);
    if (!*out) { p->sh->error = Py_None; return -1; }
    return 0;
}

#define MAX_SPLIT_KEYS 8

PyDoc_STRVAR(split_doc,
"split_array(body, keys) -> [(payload, (first value of each key, ...)), ...] | str\n\n"
"body: a JSON array of DICOM JSON objects (a WADO-RS metadata answer). Each object's bytes are\n"
"returned as they are, with the first text value of each top-level tag in keys (8-hex-digit\n"
"strings; \"\" when absent). Returns a reason (str) instead when body is not such an array.");

static PyObject *split_array(PyObject *self, PyObject *args) {
    Py_buffer body;
    PyObject *keys;
    if (!PyArg_ParseTuple(args, "y*O!", &body, &PyTuple_Type, &keys)) return NULL;
    Py_ssize_t n_keys = PyTuple_GET_SIZE(keys);
    const char *key_text[MAX_SPLIT_KEYS];
    PyObject *firsts[MAX_SPLIT_KEYS] = {NULL};
    PyObject *result = NULL, *items = NULL;
    Shred sh;
    memset(&sh, 0, sizeof sh);
    if (n_keys > MAX_SPLIT_KEYS) { PyErr_SetString(PyExc_ValueError, "too many keys"); goto done; }
    for (Py_ssize_t k = 0; k < n_keys; k++) {
        PyObject *key = PyTuple_GET_ITEM(keys, k);
        Py_ssize_t size;
        key_text[k] = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &size) : NULL;
        if (!key_text[k] || size != 8) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "keys are 8-character str");
            goto done;
        }
    }
    items = PyList_New(0);
    if (!items) goto done;
    P p;
    p.base = p.s = (const unsigned char *)body.buf;
    p.end = p.s + body.len;
    p.sh = &sh;
    p.spaced = 0;
    p.any_number = 1;
    skip_ws(&p);
    if (p.s >= p.end || *p.s != '[') { bail(&p, "expected a JSON array"); goto failed; }
    if (!open_container(&p, ']')) {
        for (;;) {
            skip_ws(&p);
            const unsigned char *start = p.s;
            if (p.s >= p.end || *p.s != '{') { bail(&p, "expected a DICOM JSON object"); goto failed; }
            for (Py_ssize_t k = 0; k < n_keys; k++) Py_CLEAR(firsts[k]);
            if (!open_container(&p, '}')) {
                for (;;) {
                    const unsigned char *a, *b;
                    int e, wanted = -1;
                    if (member_key(&p, &a, &b, &e) < 0) goto failed;
                    for (Py_ssize_t k = 0; k < n_keys && !e && b - a == 8; k++)
                        if (memcmp(a, key_text[k], 8) == 0) wanted = (int)k;
                    if ((wanted >= 0 ? first_text(&p, &firsts[wanted]) : skip_value(&p, 2)) < 0) goto failed;
                    int more = next_item(&p, '}');
                    if (more < 0) goto failed;
                    if (!more) break;
                }
            }
            PyObject *values = PyTuple_New(n_keys);
            if (!values) goto done;
            for (Py_ssize_t k = 0; k < n_keys; k++) {
                PyObject *v = firsts[k] ? firsts[k] : PyUnicode_FromStringAndSize("", 0);
                firsts[k] = NULL;
                if (!v) { Py_DECREF(values); goto done; }
                PyTuple_SET_ITEM(values, k, v);
            }
            PyObject *pair = Py_BuildValue("(y#N)", (const char *)start, (Py_ssize_t)(p.s - start), values);
            if (!pair || PyList_Append(items, pair) < 0) { Py_XDECREF(pair); goto done; }
            Py_DECREF(pair);
            int more = next_item(&p, ']');
            if (more < 0) goto failed;
            if (!more) break;
        }
    }
    skip_ws(&p);
    if (p.s != p.end) { bail(&p, "trailing data"); goto failed; }
    result = items;
    items = NULL;
    goto done;
failed:
    if (!sh.error) result = PyUnicode_FromString(sh.reason ? sh.reason : "unreadable");
done:
    for (Py_ssize_t k = 0; k < MAX_SPLIT_KEYS; k++) Py_XDECREF(firsts[k]);
    Py_XDECREF(items);
    PyBuffer_Release(&body);
    return result;
}

static PyMethodDef methods[] = {
    {"shred", shred, METH_VARARGS, shred_doc},
    {"split_array", split_array, METH_VARARGS, split_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_shredder",
    "DICOM JSON payloads -> columnar buffers (see schema/shredded.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__shredder(void) {
    init_plain();
    return PyModule_Create(&module);
}

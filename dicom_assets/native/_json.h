/*
 * A strict JSON scanner shared by the shredder (_shredder.c) and the splitters (_split.c):
 * growable buffers, string validation and decoding, numbers, containers and skipping. Every
 * failure records a reason (the caller then takes the reference path) or a Python exception.
 */
#ifndef DICOM_ASSETS_JSON_H
#define DICOM_ASSETS_JSON_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 48

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static inline int buf_reserve(Buf *b, Py_ssize_t extra) {
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
    if (n <= 0) return 0;  /* b->p may still be NULL: memcpy(NULL, src, 0) is undefined */
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

static inline void buf_free(Buf *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; }


/* Why a read stopped: a reason for the reference path, or a Python exception (error set). */
typedef struct {
    const char *reason;
    char reason_buf[160];
    PyObject *error;
} Outcome;

struct Shred;

typedef struct {
    const unsigned char *s, *end, *base;
    Outcome *out;
    struct Shred *sh;  /* the shredder's state (NULL when splitting) */
    int spaced;  /* whitespace seen outside strings: the payload needs minifying */
    int any_number;  /* skipped numbers need only be valid JSON (splitting, not converting) */
} P;

static inline int bail(P *p, const char *why) {
    if (!p->out->reason) {
        snprintf(p->out->reason_buf, sizeof p->out->reason_buf, "%s at byte %ld", why,
                 (long)(p->s - p->base));
        p->out->reason = p->out->reason_buf;
    }
    return -1;
}

static inline int nomem(P *p) {
    if (!p->out->error) { PyErr_NoMemory(); p->out->error = Py_None; }
    return -1;
}

/* The byte at the cursor, or 0 at the end of the input (never read past it). */
static inline unsigned char peek(const P *p) { return p->s < p->end ? *p->s : 0; }

static inline void skip_ws(P *p) {
    if (p->s < p->end && *p->s > ' ') return;  /* compact JSON: no whitespace at all */
    const unsigned char *s = p->s;
    while (s < p->end && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) s++;
    p->spaced |= s != p->s;
    p->s = s;
}

static inline int hex4(const unsigned char *s, uint32_t *out) {
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
#define PLAIN dicom_json_plain
extern unsigned char PLAIN[256];  /* defined and filled in _shredder.c (init_plain) */

/* Validates one string (p->s at the opening quote); [*start, *stop) is its raw content. */
static inline int scan_string(P *p, const unsigned char **start, const unsigned char **stop,
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

static inline void put_utf8(unsigned char **o, uint32_t cp) {
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

/* Writes the decoded text of a scanned (hence valid) string [s, stop) at o, which has room for
 * stop - s bytes (decoding never lengthens); returns the end of what it wrote. */
static inline unsigned char *decode_raw(unsigned char *o, const unsigned char *s,
                                        const unsigned char *stop) {
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
    return o;
}

/* Appends the decoded text of a scanned (hence valid) string. */
static inline int decode_into(Buf *b, const unsigned char *s, const unsigned char *stop, int escaped) {
    Py_ssize_t n = stop - s;
    if (!escaped) return buf_put(b, s, n);
    if (buf_reserve(b, n) < 0) return -1;  /* decoding never lengthens */
    unsigned char *o = decode_raw((unsigned char *)b->p + b->len, s, stop);
    b->len = (char *)o - b->p;
    return 0;
}

/* The decoded text of a short scanned string (a member name) in out[0..cap): its length, or
 * -1 when it may be longer than cap. A decoded byte takes at most 6 written bytes (\u0041;
 * a 4-byte character is a 12-byte surrogate pair), so a name written in more than 6 * cap
 * bytes is longer than cap once decoded. */
#define SHORT_KEY 64
static inline Py_ssize_t decode_short(const unsigned char *a, const unsigned char *b, int escaped,
                                      unsigned char out[6 * SHORT_KEY], Py_ssize_t cap) {
    Py_ssize_t n = b - a;
    if (!escaped) {
        if (n > cap) return -1;
        memcpy(out, a, (size_t)n);
        return n;
    }
    if (n > 6 * cap) return -1;
    Py_ssize_t len = decode_raw(out, a, b) - out;
    return len <= cap ? len : -1;
}

static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: a mantissa below 2^53 and a power of ten up to 22 give one correctly
 * rounded operation, the same double a correct strtod returns; anything else goes to CPython's
 * dtoa (parse_number). */
static inline int fast_number(const unsigned char *s, const unsigned char *end, double *out) {
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
static inline int parse_number(P *p, double *out) {
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
    double v;
    if (!fast_number(start, s, &v)) {
        /* CPython's correctly rounded, locale-independent dtoa (strtod follows LC_NUMERIC: a
         * decimal-comma locale would misread "1.5"). */
        char tmp[64];
        Py_ssize_t n = s - start;
        if (n >= (Py_ssize_t)sizeof tmp) return bail(p, "number too long");
        memcpy(tmp, start, (size_t)n);
        tmp[n] = 0;
        v = PyOS_string_to_double(tmp, NULL, NULL);
        if (v == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return bail(p, "bad number"); }
        if (!isfinite(v)) return bail(p, "number is not finite");
    }
    /* A JSON integer is an integer: "-0" reads as 0, as Python's JSON readers read it; "-0.0"
     * and "-0e0" are floats and keep their sign (docs/schema.md). */
    if (integral && v == 0.0) v = 0.0;
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
static inline int member_key(P *p, const unsigned char **a, const unsigned char **b, int *escaped) {
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
static inline int next_item(P *p, unsigned char close) {
    skip_ws(p);
    if (p->s < p->end && *p->s == ',') { p->s++; return 1; }
    if (p->s < p->end && *p->s == close) { p->s++; return 0; }
    return bail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
}

/* A member key (scanned) equal to the n bytes of ``word`` once decoded: JSON gives "Value" and
 * "V\u0061lue" one meaning, so every caller compares decoded names (n <= SHORT_KEY). */
static inline int key_equals(const unsigned char *a, const unsigned char *b, int escaped,
                             const char *word, size_t n) {
    if (!escaped) return (size_t)(b - a) == n && memcmp(a, word, n) == 0;
    unsigned char decoded[6 * SHORT_KEY];
    Py_ssize_t len = decode_short(a, b, escaped, decoded, SHORT_KEY);
    return len >= 0 && (size_t)len == n && memcmp(decoded, word, n) == 0;
}

static inline int key_is(const unsigned char *a, const unsigned char *b, int escaped,
                         const char *word) {
    return key_equals(a, b, escaped, word, strlen(word));
}

static inline int skip_value(P *p, int depth);

static inline int skip_container(P *p, int depth, unsigned char close) {
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

static inline int literal(P *p, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0) return bail(p, "bad literal");
    p->s += n;
    return 0;
}

static inline int skip_value(P *p, int depth) {
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


#endif

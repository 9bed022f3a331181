#ifndef LIFEBOAT_CLIBPQ_SHIM_H
#define LIFEBOAT_CLIBPQ_SHIM_H
// libpq is loaded when the first connection is made (dlopen), not when lifeboat starts: its
// two dozen dependencies (Kerberos, LDAP, GnuTLS…) took about 4.5 ms of every start-up, which
// archive_command and restore_command pay once per WAL segment. Only its types come from the
// header; every function lifeboat calls is reached through lb_<name>, resolved once.
#include <dlfcn.h>
#include <postgresql/libpq-fe.h>

/// The libpq handle, loaded on first use; NULL when it cannot be (lifeboat_libpq_error says why).
static inline void *lifeboat_libpq(void) {
    static void *handle;
    void *h = __atomic_load_n(&handle, __ATOMIC_ACQUIRE);
    if (!h) {
        h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
        if (h) __atomic_store_n(&handle, h, __ATOMIC_RELEASE);
    }
    return h;
}

/// Why the last dlopen or dlsym failed ("" when it did not).
static inline const char *lifeboat_libpq_error(void) {
    const char *e = dlerror();
    return e ? e : "";
}

/// 1 when libpq is loaded and has every function below, else 0.
static inline int lifeboat_libpq_ready(void);

#define LIFEBOAT_PQ(ret, name, params, args)                                              \
    static inline void *lifeboat_sym_##name(void) {                                      \
        static void *fn;                                                                  \
        void *f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);                                 \
        if (!f) {                                                                         \
            void *h = lifeboat_libpq();                                                   \
            f = h ? dlsym(h, #name) : (void *)0;                                          \
            if (f) __atomic_store_n(&fn, f, __ATOMIC_RELEASE);                            \
        }                                                                                 \
        return f;                                                                         \
    }                                                                                     \
    static inline ret lb_##name params { return ((ret(*) params)lifeboat_sym_##name()) args; }

LIFEBOAT_PQ(PGconn *, PQconnectdbParams, (const char *const *k, const char *const *v, int e), (k, v, e))
LIFEBOAT_PQ(ConnStatusType, PQstatus, (const PGconn *c), (c))
LIFEBOAT_PQ(char *, PQerrorMessage, (const PGconn *c), (c))
LIFEBOAT_PQ(void, PQfinish, (PGconn *c), (c))
LIFEBOAT_PQ(int, PQserverVersion, (const PGconn *c), (c))
LIFEBOAT_PQ(PGresult *, PQexec, (PGconn *c, const char *q), (c, q))
LIFEBOAT_PQ(PGresult *, PQexecParams,
            (PGconn *c, const char *q, int n, const Oid *t, const char *const *v, const int *l, const int *f, int r),
            (c, q, n, t, v, l, f, r))
LIFEBOAT_PQ(void, PQclear, (PGresult *r), (r))
LIFEBOAT_PQ(ExecStatusType, PQresultStatus, (const PGresult *r), (r))
LIFEBOAT_PQ(char *, PQresultErrorMessage, (const PGresult *r), (r))
LIFEBOAT_PQ(int, PQntuples, (const PGresult *r), (r))
LIFEBOAT_PQ(int, PQnfields, (const PGresult *r), (r))
LIFEBOAT_PQ(char *, PQgetvalue, (const PGresult *r, int row, int col), (r, row, col))
LIFEBOAT_PQ(int, PQgetisnull, (const PGresult *r, int row, int col), (r, row, col))

static inline int lifeboat_libpq_ready(void) {
    return lifeboat_sym_PQconnectdbParams() && lifeboat_sym_PQstatus() && lifeboat_sym_PQerrorMessage() &&
           lifeboat_sym_PQfinish() && lifeboat_sym_PQserverVersion() && lifeboat_sym_PQexec() && lifeboat_sym_PQexecParams() &&
           lifeboat_sym_PQclear() && lifeboat_sym_PQresultStatus() && lifeboat_sym_PQresultErrorMessage() &&
           lifeboat_sym_PQntuples() && lifeboat_sym_PQnfields() && lifeboat_sym_PQgetvalue() && lifeboat_sym_PQgetisnull();
}
#endif

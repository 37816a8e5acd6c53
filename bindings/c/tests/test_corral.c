/* test_corral.c: every call of libcorral and its error paths, against the
 * server in $CORRAL_HOSTS (corral-server or Apache ZooKeeper; see
 * with_servers.py). Run under valgrind by `make -C bindings/c test`.
 * Prints "N passed, N failed" and exits non-zero on any failure. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral.h"

static int passed, failed;
static const char *hosts;
static char base[64]; /* a root of our own: /ctest-<pid> */

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_RC(expr, want)                                                     \
    do {                                                                         \
        corral_result rc_ = (expr);                                              \
        if (rc_ == (want)) {                                                     \
            passed++;                                                            \
        } else {                                                                 \
            char msg_[256] = "";                                                 \
            corral_last_error(NULL, msg_, sizeof msg_, NULL);                    \
            failed++;                                                            \
            fprintf(stderr, "%s:%d: %s = %d (%s: %s), want %d\n", __FILE__,      \
                    __LINE__, #expr, rc_, corral_strerror(rc_), msg_, (int)(want)); \
        }                                                                        \
    } while (0)

static const uint8_t *u8(const char *s) { return (const uint8_t *)s; }

static char *at(char *buf, size_t cap, const char *suffix) {
    snprintf(buf, cap, "%s%s", base, suffix);
    return buf;
}

static corral_client *connect_or_die(void) {
    corral_client *c = NULL;
    corral_result rc = corral_client_connect(hosts, 10000, &c);
    if (rc != CORRAL_OK || c == NULL) {
        char msg[256] = "";
        corral_last_error(NULL, msg, sizeof msg, NULL);
        fprintf(stderr, "connect to %s: %d %s\n", hosts, rc, msg);
        exit(2);
    }
    return c;
}

/* Takes events until one of `type` (skipping session events); 0 if none
 * came within the timeout. */
static int wait_event(corral_client *c, int type, const char *path) {
    for (int i = 0; i < 20; i++) {
        corral_event ev;
        corral_result rc = corral_poll_event(c, 5000, &ev);
        if (rc != CORRAL_OK) return 0;
        int match = ev.type == type && strcmp(ev.path, path) == 0;
        int session = ev.type == CORRAL_SESSION_EVENT;
        if (!match && !session)
            fprintf(stderr, "unexpected event %d %d %s\n", ev.type, ev.state, ev.path);
        corral_event_free(&ev);
        if (match) return 1;
    }
    return 0;
}

static void drain(corral_client *c) {
    corral_event ev;
    while (corral_poll_event(c, 0, &ev) == CORRAL_OK) corral_event_free(&ev);
}

static void test_codes(void) {
    /* ZooKeeper's numbers. */
    CHECK(CORRAL_OK == 0 && CORRAL_ZNONODE == -101 && CORRAL_ZNODEEXISTS == -110);
    CHECK(CORRAL_ZBADVERSION == -103 && CORRAL_ZNOTEMPTY == -111);
    CHECK(CORRAL_ZCONNECTIONLOSS == -4 && CORRAL_ZSESSIONEXPIRED == -112);
    CHECK(CORRAL_CHANGED_EVENT == 3 && CORRAL_CONNECTED_STATE == 3);
    CHECK(CORRAL_EPHEMERAL == 1 && CORRAL_SEQUENCE == 2 && CORRAL_CONTAINER == 4);
    CHECK(strcmp(corral_strerror(CORRAL_ZNONODE), "no node") == 0);
    CHECK(strcmp(corral_strerror(CORRAL_EINVAL), "invalid argument") == 0);
    CHECK(corral_strerror(123456) != NULL);
}

static void test_null_arguments(corral_client *c) {
    corral_client *out = (corral_client *)1;
    corral_bytes b;
    corral_stat st;
    corral_strings s;
    corral_acls acls;
    corral_event ev;
    int32_t i32;
    char path[128];
    at(path, sizeof path, "");

    CHECK_RC(corral_client_connect(NULL, 1000, &out), CORRAL_EINVAL);
    CHECK(out == NULL);
    CHECK_RC(corral_client_connect(hosts, 1000, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_client_connect(hosts, 0, &out), CORRAL_EINVAL);
    CHECK_RC(corral_create(NULL, path, NULL, 0, 0, NULL, 0), CORRAL_EINVAL);
    CHECK_RC(corral_create(c, NULL, NULL, 0, 0, NULL, 0), CORRAL_EINVAL);
    CHECK_RC(corral_create(c, path, NULL, 5, 0, NULL, 0), CORRAL_EINVAL);
    CHECK_RC(corral_create(c, path, NULL, 0, 8, NULL, 0), CORRAL_EINVAL);
    CHECK_RC(corral_create(c, path, NULL, 0, CORRAL_CONTAINER | CORRAL_EPHEMERAL, NULL, 0),
             CORRAL_EINVAL);
    CHECK_RC(corral_create_with_acl(c, path, NULL, 0, NULL, 1, 0, NULL, 0), CORRAL_EINVAL);
    CHECK_RC(corral_get(NULL, path, false, &b, &st), CORRAL_EINVAL);
    CHECK_RC(corral_get(c, NULL, false, &b, &st), CORRAL_EINVAL);
    CHECK_RC(corral_get(c, path, false, NULL, &st), CORRAL_EINVAL);
    CHECK_RC(corral_set(NULL, path, NULL, 0, -1, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_set(c, NULL, NULL, 0, -1, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_set(c, path, NULL, 1, -1, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_delete(NULL, path, -1), CORRAL_EINVAL);
    CHECK_RC(corral_delete(c, NULL, -1), CORRAL_EINVAL);
    CHECK_RC(corral_exists(NULL, path, false, &st), CORRAL_EINVAL);
    CHECK_RC(corral_exists(c, NULL, false, &st), CORRAL_EINVAL);
    CHECK_RC(corral_get_children(NULL, path, false, &s), CORRAL_EINVAL);
    CHECK_RC(corral_get_children(c, path, false, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_get_acl(c, NULL, &acls, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_get_acl(c, path, NULL, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_set_acl(c, path, -1, NULL, 0, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_multi(NULL, NULL, 0, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_multi(c, NULL, 2, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_add_auth(NULL, "digest", u8("a:b"), 3), CORRAL_EINVAL);
    CHECK_RC(corral_add_auth(c, NULL, u8("a:b"), 3), CORRAL_EINVAL);
    CHECK_RC(corral_poll_event(NULL, 0, &ev), CORRAL_EINVAL);
    CHECK_RC(corral_poll_event(c, 0, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_event_fd(NULL, &i32), CORRAL_EINVAL);
    CHECK_RC(corral_event_fd(c, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_client_state(NULL, &i32), CORRAL_EINVAL);
    CHECK_RC(corral_client_state(c, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_client_session(NULL, NULL, NULL, NULL, 0, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_client_close(NULL), CORRAL_EINVAL);

    /* The message names the argument, per client and per thread. */
    char msg[128];
    size_t len = 0;
    CHECK_RC(corral_get(c, NULL, false, &b, &st), CORRAL_EINVAL);
    CHECK_RC(corral_last_error(c, msg, sizeof msg, &len), CORRAL_OK);
    CHECK(strstr(msg, "path is NULL") != NULL && len == strlen(msg));
    CHECK_RC(corral_last_error(NULL, msg, sizeof msg, &len), CORRAL_OK);
    CHECK(strstr(msg, "path is NULL") != NULL);
    /* Truncated copy, full length reported; NULL buffer asks for the length. */
    CHECK_RC(corral_last_error(c, msg, 5, &len), CORRAL_OK);
    CHECK(strlen(msg) == 4 && len > 4);
    CHECK_RC(corral_last_error(c, NULL, 0, &len), CORRAL_OK);
    CHECK(len > 4);

    /* A path that is not UTF-8. */
    CHECK_RC(corral_delete(c, "/\xff\xfe", -1), CORRAL_EINVAL);

    /* Every _free accepts NULL, and an already freed value. */
    corral_client_free(NULL);
    corral_bytes_free(NULL);
    corral_strings_free(NULL);
    corral_acls_free(NULL);
    corral_event_free(NULL);
    corral_op_results_free(NULL, 3);
    corral_lock_release(NULL);
    passed++;
}

static void test_connect_errors(void) {
    corral_client *c = (corral_client *)1;
    /* Nothing listens on port 1: the connect timeout (here 1 s) expires. */
    CHECK_RC(corral_client_connect("127.0.0.1:1", 1000, &c), CORRAL_ETIMEOUT);
    CHECK(c == NULL);
    char msg[256] = "";
    corral_last_error(NULL, msg, sizeof msg, NULL);
    CHECK(msg[0] != '\0');
    CHECK_RC(corral_client_connect("", 1000, &c), CORRAL_ZBADARGUMENTS);
    CHECK_RC(corral_client_connect("127.0.0.1:2181/bad//chroot", 1000, &c),
             CORRAL_ZBADARGUMENTS);
}

static void test_session(corral_client *c) {
    int64_t id = 0;
    int32_t timeout = 0, state = 0;
    uint8_t pw[64];
    size_t pwlen = 0;
    CHECK_RC(corral_client_session(c, &id, &timeout, pw, sizeof pw, &pwlen), CORRAL_OK);
    CHECK(id != 0 && timeout > 0 && pwlen == 16);
    CHECK_RC(corral_client_session(c, NULL, NULL, NULL, 0, &pwlen), CORRAL_OK);
    CHECK_RC(corral_client_state(c, &state), CORRAL_OK);
    CHECK(state == CORRAL_CONNECTED_STATE);
    /* The first event is the session's. */
    corral_event ev;
    CHECK_RC(corral_poll_event(c, 1000, &ev), CORRAL_OK);
    CHECK(ev.type == CORRAL_SESSION_EVENT && ev.state == CORRAL_CONNECTED_STATE);
    CHECK(ev.path != NULL && ev.path[0] == '\0');
    corral_event_free(&ev);
    corral_event_free(&ev); /* harmless: reset by the first */
    CHECK_RC(corral_poll_event(c, 0, &ev), CORRAL_ETIMEOUT);
    CHECK_RC(corral_poll_event(c, 50, &ev), CORRAL_ETIMEOUT);
}

static void test_crud(corral_client *c) {
    char p[128], q[128], out[128];
    corral_bytes b;
    corral_stat st, st2;
    corral_strings kids;

    CHECK_RC(corral_create(c, base, u8("root"), 4, 0, out, sizeof out), CORRAL_OK);
    CHECK(strcmp(out, base) == 0);
    CHECK_RC(corral_create(c, base, NULL, 0, 0, NULL, 0), CORRAL_ZNODEEXISTS);
    CHECK_RC(corral_create(c, at(p, sizeof p, "/no/parent"), NULL, 0, 0, NULL, 0),
             CORRAL_ZNONODE);
    CHECK_RC(corral_create(c, "no-slash", NULL, 0, 0, NULL, 0), CORRAL_ZBADARGUMENTS);
    CHECK_RC(corral_get(c, "/trailing/", false, &b, NULL), CORRAL_ZBADARGUMENTS);

    /* Binary data with a NUL inside; the library adds one after it. */
    static const uint8_t bin[] = {'a', 0, 'b', 0xff};
    CHECK_RC(corral_create(c, at(p, sizeof p, "/bin"), bin, sizeof bin, 0, NULL, 0),
             CORRAL_OK);
    CHECK_RC(corral_get(c, p, false, &b, &st), CORRAL_OK);
    CHECK(b.len == 4 && memcmp(b.data, bin, 4) == 0 && b.data[4] == 0);
    CHECK(st.data_length == 4 && st.version == 0 && st.num_children == 0);
    CHECK(st.czxid > 0 && st.czxid == st.mzxid && st.ctime > 0 && st.ephemeral_owner == 0);
    corral_bytes_free(&b);
    CHECK(b.data == NULL && b.len == 0);
    corral_bytes_free(&b);

    /* Empty data. */
    CHECK_RC(corral_create(c, at(q, sizeof q, "/empty"), NULL, 0, 0, NULL, 0), CORRAL_OK);
    CHECK_RC(corral_get(c, q, false, &b, NULL), CORRAL_OK);
    CHECK(b.len == 0 && b.data != NULL && b.data[0] == 0);
    corral_bytes_free(&b);

    /* set: versions. */
    CHECK_RC(corral_set(c, p, u8("v1"), 2, 0, &st), CORRAL_OK);
    CHECK(st.version == 1 && st.data_length == 2);
    CHECK_RC(corral_set(c, p, u8("v2"), 2, 0, NULL), CORRAL_ZBADVERSION);
    CHECK_RC(corral_set(c, p, u8("v2"), 2, -1, &st), CORRAL_OK);
    CHECK(st.version == 2);
    CHECK_RC(corral_set(c, at(q, sizeof q, "/missing"), NULL, 0, -1, NULL), CORRAL_ZNONODE);

    /* exists. */
    CHECK_RC(corral_exists(c, p, false, &st2), CORRAL_OK);
    CHECK(st2.version == 2 && st2.mzxid == st.mzxid);
    CHECK_RC(corral_exists(c, p, false, NULL), CORRAL_OK);
    CHECK_RC(corral_exists(c, q, false, &st2), CORRAL_ZNONODE);

    /* Sequential, ephemeral, container; path truncated like libzookeeper. */
    CHECK_RC(corral_create(c, at(p, sizeof p, "/seq-"), NULL, 0, CORRAL_SEQUENCE, out,
                           sizeof out), CORRAL_OK);
    CHECK(strlen(out) == strlen(p) + 10 && strncmp(out, p, strlen(p)) == 0);
    CHECK_RC(corral_create(c, p, NULL, 0, CORRAL_SEQUENCE, out, 4), CORRAL_OK);
    CHECK(strlen(out) == 3 && strncmp(out, base, 3) == 0);
    int64_t session = 0;
    corral_client_session(c, &session, NULL, NULL, 0, NULL);
    CHECK_RC(corral_create(c, at(p, sizeof p, "/eph"), NULL, 0,
                           CORRAL_EPHEMERAL | CORRAL_SEQUENCE, out, sizeof out), CORRAL_OK);
    CHECK_RC(corral_exists(c, out, false, &st), CORRAL_OK);
    CHECK(st.ephemeral_owner == session);
    CHECK_RC(corral_create(c, at(p, sizeof p, "/box"), NULL, 0, CORRAL_CONTAINER, NULL, 0),
             CORRAL_OK);

    /* Children. */
    CHECK_RC(corral_get_children(c, base, false, &kids), CORRAL_OK);
    CHECK(kids.len == 6);
    int seen_bin = 0;
    for (size_t i = 0; i < kids.len; i++) seen_bin += strcmp(kids.items[i], "bin") == 0;
    CHECK(seen_bin == 1);
    corral_strings_free(&kids);
    CHECK(kids.items == NULL && kids.len == 0);
    CHECK_RC(corral_get_children(c, at(p, sizeof p, "/empty"), false, &kids), CORRAL_OK);
    CHECK(kids.len == 0);
    corral_strings_free(&kids);
    CHECK_RC(corral_get_children(c, q, false, &kids), CORRAL_ZNONODE);

    /* delete. */
    CHECK_RC(corral_delete(c, base, -1), CORRAL_ZNOTEMPTY);
    CHECK_RC(corral_delete(c, at(p, sizeof p, "/bin"), 0), CORRAL_ZBADVERSION);
    CHECK_RC(corral_delete(c, p, 2), CORRAL_OK);
    CHECK_RC(corral_delete(c, p, -1), CORRAL_ZNONODE);
    CHECK_RC(corral_get(c, p, false, &b, NULL), CORRAL_ZNONODE);
}

static void test_multi(corral_client *c) {
    char a[128], b[128];
    at(a, sizeof a, "/multi-a");
    at(b, sizeof b, "/multi-b");
    corral_op ops[4] = {
        {CORRAL_OP_CREATE, a, u8("x"), 1, -1, 0},
        {CORRAL_OP_CREATE, b, NULL, 0, -1, CORRAL_SEQUENCE},
        {CORRAL_OP_SET, a, u8("yy"), 2, 0, 0},
        {CORRAL_OP_CHECK, a, NULL, 0, 1, 0},
    };
    corral_op_result res[4];
    CHECK_RC(corral_multi(c, ops, 4, res), CORRAL_OK);
    CHECK(res[0].err == 0 && res[0].path && strcmp(res[0].path, a) == 0);
    CHECK(res[1].path && strlen(res[1].path) == strlen(b) + 10);
    CHECK(res[2].path == NULL && res[2].stat.version == 1 && res[2].stat.data_length == 2);
    CHECK(res[3].err == 0);
    corral_op_results_free(res, 4);
    CHECK(res[0].path == NULL);

    /* A failing op: nothing applied; which op failed is in the results. */
    corral_op bad[3] = {
        {CORRAL_OP_SET, a, u8("z"), 1, -1, 0},
        {CORRAL_OP_CHECK, a, NULL, 0, 7, 0},
        {CORRAL_OP_CREATE, b, NULL, 0, -1, 0},
    };
    CHECK_RC(corral_multi(c, bad, 3, res), CORRAL_ZBADVERSION);
    CHECK(res[0].err == 0 && res[1].err == CORRAL_ZBADVERSION &&
          res[2].err == CORRAL_ZRUNTIMEINCONSISTENCY);
    corral_op_results_free(res, 3);
    corral_stat st;
    CHECK_RC(corral_exists(c, a, false, &st), CORRAL_OK);
    CHECK(st.version == 1);

    /* Results may be NULL; an unknown op type is invalid. */
    corral_op del = {CORRAL_OP_DELETE, a, NULL, 0, -1, 0};
    CHECK_RC(corral_multi(c, &del, 1, NULL), CORRAL_OK);
    corral_op odd = {99, a, NULL, 0, -1, 0};
    CHECK_RC(corral_multi(c, &odd, 1, res), CORRAL_EINVAL);
    corral_op_results_free(res, 1);
    CHECK_RC(corral_multi(c, NULL, 0, NULL), CORRAL_OK);
}

static void test_acl(corral_client *c) {
    char p[128];
    at(p, sizeof p, "/secret");
    corral_client *owner = connect_or_die();
    CHECK_RC(corral_add_auth(owner, "digest", u8("alice:pw"), 8), CORRAL_OK);
    corral_acl mine = {CORRAL_PERM_ALL, "auth", ""};
    CHECK_RC(corral_create_with_acl(owner, p, u8("s"), 1, &mine, 1, 0, NULL, 0), CORRAL_OK);

    corral_bytes b;
    CHECK_RC(corral_get(c, p, false, &b, NULL), CORRAL_ZNOAUTH);
    CHECK_RC(corral_get(owner, p, false, &b, NULL), CORRAL_OK);
    corral_bytes_free(&b);

    corral_acls acls;
    corral_stat st;
    CHECK_RC(corral_get_acl(owner, p, &acls, &st), CORRAL_OK);
    CHECK(acls.len == 1 && acls.items[0].perms == CORRAL_PERM_ALL);
    CHECK(strcmp(acls.items[0].scheme, "digest") == 0);
    CHECK(strncmp(acls.items[0].id, "alice:", 6) == 0);
    CHECK(st.aversion == 0);
    corral_acls_free(&acls);
    CHECK(acls.items == NULL);

    corral_acl world_read = {CORRAL_PERM_READ, "world", "anyone"};
    CHECK_RC(corral_set_acl(owner, p, 5, &world_read, 1, NULL), CORRAL_ZBADVERSION);
    CHECK_RC(corral_set_acl(owner, p, 0, &world_read, 1, &st), CORRAL_OK);
    CHECK(st.aversion == 1);
    CHECK_RC(corral_get(c, p, false, &b, NULL), CORRAL_OK);
    corral_bytes_free(&b);
    CHECK_RC(corral_set(c, p, NULL, 0, -1, NULL), CORRAL_ZNOAUTH);
    CHECK_RC(corral_get_acl(c, p, &acls, NULL), CORRAL_OK);
    CHECK(acls.len == 1 && strcmp(acls.items[0].id, "anyone") == 0);
    corral_acls_free(&acls);
    corral_acl bad = {CORRAL_PERM_ALL, NULL, "x"};
    CHECK_RC(corral_set_acl(owner, p, -1, &bad, 1, NULL), CORRAL_EINVAL);
    corral_client_free(owner);
    CHECK_RC(corral_delete(c, p, -1), CORRAL_OK);
}

static void test_watches(corral_client *c) {
    char p[128], kid[160];
    corral_client *other = connect_or_die();
    drain(c);
    at(p, sizeof p, "/watched");

    /* exists on a missing node: CREATED. */
    CHECK_RC(corral_exists(c, p, true, NULL), CORRAL_ZNONODE);
    CHECK_RC(corral_create(other, p, NULL, 0, 0, NULL, 0), CORRAL_OK);
    CHECK(wait_event(c, CORRAL_CREATED_EVENT, p));

    /* get: CHANGED. */
    corral_bytes b;
    CHECK_RC(corral_get(c, p, true, &b, NULL), CORRAL_OK);
    corral_bytes_free(&b);
    CHECK_RC(corral_set(other, p, u8("1"), 1, -1, NULL), CORRAL_OK);
    CHECK(wait_event(c, CORRAL_CHANGED_EVENT, p));

    /* get_children: CHILD. */
    corral_strings kids;
    CHECK_RC(corral_get_children(c, p, true, &kids), CORRAL_OK);
    corral_strings_free(&kids);
    snprintf(kid, sizeof kid, "%s/kid", p);
    CHECK_RC(corral_create(other, kid, NULL, 0, 0, NULL, 0), CORRAL_OK);
    CHECK(wait_event(c, CORRAL_CHILD_EVENT, p));
    CHECK_RC(corral_delete(other, kid, -1), CORRAL_OK);

    /* exists on an existing node: DELETED. One-shot: nothing after. */
    CHECK_RC(corral_exists(c, p, true, NULL), CORRAL_OK);
    CHECK_RC(corral_delete(other, p, -1), CORRAL_OK);
    CHECK(wait_event(c, CORRAL_DELETED_EVENT, p));
    corral_event ev;
    CHECK_RC(corral_poll_event(c, 200, &ev), CORRAL_ETIMEOUT);
    corral_client_free(other);
}

static int fd_readable(int fd, int timeout_ms) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int n;
    do {
        n = poll(&pfd, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    return n == 1 && (pfd.revents & POLLIN);
}

static void test_event_fd(corral_client *c) {
    char p[128];
    int32_t fd = -1;
    drain(c);
    CHECK_RC(corral_event_fd(c, &fd), CORRAL_OK);
    CHECK(fd >= 0);
    CHECK(!fd_readable(fd, 0));
    at(p, sizeof p, "/fd");
    CHECK_RC(corral_create(c, p, NULL, 0, 0, NULL, 0), CORRAL_OK);
    CHECK_RC(corral_exists(c, p, true, NULL), CORRAL_OK);
    corral_bytes b;
    CHECK_RC(corral_get(c, p, true, &b, NULL), CORRAL_OK);
    corral_bytes_free(&b);
    CHECK(!fd_readable(fd, 0));
    CHECK_RC(corral_delete(c, p, -1), CORRAL_OK);
    /* Two watches fire: readable until both are taken. */
    CHECK(fd_readable(fd, 5000));
    corral_event ev;
    CHECK_RC(corral_poll_event(c, 0, &ev), CORRAL_OK);
    CHECK(ev.type == CORRAL_DELETED_EVENT && strcmp(ev.path, p) == 0);
    corral_event_free(&ev);
    CHECK(fd_readable(fd, 5000));
    CHECK_RC(corral_poll_event(c, 0, &ev), CORRAL_OK);
    CHECK(ev.type == CORRAL_DELETED_EVENT);
    corral_event_free(&ev);
    CHECK(!fd_readable(fd, 100));
}

struct worker {
    corral_client *c;
    int id;
    int errors;
};

static void *work(void *arg) {
    struct worker *w = arg;
    char p[128], suffix[32];
    snprintf(suffix, sizeof suffix, "/thread-%d", w->id);
    at(p, sizeof p, suffix);
    if (corral_create(w->c, p, NULL, 0, 0, NULL, 0) != CORRAL_OK) w->errors++;
    for (int i = 0; i < 20; i++) {
        corral_stat st;
        corral_bytes b;
        if (corral_set(w->c, p, u8("x"), 1, i, &st) != CORRAL_OK) w->errors++;
        if (corral_get(w->c, p, false, &b, NULL) != CORRAL_OK) w->errors++;
        else corral_bytes_free(&b);
    }
    if (corral_delete(w->c, p, 20) != CORRAL_OK) w->errors++;
    return NULL;
}

static void test_threads(corral_client *c) {
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){c, i, 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].errors == 0);
    }
}

static void test_lock(corral_client *c) {
    char p[128];
    at(p, sizeof p, "/lock");
    corral_lock *lock = NULL, *second = NULL;
    corral_client *other = connect_or_die();
    CHECK_RC(corral_lock_acquire(NULL, p, 1000, &lock), CORRAL_EINVAL);
    CHECK_RC(corral_lock_acquire(c, p, 1000, NULL), CORRAL_EINVAL);
    CHECK_RC(corral_lock_acquire(c, p, 5000, &lock), CORRAL_OK);
    CHECK(lock != NULL);
    /* Held: another session times out. */
    CHECK_RC(corral_lock_acquire(other, p, 300, &second), CORRAL_ETIMEOUT);
    CHECK(second == NULL);
    CHECK_RC(corral_lock_release(lock), CORRAL_OK);
    CHECK_RC(corral_lock_acquire(other, p, 5000, &second), CORRAL_OK);
    /* A lock keeps its client alive after corral_client_free. */
    corral_client_free(other);
    CHECK_RC(corral_lock_release(second), CORRAL_OK);
    CHECK_RC(corral_lock_release(NULL), CORRAL_EINVAL);
}

static void test_closed_client(void) {
    corral_client *c = connect_or_die();
    char p[128];
    at(p, sizeof p, "/closed-eph");
    CHECK_RC(corral_create(c, p, NULL, 0, CORRAL_EPHEMERAL, NULL, 0), CORRAL_OK);
    CHECK_RC(corral_client_close(c), CORRAL_OK);
    CHECK_RC(corral_client_close(c), CORRAL_OK);
    int32_t state = 0;
    CHECK_RC(corral_client_state(c, &state), CORRAL_OK);
    CHECK(state == CORRAL_CLOSED_STATE);
    corral_bytes b;
    CHECK_RC(corral_get(c, p, false, &b, NULL), CORRAL_ECLOSED);
    CHECK_RC(corral_create(c, p, NULL, 0, 0, NULL, 0), CORRAL_ECLOSED);
    CHECK_RC(corral_set(c, p, NULL, 0, -1, NULL), CORRAL_ECLOSED);
    CHECK_RC(corral_delete(c, p, -1), CORRAL_ECLOSED);
    CHECK_RC(corral_exists(c, p, false, NULL), CORRAL_ECLOSED);
    CHECK_RC(corral_add_auth(c, "digest", u8("a:b"), 3), CORRAL_ECLOSED);
    char msg[64];
    CHECK_RC(corral_last_error(c, msg, sizeof msg, NULL), CORRAL_OK);
    CHECK(strcmp(msg, "client closed") == 0);
    /* The queue ends with the CLOSED session event, then CORRAL_ECLOSED. */
    corral_event ev;
    int last_state = 0;
    while (corral_poll_event(c, 0, &ev) == CORRAL_OK) {
        last_state = ev.state;
        corral_event_free(&ev);
    }
    CHECK(last_state == CORRAL_CLOSED_STATE);
    CHECK_RC(corral_poll_event(c, 1000, &ev), CORRAL_ECLOSED);
    corral_client_free(c);

    /* Its ephemeral node went with the session. */
    corral_client *d = connect_or_die();
    CHECK_RC(corral_exists(d, p, false, NULL), CORRAL_ZNONODE);
    corral_client_free(d);
}

static void cleanup(corral_client *c, const char *path) {
    corral_strings kids;
    if (corral_get_children(c, path, false, &kids) == CORRAL_OK) {
        for (size_t i = 0; i < kids.len; i++) {
            char child[512];
            snprintf(child, sizeof child, "%s/%s", path, kids.items[i]);
            cleanup(c, child);
        }
        corral_strings_free(&kids);
    }
    corral_delete(c, path, -1);
}

int main(void) {
    hosts = getenv("CORRAL_HOSTS");
    if (hosts == NULL) {
        fprintf(stderr, "set CORRAL_HOSTS (see with_servers.py)\n");
        return 2;
    }
    snprintf(base, sizeof base, "/ctest-%d", (int)getpid());

    test_codes();
    test_connect_errors();
    corral_client *c = connect_or_die();
    test_session(c);
    test_null_arguments(c);
    test_crud(c);
    test_multi(c);
    test_acl(c);
    test_watches(c);
    test_event_fd(c);
    test_threads(c);
    test_lock(c);
    test_closed_client();
    cleanup(c, base);
    CHECK_RC(corral_exists(c, base, false, NULL), CORRAL_ZNONODE);
    corral_client_free(c);

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

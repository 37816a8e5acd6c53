/* quickstart.c: connect, create a node, watch it, change it, take the event.
 *
 *   gcc -std=c11 -I include bindings/c/examples/quickstart.c \
 *       -L target/release -lcorral -Wl,-rpath,target/release -o quickstart
 *   ./quickstart 127.0.0.1:2181
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral.h"

static int fail(corral_client *client, const char *what, corral_result rc) {
    char msg[256];
    corral_last_error(client, msg, sizeof msg, NULL);
    fprintf(stderr, "%s: %s (%d): %s\n", what, corral_strerror(rc), rc, msg);
    corral_client_free(client);
    return 1;
}

int main(int argc, char **argv) {
    const char *hosts = argc > 1 ? argv[1] : getenv("CORRAL_HOSTS");
    if (hosts == NULL) hosts = "127.0.0.1:2181";

    corral_client *client = NULL;
    corral_result rc = corral_client_connect(hosts, 10000, &client);
    if (rc != CORRAL_OK) return fail(NULL, "connect", rc);

    char path[128], created[128];
    snprintf(path, sizeof path, "/quickstart-%d", (int)getpid());
    rc = corral_create(client, path, (const uint8_t *)"hello", 5, CORRAL_PERSISTENT,
                       created, sizeof created);
    if (rc != CORRAL_OK) return fail(client, "create", rc);
    printf("created %s\n", created);

    corral_bytes data;
    corral_stat stat;
    rc = corral_get(client, path, true /* watch */, &data, &stat);
    if (rc != CORRAL_OK) return fail(client, "get", rc);
    printf("%s = \"%s\" (version %d)\n", path, (const char *)data.data, stat.version);
    corral_bytes_free(&data);

    rc = corral_set(client, path, (const uint8_t *)"world", 5, stat.version, &stat);
    if (rc != CORRAL_OK) return fail(client, "set", rc);

    /* Events come through a queue: the session event first, then the watch. */
    corral_event ev;
    while ((rc = corral_poll_event(client, 5000, &ev)) == CORRAL_OK) {
        printf("event type %d state %d path \"%s\"\n", ev.type, ev.state, ev.path);
        int done = ev.type == CORRAL_CHANGED_EVENT;
        corral_event_free(&ev);
        if (done) break;
    }
    if (rc != CORRAL_OK) return fail(client, "poll_event", rc);

    rc = corral_delete(client, path, -1);
    if (rc != CORRAL_OK) return fail(client, "delete", rc);
    corral_client_free(client);
    printf("ok\n");
    return 0;
}
